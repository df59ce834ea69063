//! The line (or row) numbers of one series' rows, kept for messages. Files usually hold each
//! series' rows together, so the numbers are kept as runs of consecutive lines — a few bytes per
//! series instead of eight per row — and as a plain list when the rows are interleaved.

/// Line numbers in arrival order.
#[derive(Debug)]
pub(crate) enum LineNumbers {
    /// Runs of consecutive lines (first line and count) and the rows they hold.
    Runs { runs: Vec<(u64, u32)>, rows: u64 },
    /// One number per row, once runs would take more room.
    Plain(Vec<u64>),
}

impl Default for LineNumbers {
    fn default() -> Self {
        LineNumbers::Runs {
            runs: Vec::new(),
            rows: 0,
        }
    }
}

impl LineNumbers {
    /// Appends the number of the next row.
    pub(crate) fn push(&mut self, line: u64) {
        self.push_run(line, 1);
    }

    /// Appends the numbers of `count` rows from `line` on.
    pub(crate) fn push_run(&mut self, line: u64, count: usize) {
        let Ok(count) = u32::try_from(count) else {
            let half = count / 2;
            self.push_run(line, half);
            self.push_run(line + half as u64, count - half);
            return;
        };
        match self {
            LineNumbers::Runs { runs, rows } => {
                *rows += u64::from(count);
                if let Some((first, n)) = runs.last_mut() {
                    if *first + u64::from(*n) == line {
                        if let Some(sum) = n.checked_add(count) {
                            *n = sum;
                            return;
                        }
                    }
                }
                runs.push((line, count));
                // A run takes two numbers' room: past one run per two rows a list is smaller.
                if runs.len() >= 16 && runs.len() as u64 * 2 > *rows {
                    *self = LineNumbers::Plain(self.to_vec());
                }
            }
            LineNumbers::Plain(lines) => lines.extend(line..line + u64::from(count)),
        }
    }

    /// Every number, in arrival order.
    pub(crate) fn to_vec(&self) -> Vec<u64> {
        match self {
            LineNumbers::Runs { runs, .. } => runs
                .iter()
                .flat_map(|&(first, n)| first..first + u64::from(n))
                .collect(),
            LineNumbers::Plain(lines) => lines.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contiguous_rows_take_one_run_and_interleaved_ones_a_list() {
        let mut together = LineNumbers::default();
        for line in 2..1002 {
            together.push(line);
        }
        assert!(matches!(&together, LineNumbers::Runs { runs, rows: 1000 } if runs.len() == 1));
        assert_eq!(together.to_vec(), (2..1002).collect::<Vec<_>>());
        let mut interleaved = LineNumbers::default();
        let lines: Vec<u64> = (0..100).map(|i| 2 + 3 * i).collect();
        for &line in &lines {
            interleaved.push(line);
        }
        assert!(matches!(&interleaved, LineNumbers::Plain(_)));
        assert_eq!(interleaved.to_vec(), lines);
        let mut mixed = LineNumbers::default();
        for line in [5, 6, 7, 2, 3, 9] {
            mixed.push(line);
        }
        assert_eq!(mixed.to_vec(), [5, 6, 7, 2, 3, 9]);
    }
}
