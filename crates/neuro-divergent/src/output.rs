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
//! target is classified first.

use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// Symbolic links followed at most before giving up (Linux's own limit).
const MAX_LINK_HOPS: usize = 40;

/// Writes what `write` produces to `path` (`-` is standard output), as the module documentation
/// describes: atomically for regular files, in place for devices, FIFOs, sockets and descriptors.
///
/// `write` receives a buffered writer; everything is flushed (and, for files, synced) before
/// this returns. When `write` or the file system fails, an existing regular file is left as it
/// was and no temporary file is left behind.
pub fn write_with(path: &Path, write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    match resolve(path)? {
        Target::Stdout => {
            let stdout = io::stdout();
            let mut lock = stdout.lock();
            write(&mut lock)?;
            lock.flush().map_err(|source| io_error(path, source))
        }
        Target::Stream(file) => stream_to(path, file, write),
        Target::File {
            path: real,
            existing,
        } => replace_atomically(path, &real, existing, write),
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
/// directory, a missing folder or a file without write permission, and nothing written.
/// Devices, FIFOs and sockets are not opened (a FIFO's open would wait for a reader).
pub fn check_writable(path: &Path) -> Result<()> {
    match resolve_kind(path)? {
        Kind::Stdout | Kind::Descriptor(_) | Kind::Device(_) | Kind::Socket(_) => Ok(()),
        Kind::File {
            path: real,
            existing,
        } => {
            if existing.is_some() {
                open_existing_for_writing(path, &real)?;
            }
            // Creating (and at once dropping) the temporary file proves the folder is writable.
            temp_file_beside(path, &real, existing.as_ref()).map(drop)
        }
    }
}

/// Where a write goes, once the path has been classified and opened where that is harmless.
enum Target {
    /// Standard output of this process.
    Stdout,
    /// An open stream written in place: a device, a FIFO, a socket or another descriptor.
    Stream(Box<dyn Write>),
    /// A regular file (existing or new) at `path`, the end of any chain of links.
    File {
        path: PathBuf,
        existing: Option<Metadata>,
    },
}

/// What a path names, found without opening anything.
enum Kind {
    Stdout,
    /// Descriptor `N` of this process, named as `/dev/fd/N` or `/proc/self/fd/N`.
    Descriptor(i32),
    /// A character device or FIFO, written in place.
    Device(PathBuf),
    /// A Unix socket.
    Socket(PathBuf),
    /// A regular file or a new path.
    File {
        path: PathBuf,
        existing: Option<Metadata>,
    },
}

/// Classifies `path` and opens the streams that are written in place.
fn resolve(path: &Path) -> Result<Target> {
    Ok(match resolve_kind(path)? {
        Kind::Stdout => Target::Stdout,
        Kind::Descriptor(fd) => Target::Stream(Box::new(duplicate_descriptor(path, fd)?)),
        Kind::Device(real) => Target::Stream(Box::new(
            OpenOptions::new()
                .write(true)
                .open(&real)
                .map_err(|source| io_error(path, source))?,
        )),
        Kind::Socket(real) => Target::Stream(Box::new(connect_socket(path, &real)?)),
        Kind::File { path, existing } => Target::File { path, existing },
    })
}

/// Follows `path` link by link until it reaches what it names.
fn resolve_kind(path: &Path) -> Result<Kind> {
    if path.as_os_str() == "-" {
        return Ok(Kind::Stdout);
    }
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINK_HOPS {
        if let Some(fd) = own_descriptor(&current) {
            return Ok(if fd == 1 {
                Kind::Stdout
            } else {
                Kind::Descriptor(fd)
            });
        }
        let meta = match fs::symlink_metadata(&current) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                check_parent_folder(path, &current)?;
                return Ok(Kind::File {
                    path: current,
                    existing: None,
                });
            }
            Err(source) => return Err(io_error(path, source)),
        };
        let file_type = meta.file_type();
        if file_type.is_symlink() {
            let target = fs::read_link(&current).map_err(|source| io_error(path, source))?;
            current = match current.parent() {
                Some(parent) if target.is_relative() => parent.join(target),
                _ => target,
            };
            continue;
        }
        if file_type.is_file() {
            return Ok(Kind::File {
                path: current,
                existing: Some(meta),
            });
        }
        if file_type.is_dir() {
            return Err(refusal(
                path,
                naming(path, &current, "is a directory, not a file"),
            ));
        }
        return special_kind(path, current, &file_type);
    }
    Err(refusal(
        path,
        format!("more than {MAX_LINK_HOPS} symbolic links to follow"),
    ))
}

