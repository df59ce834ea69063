//! What a path names, found by following it link by link without opening anything.

use std::fs::{self, Metadata};
use std::io;
use std::path::{Component, Path, PathBuf};

use super::{io_error, refusal};
use crate::error::Result;

/// Symbolic links followed at most before giving up (Linux's own limit).
const MAX_LINK_HOPS: usize = 40;

/// What a path names.
pub(super) enum Kind {
    /// Standard output (`-`, or a name of descriptor 1).
    Stdout,
    /// A regular file (with its metadata) or a new path, at the end of any links.
    File {
        path: PathBuf,
        existing: Option<Metadata>,
    },
    /// Something written in place, never renamed over.
    InPlace(InPlace),
}

/// The targets written in place.
pub(super) enum InPlace {
    /// Descriptor `N` of this process, named as `/dev/fd/N` or `/proc/self/fd/N`.
    Descriptor(i32),
    /// A character device or FIFO at the end of the links.
    Device(PathBuf),
    /// A link under `/proc` whose target is not a path (another process's pipe, socket or
    /// terminal): opened through the link itself.
    ProcLink(PathBuf),
    /// A Unix socket, connected to.
    Socket(PathBuf),
}

/// Follows `path` link by link until it reaches what it names; refuses what must not be written.
pub(super) fn classify(path: &Path) -> Result<Kind> {
    if path.as_os_str().is_empty() {
        return Err(refusal(path, "an empty path names no file".into()));
    }
    if path.as_os_str() == "-" {
        return Ok(Kind::Stdout);
    }
    if path.to_string_lossy().ends_with(std::path::MAIN_SEPARATOR) {
        let why = match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => "is a directory, not a file",
            _ => "ends with a separator, which names a folder, not a file",
        };
        return Err(refusal(path, why.into()));
    }
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINK_HOPS {
        if let Some(fd) = own_descriptor(&current) {
            return Ok(if fd == 1 {
                Kind::Stdout
            } else {
                Kind::InPlace(InPlace::Descriptor(fd))
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
            if current.starts_with("/proc") && !target.has_root() {
                // `pipe:[123]`, `socket:[…]`, `/dev/pts/0`'s kin: no path to follow.
                return Ok(Kind::InPlace(InPlace::ProcLink(current)));
            }
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
        Ok(Kind::InPlace(InPlace::Device(real)))
    } else if file_type.is_socket() {
        Ok(Kind::InPlace(InPlace::Socket(real)))
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
/// `/dev/fd/N`, `/proc/self/fd/N`, `/proc/thread-self/fd/N` or `/proc/<our pid>/fd/N`, with `N`
/// written as the kernel writes it (digits, no leading zero). Writing through the descriptor
/// keeps its offset and mode (an appending redirection stays appending), which reopening the
/// path would not.
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
    let canonical = number.bytes().all(|b| b.is_ascii_digit())
        && !number.is_empty()
        && (number == "0" || !number.starts_with('0'));
    canonical.then(|| number.parse().ok()).flatten()
}

fn is_this_process(owner: &str) -> bool {
    owner == "self" || owner == "thread-self" || owner == std::process::id().to_string()
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

/// The folder holding `path` (`.` for a bare file name).
pub(super) fn parent_folder(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// `what` said of the end of a chain of links, naming that end when it is not `path` itself.
pub(super) fn naming(path: &Path, real: &Path, what: &str) -> String {
    if real == path {
        what.to_string()
    } else {
        format!("{} {what}", real.display())
    }
}
