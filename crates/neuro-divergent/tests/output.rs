//! The one output path: regular files replaced atomically, links followed and kept, devices,
//! FIFOs, sockets and descriptors written in place, unwritable targets refused with nothing
//! changed. Every target is made by the test in its own temporary folder: never the system's
//! `/dev/null` or `/dev/stdout`, so a regression cannot damage the machine running the tests.
#![cfg(unix)]

use std::fs;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{symlink, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use neuro_divergent::output::{check_writable, write_bytes, write_with};
use neuro_divergent::Error;

const TABLE: &[u8] = b"unique_id,ds,NHITS\na,1,2.5\n";

fn is_root() -> bool {
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// Notes a skipped check on the real standard error, which the test harness does not capture.
fn skipped(why: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
}

/// Runs a tool that makes a special file; false (with a visible note) when it cannot.
fn make_node(tool: &str, args: &[&str], what: &str) -> bool {
    match Command::new(tool).args(args).status() {
        Ok(status) if status.success() => true,
        _ => {
            skipped(&format!(
                "cannot make {what} with `{tool}` here (needs root / mknod rights)"
            ));
            false
        }
    }
}

/// Runs `work` on its own thread and returns its result, failing the test instead of hanging
/// when it blocks (a reader waiting on a FIFO that was replaced never wakes).
fn within<T: Send + 'static>(
    what: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> mpsc::Receiver<T> {
    let (send, receive) = mpsc::channel();
    let what = what.to_string();
    std::thread::Builder::new()
        .name(what)
        .spawn(move || {
            let _ = send.send(work());
        })
        .unwrap();
    receive
}

/// The result of a [`within`] thread, waiting at most a few seconds.
fn wait<T>(receiver: &mpsc::Receiver<T>, what: &str) -> T {
    receiver
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{what} did not finish: the target was not written in place"))
}

/// The names in `dir`, sorted: shows that no temporary file was left behind.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn message(result: neuro_divergent::Result<()>) -> String {
    match result {
        Ok(()) => panic!("the write was expected to be refused"),
        Err(e @ Error::Io { .. }) => e.to_string(),
        Err(other) => panic!("expected an I/O error, got {other:?}"),
    }
}

#[test]
fn new_and_existing_files_are_written_whole_and_keep_their_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("forecasts.csv");
    write_bytes(&path, TABLE).unwrap();
    assert_eq!(fs::read(&path).unwrap(), TABLE);
    // A new file gets the usual mode (0666 less the umask), not a temporary file's 0600.
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_ne!(
        mode & 0o044,
        0,
        "mode {mode:o}: readable only by its writer"
    );

    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    write_bytes(&path, b"replaced\n").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"replaced\n");
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    assert_eq!(names(dir.path()), ["forecasts.csv"]);
}

#[test]
fn a_failed_writer_leaves_the_old_file_and_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("forecasts.csv");
    fs::write(&path, TABLE).unwrap();
    let result = write_with(&path, |out| {
        out.write_all(b"half a ta").unwrap();
        Err(Error::Data("the writer failed".into()))
    });
    assert!(matches!(result, Err(Error::Data(_))));
    assert_eq!(fs::read(&path).unwrap(), TABLE);
    assert_eq!(names(dir.path()), ["forecasts.csv"]);
}

#[test]
fn a_link_to_a_file_stays_a_link_and_its_target_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.csv");
    fs::write(&real, b"old\n").unwrap();
    let link = dir.path().join("link.csv");
    symlink("real.csv", &link).unwrap(); // relative, as `ln -s real.csv link.csv` makes it
    let chain = dir.path().join("chain.csv");
    symlink(&link, &chain).unwrap();

    write_bytes(&link, TABLE).unwrap();
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read_link(&link).unwrap(), Path::new("real.csv"));
    assert_eq!(fs::read(&real).unwrap(), TABLE);

    write_bytes(&chain, b"through two links\n").unwrap();
    assert!(fs::symlink_metadata(&chain)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read(&real).unwrap(), b"through two links\n");
    assert_eq!(names(dir.path()), ["chain.csv", "link.csv", "real.csv"]);
}

