//! Exact line numbers for CSV records, including after skipped blank lines.
//!
//! The csv crate stamps a record with the position where parsing began, which lies before any
//! blank lines it skipped; this reader wrapper remembers where line breaks are so the true first
//! line of a record can be recovered from that byte offset.

use std::collections::VecDeque;
use std::io::{self, Read};

/// Passes bytes through unchanged while recording the offsets of `\r` and `\n` bytes.
pub(crate) struct LineTracker<R> {
    inner: R,
    offset: u64,
    breaks: VecDeque<(u64, bool)>,
    newlines_before: u64,
}

impl<R> LineTracker<R> {
    /// Wraps `inner`, counting from byte 0 and line 1.
    pub(crate) fn new(inner: R) -> Self {
        LineTracker {
            inner,
            offset: 0,
            breaks: VecDeque::new(),
            newlines_before: 0,
        }
    }

    /// The 1-based line of the first byte at or after `start` that is not a line break.
    ///
    /// Calls must come with non-decreasing `start` (records are read in order).
    pub(crate) fn line_at(&mut self, start: u64) -> u64 {
        let mut content = start;
        while let Some(&(at, is_newline)) = self.breaks.front() {
            if at > content {
                break;
            }
            if at == content {
                content += 1;
            }
            self.newlines_before += u64::from(is_newline);
            self.breaks.pop_front();
        }
        self.newlines_before + 1
    }
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let base = self.offset;
        let read = &buf[..n];
        self.breaks.extend(
            memchr::memchr2_iter(b'\n', b'\r', read).map(|i| (base + i as u64, read[i] == b'\n')),
        );
        self.offset += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_blank_lines_to_the_content() -> io::Result<()> {
        let text = b"ab\r\n\r\n\ncd\n\"e\nf\"\ng";
        let mut tracker = LineTracker::new(&text[..]);
        io::copy(&mut tracker, &mut io::sink())?;
        assert_eq!(tracker.line_at(0), 1);
        assert_eq!(tracker.line_at(3), 4);
        assert_eq!(tracker.line_at(10), 5);
        assert_eq!(tracker.line_at(16), 7);
        Ok(())
    }
}
