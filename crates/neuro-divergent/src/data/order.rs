//! Putting the rows of one series into `ds` order without copying them more than once.

use super::Timestamp;

/// The permutation that sorts rows by `(ds, line)`, or `None` when they are already in order.
pub(crate) fn sort_order(ds: &[Timestamp], lines: &[u64]) -> Option<Vec<usize>> {
    let key = |i: usize| (ds[i], lines[i]);
    if (1..ds.len()).all(|i| key(i - 1) <= key(i)) {
        return None;
    }
    let mut order: Vec<usize> = (0..ds.len()).collect();
    order.sort_unstable_by_key(|&i| key(i));
    Some(order)
}

/// Rearranges `values` so that position `k` holds the old element `order[k]`.
///
/// `order` must be a permutation of `0..values.len()`, as returned by [`sort_order`].
pub(crate) fn permute<T>(values: &mut Vec<T>, order: &[usize]) {
    let mut old: Vec<Option<T>> = std::mem::take(values).into_iter().map(Some).collect();
    *values = order.iter().filter_map(|&i| old[i].take()).collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_by_ds_then_line() {
        let ds = [Timestamp::Int(3), Timestamp::Int(1), Timestamp::Int(3)];
        let lines = [4, 3, 2];
        let order = sort_order(&ds, &lines).expect("unsorted input");
        assert_eq!(order, vec![1, 2, 0]);
        let mut names = vec!["a", "b", "c"];
        permute(&mut names, &order);
        assert_eq!(names, vec!["b", "c", "a"]);
    }

    #[test]
    fn sorted_input_needs_no_order() {
        let ds = [Timestamp::Int(1), Timestamp::Int(2)];
        assert_eq!(sort_order(&ds, &[2, 3]), None);
    }
}
