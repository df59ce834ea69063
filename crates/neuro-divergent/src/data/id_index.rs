//! Assigning each distinct `unique_id` a group number, in order of first appearance.

use std::collections::HashMap;

/// Maps series ids to dense group numbers; consecutive rows of the same series skip the hash.
#[derive(Default)]
pub(crate) struct IdIndex {
    ids: Vec<String>,
    map: HashMap<String, usize>,
    last: usize,
}

impl IdIndex {
    /// The group number of `id`; a new id gets the next number (`== self.len()` before the call).
    pub(crate) fn slot(&mut self, id: &str) -> usize {
        if self.ids.get(self.last).is_some_and(|last| last == id) {
            return self.last;
        }
        let slot = match self.map.get(id) {
            Some(&slot) => slot,
            None => {
                let slot = self.ids.len();
                self.map.insert(id.to_string(), slot);
                self.ids.push(id.to_string());
                slot
            }
        };
        self.last = slot;
        slot
    }

    /// The ids, indexed by group number.
    pub(crate) fn into_ids(self) -> Vec<String> {
        self.ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_ids_by_first_appearance() {
        let mut index = IdIndex::default();
        let slots: Vec<usize> = ["b", "b", "a", "b", "c", "a"]
            .iter()
            .map(|id| index.slot(id))
            .collect();
        assert_eq!(slots, vec![0, 0, 1, 0, 2, 1]);
        assert_eq!(index.into_ids(), vec!["b", "a", "c"]);
    }
}
