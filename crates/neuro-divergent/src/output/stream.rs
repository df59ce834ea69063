//! Targets written in place: descriptors, devices, FIFOs and sockets.

use std::io::Write;
use std::path::Path;

use super::target::{naming, InPlace};
use super::{io_error, refusal};
use crate::error::Result;

/// Opens a target that is written in place.
#[cfg(unix)]
pub(super) fn open(path: &Path, target: InPlace) -> Result<Box<dyn Write>> {
    Ok(match target {
        InPlace::Descriptor(fd) => Box::new(unix::duplicate(path, fd)?),
        InPlace::Device(real) => Box::new(unix::open_device(path, &real, false)?),
        InPlace::ProcLink(link) => Box::new(unix::open_device(path, &link, true)?),
        InPlace::Socket(real) => Box::new(
            std::os::unix::net::UnixStream::connect(&real)
                .map_err(|source| io_error(path, source))?,
        ),
    })
}

/// Checks, without opening it, that a target written in place can be written.
#[cfg(unix)]
pub(super) fn check(path: &Path, target: &InPlace) -> Result<()> {
    match target {
        InPlace::Descriptor(fd) => unix::check_descriptor(path, *fd),
        InPlace::Device(real) | InPlace::Socket(real) => unix::check_access(path, real),
        InPlace::ProcLink(link) => {
            unix::check_special_type(path, link, std::fs::metadata(link))?;
            unix::check_access(path, link)
        }
    }
}

#[cfg(not(unix))]
pub(super) fn open(path: &Path, _target: InPlace) -> Result<Box<dyn Write>> {
    Err(refusal(path, "only files can be written here".into()))
}

#[cfg(not(unix))]
pub(super) fn check(path: &Path, _target: &InPlace) -> Result<()> {
    Err(refusal(path, "only files can be written here".into()))
}

#[cfg(unix)]
mod unix {
    use std::ffi::CString;
    use std::fs::{File, Metadata, OpenOptions};
    use std::io;
    use std::os::fd::FromRawFd;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    use std::path::Path;

    use super::{io_error, naming, refusal};
    use crate::error::Result;

    /// Fails unless descriptor `fd` is open and not read-only.
    pub(super) fn check_descriptor(path: &Path, fd: i32) -> Result<()> {
        // SAFETY: F_GETFL only reads the descriptor's flags; a closed one gives EBADF.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        if flags < 0 {
            return Err(io_error(path, io::Error::last_os_error()));
        }
        if flags & libc::O_ACCMODE == libc::O_RDONLY {
            return Err(refusal(
                path,
                format!("descriptor {fd} is open for reading only"),
            ));
        }
        Ok(())
    }

    /// A descriptor of our own on the open file behind `fd`, sharing its offset and mode.
    pub(super) fn duplicate(path: &Path, fd: i32) -> Result<File> {
        check_descriptor(path, fd)?;
        // SAFETY: F_DUPFD_CLOEXEC makes a new descriptor (>= 3) or fails with EBADF; it reads
        // no memory of ours.
        let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
        if copy < 0 {
            return Err(io_error(path, io::Error::last_os_error()));
        }
        // SAFETY: `copy` was just made for us and nothing else owns it.
        Ok(unsafe { File::from_raw_fd(copy) })
    }

    /// Opens a character device or FIFO for writing in place. `follow` is set only for a
    /// `/proc` link, which must be followed; otherwise a link that appeared since the path was
    /// classified is refused. The opened file must still be a device or FIFO.
    pub(super) fn open_device(path: &Path, real: &Path, follow: bool) -> Result<File> {
        let mut flags = libc::O_NOCTTY;
        if !follow {
            flags |= libc::O_NOFOLLOW;
        }
        let file = OpenOptions::new()
            .write(true)
            .custom_flags(flags)
            .open(real)
            .map_err(|source| io_error(path, source))?;
        check_special_type(path, real, file.metadata())?;
        Ok(file)
    }

    /// Fails unless `meta` is that of a character device or FIFO.
    pub(super) fn check_special_type(
        path: &Path,
        real: &Path,
        meta: io::Result<Metadata>,
    ) -> Result<()> {
        match meta {
            Ok(meta) if meta.file_type().is_char_device() || meta.file_type().is_fifo() => Ok(()),
            Ok(_) => Err(refusal(
                path,
                naming(
                    path,
                    real,
                    "is not a device or FIFO that can be written in place",
                ),
            )),
            Err(source) => Err(io_error(path, source)),
        }
    }

    /// Fails unless this process may write to `real` (checked without opening it).
    pub(super) fn check_access(path: &Path, real: &Path) -> Result<()> {
        let name = CString::new(real.as_os_str().as_bytes())
            .map_err(|_| refusal(path, "the path holds a NUL byte".into()))?;
        // SAFETY: `name` is a valid NUL-terminated string for the duration of the call.
        if unsafe { libc::access(name.as_ptr(), libc::W_OK) } != 0 {
            return Err(io_error(path, io::Error::last_os_error()));
        }
        Ok(())
    }
}
