//! The `ds` values of one series as rows arrive. While they keep arriving in order a fixed gap
//! apart — the usual file, each series' rows together and sorted — only the first and last
//! value and the count are kept, so reading a panel does not hold a list of its time stamps;
//! the first value out of line turns them into a list.

use chrono::TimeDelta;

use super::{Freq, SeriesDs, Timestamp};

/// A series' `ds` values in arrival order.
#[derive(Debug)]
pub(crate) enum Arrivals {
    /// Increasing values `gap` apart (no gap yet with one value).
    Even {
        first: Timestamp,
        last: Timestamp,
        gap: Option<Gap>,
        len: usize,
    },
    /// Any values.
    Listed(Vec<Timestamp>),
}

/// The positive difference between two values of one kind.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Gap {
    /// Between integers.
    Steps(i64),
    /// Between date-times.
    Time(TimeDelta),
}

impl Gap {
    /// The gap from `a` to `b`, when both have one kind and `b` comes later.
    fn between(a: Timestamp, b: Timestamp) -> Option<Gap> {
        match (a, b) {
            (Timestamp::Int(x), Timestamp::Int(y)) => {
                y.checked_sub(x).filter(|&d| d > 0).map(Gap::Steps)
            }
            (Timestamp::DateTime(x), Timestamp::DateTime(y)) => {
                // Within one day only the times differ: the dates' difference (a calendar
                // computation) is zero.
                let gap = if x.date() == y.date() {
                    y.time() - x.time()
                } else {
                    y - x
                };
                Some(gap).filter(|d| *d > TimeDelta::zero()).map(Gap::Time)
            }
            _ => None,
        }
    }

    /// `ts` moved by the gap (values in between two seen ones, so in range).
    pub(crate) fn after(self, ts: Timestamp) -> Timestamp {
        match (self, ts) {
            (Gap::Steps(d), Timestamp::Int(v)) => Timestamp::Int(v + d),
            (Gap::Time(d), Timestamp::DateTime(v)) => Timestamp::DateTime(v + d),
            (_, other) => other,
        }
    }
}

impl Arrivals {
    /// The values of a series whose first row holds `first`.
    pub(crate) fn starting(first: Timestamp) -> Arrivals {
        Arrivals::Even {
            first,
            last: first,
            gap: None,
            len: 1,
        }
    }

    /// Adds the next row's value.
    pub(crate) fn push(&mut self, ts: Timestamp) {
        match self {
            Arrivals::Even { last, gap, len, .. } => {
                let next = Gap::between(*last, ts);
                match (*gap, next) {
                    (None, Some(g)) => *gap = Some(g),
                    (Some(g), Some(n)) if g == n => {}
                    _ => {
                        let mut values = self.to_vec();
                        values.push(ts);
                        *self = Arrivals::Listed(values);
                        return;
                    }
                }
                *last = ts;
                *len += 1;
            }
            Arrivals::Listed(values) => values.push(ts),
        }
    }

    /// Adds the values of `count` rows that run from `first` to `last`, `gap` apart (a run of
    /// rows a columnar reader checked as a whole).
    pub(crate) fn push_even(
        &mut self,
        (first, last): (Timestamp, Timestamp),
        gap: Gap,
        count: usize,
    ) {
        match self {
            Arrivals::Even {
                last: end,
                gap: known,
                len,
                ..
            } if Gap::between(*end, first) == Some(gap) && known.is_none_or(|g| g == gap) => {
                *known = Some(gap);
                *end = last;
                *len += count;
            }
            _ => {
                let mut at = first;
                for k in 0..count {
                    if k > 0 {
                        at = gap.after(at);
                    }
                    self.push(at);
                }
            }
        }
    }

    /// The first value.
    pub(crate) fn first(&self) -> Timestamp {
        match self {
            Arrivals::Even { first, .. } => *first,
            Arrivals::Listed(values) => values[0],
        }
    }

    /// The values in arrival order.
    pub(crate) fn to_vec(&self) -> Vec<Timestamp> {
        match self {
            Arrivals::Even {
                first, gap, len, ..
            } => {
                let mut values = Vec::with_capacity(*len);
                let mut at = *first;
                for k in 0..*len {
                    if let (true, Some(gap)) = (k > 0, gap) {
                        at = gap.after(at);
                    }
                    values.push(at);
                }
                values
            }
            Arrivals::Listed(values) => values.clone(),
        }
    }

    /// The values as a validated series keeps them, when they need no checking: evenly
    /// spaced by `freq`'s fixed step. Otherwise (a list, calendar months, another step) the
    /// values in arrival order, to be sorted and checked.
    pub(crate) fn settle(self, freq: Freq) -> Result<SeriesDs, Vec<Timestamp>> {
        if let Arrivals::Even {
            first, gap, len, ..
        } = &self
        {
            if let Some(regular) = SeriesDs::regular(*first, freq, *len) {
                if *len < 2 || regular.get(1) == gap.map(|g| g.after(*first)) {
                    return Ok(regular);
                }
            }
        }
        Err(match self {
            Arrivals::Listed(values) => values,
            even => even.to_vec(),
        })
    }

    /// The first value and the one after it, counted as many times as such a pair occurs
    /// (each consecutive pair of a list once): what frequency inference reads.
    pub(crate) fn pairs(&self) -> Vec<(Timestamp, Timestamp, usize)> {
        match self {
            Arrivals::Even {
                first,
                gap: Some(gap),
                len,
                ..
            } => vec![(*first, gap.after(*first), len - 1)],
            Arrivals::Even { .. } => Vec::new(),
            Arrivals::Listed(values) => values.windows(2).map(|p| (p[0], p[1], 1)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_in_order_a_fixed_gap_apart_stay_even() {
        let mut arrivals = Arrivals::starting(Timestamp::Int(10));
        for v in [12, 14, 16] {
            arrivals.push(Timestamp::Int(v));
        }
        assert!(matches!(arrivals, Arrivals::Even { len: 4, .. }));
        assert_eq!(
            arrivals.to_vec(),
            [10, 12, 14, 16].map(Timestamp::Int).to_vec()
        );
        assert_eq!(
            arrivals.pairs(),
            [(Timestamp::Int(10), Timestamp::Int(12), 3)]
        );
    }

    #[test]
    fn a_value_out_of_line_makes_a_list() {
        for (values, next) in [
            (vec![1, 2, 3], 5), // a gap
            (vec![1, 2, 3], 3), // a duplicate
            (vec![1, 2, 3], 0), // out of order
            (vec![5], 5),       // a duplicate first
        ] {
            let mut arrivals = Arrivals::starting(Timestamp::Int(values[0]));
            for &v in &values[1..] {
                arrivals.push(Timestamp::Int(v));
            }
            arrivals.push(Timestamp::Int(next));
            let mut expected: Vec<Timestamp> = values.into_iter().map(Timestamp::Int).collect();
            expected.push(Timestamp::Int(next));
            assert!(matches!(arrivals, Arrivals::Listed(_)));
            assert_eq!(arrivals.to_vec(), expected);
        }
        let date = Timestamp::parse("2020-01-01").unwrap();
        let mut mixed = Arrivals::starting(Timestamp::Int(1));
        mixed.push(date);
        assert_eq!(mixed.to_vec(), vec![Timestamp::Int(1), date]);
    }
}
