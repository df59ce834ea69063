//! The `ds` values of one validated series. Values a fixed step apart (integer steps, or a
//! fixed number of seconds) are kept as their first value, step and count: a list would take
//! 16 bytes per row, two thirds of a large panel's memory. Calendar-month steps, which vary in
//! length, are kept as a list.

use chrono::{NaiveDateTime, TimeDelta};

use super::{Freq, Timestamp};

/// The time stamps of one series, in increasing order.
#[derive(Clone, Debug)]
pub struct SeriesDs(Repr);

#[derive(Clone, Debug)]
enum Repr {
    /// The integers `first, first + step, …`, `len` of them.
    Steps { first: i64, step: i64, len: usize },
    /// The date-times `first, first + seconds, …`, `len` of them.
    Seconds {
        first: NaiveDateTime,
        seconds: i64,
        len: usize,
    },
    /// Any values.
    Listed(Vec<Timestamp>),
}

impl SeriesDs {
    /// `values` (increasing, each `freq` after the one before, as a validated series' are),
    /// kept compactly when `freq` is a fixed step and they follow it.
    pub fn new(values: Vec<Timestamp>, freq: Freq) -> SeriesDs {
        if let Some(&first) = values.first() {
            if let Some(compact) = SeriesDs::regular(first, freq, values.len()) {
                if compact.iter().eq(values.iter().copied()) {
                    return compact;
                }
            }
        }
        SeriesDs(Repr::Listed(values))
    }

    /// The `len` values from `first` on, `freq` apart, when `freq` is a fixed step of
    /// `first`'s kind (integer steps, or seconds for date-times); `None` for calendar months
    /// or mismatched kinds. The caller knows the values exist (it has seen the last one).
    pub(crate) fn regular(first: Timestamp, freq: Freq, len: usize) -> Option<SeriesDs> {
        match (first, freq) {
            (Timestamp::Int(first), Freq::Step(step)) => {
                Some(SeriesDs(Repr::Steps { first, step, len }))
            }
            (Timestamp::DateTime(first), Freq::Seconds(seconds)) => Some(SeriesDs(Repr::Seconds {
                first,
                seconds,
                len,
            })),
            _ => None,
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Steps { len, .. } | Repr::Seconds { len, .. } => *len,
            Repr::Listed(values) => values.len(),
        }
    }

    /// True when there are no values (never the case inside a frame).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Value `i`, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<Timestamp> {
        if i >= self.len() {
            return None;
        }
        Some(match &self.0 {
            Repr::Steps { first, step, .. } => Timestamp::Int(first + step * i as i64),
            Repr::Seconds { first, seconds, .. } => {
                Timestamp::DateTime(*first + TimeDelta::seconds(seconds * i as i64))
            }
            Repr::Listed(values) => values[i],
        })
    }

    /// Value `i`; like indexing a slice, it panics past the end.
    pub fn at(&self, i: usize) -> Timestamp {
        match self.get(i) {
            Some(ts) => ts,
            None => panic!("ds index {i} out of range for {} values", self.len()),
        }
    }

    /// The first value.
    pub fn first(&self) -> Option<Timestamp> {
        self.get(0)
    }

    /// The last value.
    pub fn last(&self) -> Option<Timestamp> {
        self.len().checked_sub(1).and_then(|i| self.get(i))
    }

    /// The values in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Timestamp> + '_ {
        (0..self.len()).map(|i| self.at(i))
    }

    /// The values as a list.
    pub fn to_vec(&self) -> Vec<Timestamp> {
        self.iter().collect()
    }

    /// The first `n` values and the rest.
    pub(crate) fn split_at(&self, n: usize) -> (SeriesDs, SeriesDs) {
        let n = n.min(self.len());
        match &self.0 {
            Repr::Steps { first, step, len } => (
                SeriesDs(Repr::Steps {
                    first: *first,
                    step: *step,
                    len: n,
                }),
                SeriesDs(Repr::Steps {
                    first: first + step * n as i64,
                    step: *step,
                    len: len - n,
                }),
            ),
            Repr::Seconds {
                first,
                seconds,
                len,
            } => (
                SeriesDs(Repr::Seconds {
                    first: *first,
                    seconds: *seconds,
                    len: n,
                }),
                SeriesDs(Repr::Seconds {
                    first: *first + TimeDelta::seconds(seconds * n as i64),
                    seconds: *seconds,
                    len: len - n,
                }),
            ),
            Repr::Listed(values) => {
                let (a, b) = values.split_at(n);
                (
                    SeriesDs(Repr::Listed(a.to_vec())),
                    SeriesDs(Repr::Listed(b.to_vec())),
                )
            }
        }
    }
}

impl PartialEq for SeriesDs {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(text: &str) -> Timestamp {
        Timestamp::parse(text).expect("a test date")
    }

    #[test]
    fn fixed_steps_are_kept_compactly_and_read_like_a_list() {
        let hours: Vec<Timestamp> = (0..5)
            .map(|h| dt(&format!("2020-03-29 {h:02}:00:00")))
            .collect();
        let ds = SeriesDs::new(hours.clone(), Freq::Seconds(3600));
        assert!(matches!(ds.0, Repr::Seconds { len: 5, .. }));
        assert_eq!(ds.to_vec(), hours);
        assert_eq!((ds.first(), ds.last()), (Some(hours[0]), Some(hours[4])));
        assert_eq!((ds.get(5), ds.len()), (None, 5));
        let (a, b) = ds.split_at(2);
        assert_eq!(
            (a.to_vec(), b.to_vec()),
            (hours[..2].to_vec(), hours[2..].to_vec())
        );
        let ints: Vec<Timestamp> = [3, 5, 7].map(Timestamp::Int).to_vec();
        let steps = SeriesDs::new(ints.clone(), Freq::Step(2));
        assert!(matches!(
            steps.0,
            Repr::Steps {
                first: 3,
                step: 2,
                len: 3
            }
        ));
        assert_eq!(steps, SeriesDs(Repr::Listed(ints)));
    }

    #[test]
    fn months_and_values_off_the_step_stay_a_list() {
        let months = vec![dt("2020-01-31"), dt("2020-02-29"), dt("2020-03-31")];
        let ds = SeriesDs::new(months.clone(), Freq::Months(1));
        assert!(matches!(ds.0, Repr::Listed(_)));
        assert_eq!(ds.to_vec(), months);
        let off = vec![Timestamp::Int(1), Timestamp::Int(2), Timestamp::Int(4)];
        assert!(matches!(
            SeriesDs::new(off, Freq::Step(1)).0,
            Repr::Listed(_)
        ));
    }
}
