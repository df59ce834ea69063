//! The one way this library and its front ends write a file: forecast and cross-validation
//! tables, plots, checkpoint files, and every writer added later.
//!
//! What a path names decides how it is written:
//!
//! | target | how it is written |
//! |---|---|
//! | `-` | standard output |
//! | a new path, or an existing regular file | a temporary file in the same folder, fsync, rename: readers see the old file or the new one, never a part, and an existing file keeps its permissions |
//! | a symbolic link | followed (through every hop) and its final target written as above; the link stays a link |
//! | a descriptor of this process (`/dev/stdout`, `/dev/fd/N`, `/proc/self/fd/N`) | written through that descriptor, as a shell's `>&N` would |
//! | a character device or FIFO (`/dev/null`, a named pipe) | opened and written in place, streamed, never renamed over |
//! | a Unix socket | connected to and written |
//! | a directory, block device, missing folder, unwritable file | an error naming the path; nothing is changed |
//!
//! An atomic rename replaces whatever sits at its destination, so renaming over anything but a
//! regular file destroys it (a device node, a pipe a reader waits on, a link): that is why the
//! target is classified first. A replaced file keeps its permission bits but gets a new inode:
//! its owner becomes the writer, extended attributes are not copied, and other hard links to it
//! keep the old contents.

mod stream;
mod target;

use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::error::{Error, Result};
use target::Kind;

/// Writes what `write` produces to `path` (`-` is standard output), as the module documentation
/// describes: atomically for regular files, in place for devices, FIFOs, sockets and descriptors.
///
/// `write` receives a buffered writer; everything is flushed (and, for files, synced) before
/// this returns. When `write` or the file system fails, an existing regular file is left as it
/// was and no temporary file is left behind.
pub fn write_with(path: &Path, write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    match target::classify(path)? {
        Kind::Stdout => {
            let stdout = io::stdout();
            let mut lock = stdout.lock();
            write(&mut lock)?;
            lock.flush().map_err(|source| io_error(path, source))
        }
        Kind::File {
            path: real,
            existing,
        } => replace_atomically(path, &real, existing, write),
        Kind::InPlace(in_place) => {
            let mut out = BufWriter::new(stream::open(path, in_place)?);
            write(&mut out)?;
            out.flush().map_err(|source| io_error(path, source))
        }
    }
}

/// Writes `bytes` to `path` exactly as [`write_with`] does.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, |out| {
        out.write_all(bytes)
            .map_err(|source| io_error(path, source))
    })
}

/// Checks, before any long work, that [`write_with`] could write `path`: the same errors for a
/// directory, a missing folder, a file or device without write permission or a closed
/// descriptor, and nothing written. Devices and FIFOs are not opened (a FIFO's open would wait
/// for a reader).
pub fn check_writable(path: &Path) -> Result<()> {
    match target::classify(path)? {
        Kind::Stdout => Ok(()),
        Kind::File {
            path: real,
            existing,
        } => {
            if existing.is_some() {
                open_existing_for_writing(path, &real)?;
            }
            check_folder_writable(path, target::parent_folder(&real))
        }
        Kind::InPlace(in_place) => stream::check(path, &in_place),
    }
}

/// Checks that files can be made in `folder` by making (and at once removing) a temporary one;
/// `path` is the path to name in the error.
pub fn check_folder_writable(path: &Path, folder: &Path) -> Result<()> {
    tempfile::Builder::new()
        .prefix(".write-check.")
        .tempfile_in(folder)
        .map(drop)
        .map_err(|source| io_error(path, source))
}

/// Writes a temporary file beside `real`, syncs it and renames it over `real`.
fn replace_atomically(
    path: &Path,
    real: &Path,
    existing: Option<Metadata>,
    write: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    if existing.is_some() {
        open_existing_for_writing(path, real)?;
    }
    let temp = temp_file_beside(path, real, existing.as_ref())?;
    let mut out = BufWriter::new(temp);
    write(&mut out)?;
    let temp = out
        .into_inner()
        .map_err(|e| io_error(path, e.into_error()))?;
    temp.as_file()
        .sync_all()
        .map_err(|source| io_error(path, source))?;
    temp.persist(real).map_err(|e| io_error(path, e.error))?;
    // Make the rename itself durable; a failure here leaves a complete file, so it is ignored.
    if let Ok(folder) = File::open(target::parent_folder(real)) {
        let _ = folder.sync_all();
    }
    Ok(())
}

/// Opening an existing file for writing (without truncating it) checks the permission that a
/// rename in its folder would bypass.
fn open_existing_for_writing(path: &Path, real: &Path) -> Result<()> {
    OpenOptions::new()
        .write(true)
        .open(real)
        .map(drop)
        .map_err(|source| io_error(path, source))
}

/// A temporary file in `real`'s folder, removed when dropped unless persisted, carrying the
/// permissions of the file it will replace (new files get the usual 0666 less the umask).
fn temp_file_beside(
    path: &Path,
    real: &Path,
    existing: Option<&Metadata>,
) -> Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    // A short fixed prefix: the target's own name could push the temporary name past the limit.
    builder.prefix(".nd-write.").suffix(".tmp");
    if let Some(permissions) = creation_permissions(existing) {
        builder.permissions(permissions);
    }
    let temp = builder
        .tempfile_in(target::parent_folder(real))
        .map_err(|source| io_error(path, source))?;
    // Creation applied the umask; an existing file's exact permissions are restored.
    if let Some(meta) = existing {
        temp.as_file()
            .set_permissions(meta.permissions())
            .map_err(|source| io_error(path, source))?;
    }
    Ok(temp)
}

/// The mode a temporary file is created with: the replaced file's, else a new file's 0666 (the
/// temporary-file default, 0600, would make forecasts private to their writer).
#[cfg(unix)]
fn creation_permissions(existing: Option<&Metadata>) -> Option<fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Some(existing.map_or_else(|| fs::Permissions::from_mode(0o666), Metadata::permissions))
}

#[cfg(not(unix))]
fn creation_permissions(existing: Option<&Metadata>) -> Option<fs::Permissions> {
    existing.map(Metadata::permissions)
}

/// An I/O failure, reported against the path as given (`-` as standard output).
fn io_error(path: &Path, source: io::Error) -> Error {
    let path = if path.as_os_str() == "-" {
        Path::new("<stdout>")
    } else {
        path
    };
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// An error for a target that must not be written, reported against the path as given.
fn refusal(path: &Path, message: String) -> Error {
    io_error(path, io::Error::other(message))
}