/// Devices, FIFOs and sockets: written in place; block devices are refused (a table written
/// onto a disk would destroy what it holds).
#[cfg(unix)]
fn special_kind(path: &Path, real: PathBuf, file_type: &fs::FileType) -> Result<Kind> {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_char_device() || file_type.is_fifo() {
        Ok(Kind::Device(real))
    } else if file_type.is_socket() {
        Ok(Kind::Socket(real))
    } else if file_type.is_block_device() {
        Err(refusal(
            path,
            naming(path, &real, "is a block device; write to a file instead"),
        ))
    } else {
        Err(refusal(
            path,
            naming(path, &real, "is not a file that can be written"),
        ))
    }
}

/// Elsewhere only regular files, directories and links are told apart.
#[cfg(not(unix))]
fn special_kind(path: &Path, real: PathBuf, _file_type: &fs::FileType) -> Result<Kind> {
    Err(refusal(
        path,
        naming(path, &real, "is not a file that can be written"),
    ))
}

/// The descriptor number when `path` names one of this process's own descriptors:
/// `/dev/fd/N`, `/proc/self/fd/N`, `/proc/thread-self/fd/N` or `/proc/<our pid>/fd/N`.
/// Writing through the descriptor keeps its offset and mode (an appending redirection stays
/// appending), which reopening the path would not.
fn own_descriptor(path: &Path) -> Option<i32> {
    if !cfg!(unix) {
        return None;
    }
    let parts: Vec<&str> = path
        .components()
        .map(|c| match c {
            Component::RootDir => Some("/"),
            Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let number = match parts.as_slice() {
        ["/", "dev", "fd", n] => *n,
        ["/", "proc", owner, "fd", n] if is_this_process(owner) => *n,
        _ => return None,
    };
    number.parse().ok().filter(|n: &i32| *n >= 0)
}

fn is_this_process(owner: &str) -> bool {
    owner == "self" || owner == "thread-self" || owner == std::process::id().to_string()
}

/// A new handle on descriptor `fd`, sharing its open file (offset, append mode).
#[cfg(unix)]
fn duplicate_descriptor(path: &Path, fd: i32) -> Result<File> {
    use std::os::fd::BorrowedFd;
    // The descriptor must be open: its /proc entry exists only while it is.
    fs::metadata(format!("/proc/self/fd/{fd}"))
        .or_else(|_| fs::metadata(format!("/dev/fd/{fd}")))
        .map_err(|source| io_error(path, source))?;
    // SAFETY: `fd` was just seen open in this process, and it is only borrowed for the
    // duplication, which gives us a descriptor of our own.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let owned = borrowed
        .try_clone_to_owned()
        .map_err(|source| io_error(path, source))?;
    Ok(File::from(owned))
}

#[cfg(not(unix))]
fn duplicate_descriptor(path: &Path, _fd: i32) -> Result<File> {
    Err(refusal(
        path,
        "descriptors can be named only on Unix".into(),
    ))
}

#[cfg(unix)]
fn connect_socket(path: &Path, real: &Path) -> Result<std::os::unix::net::UnixStream> {
    std::os::unix::net::UnixStream::connect(real).map_err(|source| io_error(path, source))
}

#[cfg(not(unix))]
fn connect_socket(path: &Path, real: &Path) -> Result<File> {
    Err(refusal(
        path,
        naming(path, real, "is a socket; sockets are written only on Unix"),
    ))
}

/// A new file's folder must exist and be a folder.
fn check_parent_folder(path: &Path, real: &Path) -> Result<()> {
    let folder = parent_folder(real);
    match fs::metadata(folder) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(refusal(
            path,
            format!("{} is not a folder", folder.display()),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(refusal(
            path,
            format!("the folder {} does not exist", folder.display()),
        )),
        Err(source) => Err(io_error(path, source)),
    }
}

fn parent_folder(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Writes a stream opened in place, flushing at the end.
fn stream_to(
    path: &Path,
    stream: Box<dyn Write>,
    write: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    let mut out = BufWriter::new(stream);
    write(&mut out)?;
    out.flush().map_err(|source| io_error(path, source))
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
    if let Ok(folder) = File::open(parent_folder(real)) {
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
    let name = real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    if let Some(permissions) = creation_permissions(existing) {
        builder.permissions(permissions);
    }
    let temp = builder
        .tempfile_in(parent_folder(real))
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

fn io_error(path: &Path, source: io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// An error for a target that must not be written, reported against the path as given.
fn refusal(path: &Path, message: String) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source: io::Error::other(message),
    }
}

/// `what` said of the end of a chain of links, naming that end when it is not `path` itself.
fn naming(path: &Path, real: &Path, what: &str) -> String {
    if real == path {
        what.to_string()
    } else {
        format!("{} {what}", real.display())
    }
}