#[test]
fn a_relative_link_is_read_from_its_own_folder() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("links")).unwrap();
    fs::create_dir(dir.path().join("data")).unwrap();
    let real = dir.path().join("data").join("real.csv");
    fs::write(&real, b"old\n").unwrap();
    let link = dir.path().join("links").join("out.csv");
    symlink("../data/real.csv", &link).unwrap();
    // A second link elsewhere pointing at the first, relative to *its* folder.
    let outer = dir.path().join("outer.csv");
    symlink("links/out.csv", &outer).unwrap();
    write_bytes(&outer, TABLE).unwrap();
    assert_eq!(fs::read(&real).unwrap(), TABLE);
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(fs::symlink_metadata(&outer)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(names(&dir.path().join("data")), ["real.csv"]);
}

#[test]
fn paths_that_name_no_file_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    assert!(message(write_bytes(Path::new(""), TABLE)).contains("empty path"));
    let slash = PathBuf::from(format!("{}/out.csv/", dir.path().display()));
    let text = message(check_writable(&slash));
    assert!(text.contains("ends with a separator"), "{text}");
    assert!(message(write_bytes(&slash, TABLE)).contains("ends with a separator"));
    let folder = PathBuf::from(format!("{}/", dir.path().display()));
    assert!(message(write_bytes(&folder, TABLE)).contains("is a directory"));
    assert!(names(dir.path()).is_empty());
}

#[test]
fn a_dangling_link_gets_its_target_made() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("link.csv");
    symlink("made.csv", &link).unwrap();
    write_bytes(&link, TABLE).unwrap();
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read(dir.path().join("made.csv")).unwrap(), TABLE);
}

#[test]
fn a_character_device_is_written_in_place_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let null = dir.path().join("null");
    // The same major and minor numbers as /dev/null: a sink, whatever reaches it.
    if !make_node(
        "mknod",
        &[null.to_str().unwrap(), "c", "1", "3"],
        "a device",
    ) {
        return;
    }
    let before = fs::symlink_metadata(&null).unwrap();
    check_writable(&null).unwrap();
    write_bytes(&null, TABLE).unwrap();
    let after = fs::symlink_metadata(&null).unwrap();
    assert!(
        after.file_type().is_char_device(),
        "the device was replaced"
    );
    assert_eq!((after.rdev(), after.ino()), (before.rdev(), before.ino()));
    assert_eq!(names(dir.path()), ["null"]);
}

#[test]
fn a_link_to_a_descriptor_writes_through_it_and_stays_a_link() {
    let dir = tempfile::tempdir().unwrap();
    let (mut reader, writer) = std::io::pipe().unwrap();
    let target = PathBuf::from(format!("/proc/self/fd/{}", writer.as_raw_fd()));
    // What /dev/stdout is on Linux, for a descriptor this test owns instead of the real stdout.
    let link = dir.path().join("stdout");
    symlink(&target, &link).unwrap();
    write_bytes(&link, TABLE).unwrap();
    drop(writer);
    let mut received = Vec::new();
    reader.read_to_end(&mut received).unwrap();
    assert_eq!(received, TABLE);
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read_link(&link).unwrap(), target);
}

#[test]
fn a_descriptor_opened_for_appending_keeps_what_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.csv");
    fs::write(&log, b"earlier output\n").unwrap();
    // As `cmd >> log.csv` hands a program its descriptor.
    let appending = fs::OpenOptions::new().append(true).open(&log).unwrap();
    let by_number = PathBuf::from(format!("/dev/fd/{}", appending.as_raw_fd()));
    write_bytes(&by_number, TABLE).unwrap();
    let mut expected = b"earlier output\n".to_vec();
    expected.extend_from_slice(TABLE);
    assert_eq!(fs::read(&log).unwrap(), expected);
}

#[test]
fn a_fifo_is_streamed_to_its_reader_and_stays_a_fifo() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    if !make_node("mkfifo", &[fifo.to_str().unwrap()], "a FIFO") {
        return;
    }
    // Checking must not open the FIFO: with no reader yet, that would wait for ever.
    let checked = fifo.clone();
    wait(
        &within("check", move || check_writable(&checked)),
        "check_writable",
    )
    .unwrap();
    let reader_path = fifo.clone();
    let reader = within("reader", move || fs::read(reader_path).unwrap());
    write_bytes(&fifo, TABLE).unwrap();
    assert_eq!(wait(&reader, "the FIFO's reader"), TABLE);
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    assert_eq!(names(dir.path()), ["pipe"]);
}

#[test]
fn a_socket_is_connected_to_and_stays_a_socket() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("sock");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let server = within("server", move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut received = Vec::new();
        stream.read_to_end(&mut received).unwrap();
        received
    });
    check_writable(&socket).unwrap();
    write_bytes(&socket, TABLE).unwrap();
    assert_eq!(wait(&server, "the socket's server"), TABLE);
    assert!(fs::symlink_metadata(&socket)
        .unwrap()
        .file_type()
        .is_socket());
}

#[test]
fn descriptors_that_are_closed_or_read_only_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.csv");
    fs::write(&data, TABLE).unwrap();
    let reading = fs::File::open(&data).unwrap();
    let read_only = PathBuf::from(format!("/dev/fd/{}", reading.as_raw_fd()));
    let text = message(check_writable(&read_only));
    assert!(text.contains("open for reading only"), "{text}");
    let text = message(write_bytes(&read_only, b"x"));
    assert!(text.contains("open for reading only"), "{text}");
    assert_eq!(fs::read(&data).unwrap(), TABLE);
    // A number far above any descriptor this test process holds.
    let closed = Path::new("/proc/self/fd/987654");
    assert!(message(check_writable(closed)).contains("987654"));
    // A name the kernel does not give descriptor 1 is not standard output (which would pass).
    assert!(check_writable(Path::new("/dev/fd/+1")).is_err());
    assert!(check_writable(Path::new("/dev/fd/01")).is_err());
}

#[test]
fn a_directory_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("results");
    fs::create_dir(&folder).unwrap();
    let expected = format!("{}: is a directory, not a file", folder.display());
    assert_eq!(message(check_writable(&folder)), expected);
    assert_eq!(message(write_bytes(&folder, TABLE)), expected);
    assert!(fs::metadata(&folder).unwrap().is_dir());
    assert!(names(&folder).is_empty());
    // Through a link, the error names both.
    let link = dir.path().join("link");
    symlink(&folder, &link).unwrap();
    let text = message(write_bytes(&link, TABLE));
    assert!(text.starts_with(&format!("{}: ", link.display())), "{text}");
    assert!(
        text.contains(&format!("{} is a directory", folder.display())),
        "{text}"
    );
}

#[test]
fn a_missing_folder_is_refused_and_not_made() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("forecasts.csv");
    let expected = format!(
        "{}: the folder {} does not exist",
        path.display(),
        dir.path().join("missing").display()
    );
    assert_eq!(message(check_writable(&path)), expected);
    assert_eq!(message(write_bytes(&path, TABLE)), expected);
    assert!(names(dir.path()).is_empty());
}

#[test]
fn a_block_device_is_refused_without_being_opened() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("disk");
    // Major 0 is no driver's: even a wrong open could reach no disk.
    if !make_node(
        "mknod",
        &[disk.to_str().unwrap(), "b", "0", "0"],
        "a block device",
    ) {
        return;
    }
    let text = message(write_bytes(&disk, TABLE));
    assert!(text.contains("is a block device"), "{text}");
    assert!(fs::symlink_metadata(&disk)
        .unwrap()
        .file_type()
        .is_block_device());
}

#[test]
fn unwritable_files_and_folders_are_refused_with_nothing_changed() {
    if is_root() {
        skipped("unwritable files: permissions are not enforced for root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let locked = dir.path().join("locked.csv");
    fs::write(&locked, b"keep\n").unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o444)).unwrap();
    let text = message(write_bytes(&locked, TABLE));
    assert!(
        text.contains("locked.csv") && text.contains("ermission"),
        "{text}"
    );
    assert_eq!(fs::read(&locked).unwrap(), b"keep\n");

    let closed = dir.path().join("closed");
    fs::create_dir(&closed).unwrap();
    fs::set_permissions(&closed, fs::Permissions::from_mode(0o555)).unwrap();
    let path = closed.join("forecasts.csv");
    let text = message(check_writable(&path));
    assert!(text.contains("ermission"), "{text}");
    assert!(names(&closed).is_empty());
    fs::set_permissions(&closed, fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn checking_a_new_path_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    check_writable(&dir.path().join("later.csv")).unwrap();
    assert!(names(dir.path()).is_empty());
}
