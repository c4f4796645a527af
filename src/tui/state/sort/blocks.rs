//! A sorted sequence kept as a row of sorted blocks, each at most [`MAX`] long, with
//! the number of values before each block beside it:
//!
//! ```text
//! starts   0          1800        2900
//! blocks  [a b … x]  [y … z]     [ … ]
//! ```
//!
//! Finding a value is a binary search on the blocks' last values, then one within its
//! block; inserting or removing one moves at most a block's values and bumps the
//! starts after it, so a change costs O(√n) on n values rather than a pass over all of
//! them. The value at a position is a binary search on the starts.

/// A block that grows past this splits in two.
const MAX: usize = 2048;

/// A block that shrinks below this joins a neighbour, if the two fit in one.
const MIN: usize = MAX / 4;

/// Distinct values in increasing order, with positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortedBlocks<T> {
    /// Never an empty block.
    blocks: Vec<Vec<T>>,
    /// How many values come before each block.
    starts: Vec<usize>,
    len: usize,
}

impl<T> Default for SortedBlocks<T> {
    fn default() -> Self {
        SortedBlocks {
            blocks: Vec::new(),
            starts: Vec::new(),
            len: 0,
        }
    }
}

impl<T: Ord> SortedBlocks<T> {
    /// The values of `sorted`, which must be increasing and distinct.
    pub fn from_sorted(sorted: Vec<T>) -> Self {
        let len = sorted.len();
        let mut blocks = Vec::with_capacity(len.div_ceil(MAX / 2));
        let mut values = sorted.into_iter();
        // Half full, so that the first inserts do not split every block.
        loop {
            let block: Vec<T> = values.by_ref().take(MAX / 2).collect();
            if block.is_empty() {
                break;
            }
            blocks.push(block);
        }
        let mut sorted = SortedBlocks {
            blocks,
            starts: Vec::new(),
            len,
        };
        sorted.recount();
        sorted
    }

    /// How many values.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The value at `position` (0 is the smallest).
    pub fn get(&self, position: usize) -> Option<&T> {
        if position >= self.len {
            return None;
        }
        let block = self.starts.partition_point(|start| *start <= position) - 1;
        self.blocks[block].get(position - self.starts[block])
    }

    /// The position of `value`, if it is there.
    pub fn position(&self, value: &T) -> Option<usize> {
        let block = self.block_for(value)?;
        let within = self.blocks[block].binary_search(value).ok()?;
        Some(self.starts[block] + within)
    }

    /// Adds `value`; false if it was there already.
    pub fn insert(&mut self, value: T) -> bool {
        let block = match self.block_for(&value) {
            Some(block) => block,
            None if self.blocks.is_empty() => {
                self.blocks.push(vec![value]);
                self.starts.push(0);
                self.len = 1;
                return true;
            }
            // Bigger than every value: the last block takes it.
            None => self.blocks.len() - 1,
        };
        let values = &mut self.blocks[block];
        let Err(within) = values.binary_search(&value) else {
            return false;
        };
        values.insert(within, value);
        self.len += 1;
        if values.len() > MAX {
            let upper = values.split_off(values.len() / 2);
            self.blocks.insert(block + 1, upper);
            self.recount();
        } else {
            self.shift_after(block, |start| start + 1);
        }
        true
    }

    /// Takes `value` out; false if it was not there.
    pub fn remove(&mut self, value: &T) -> bool {
        let Some(block) = self.block_for(value) else {
            return false;
        };
        let values = &mut self.blocks[block];
        let Ok(within) = values.binary_search(value) else {
            return false;
        };
        values.remove(within);
        self.len -= 1;
        if values.is_empty() {
            self.blocks.remove(block);
            self.recount();
        } else if values.len() < MIN && self.join(block) {
            self.recount();
        } else {
            self.shift_after(block, |start| start - 1);
        }
        true
    }

    /// The values in order.
    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.blocks.iter().flatten()
    }

    /// The first block whose last value is not below `value`.
    fn block_for(&self, value: &T) -> Option<usize> {
        let block = self
            .blocks
            .partition_point(|values| values.last().is_some_and(|last| last < value));
        (block < self.blocks.len()).then_some(block)
    }

    /// Joins a small block with its smaller neighbour when the two fit in one; whether
    /// it did (the starts then need counting again).
    fn join(&mut self, block: usize) -> bool {
        let len = |at: usize| self.blocks.get(at).map_or(usize::MAX, Vec::len);
        let before = block.checked_sub(1).map_or(usize::MAX, len);
        let after = len(block + 1);
        let lower = if before <= after {
            block.wrapping_sub(1)
        } else {
            block
        };
        if before.min(after).saturating_add(len(block)) > MAX {
            return false;
        }
        let upper = self.blocks.remove(lower + 1);
        self.blocks[lower].extend(upper);
        true
    }

    /// Moves the starts of the blocks after `block`.
    fn shift_after(&mut self, block: usize, by: impl Fn(usize) -> usize) {
        for start in &mut self.starts[block + 1..] {
            *start = by(*start);
        }
    }

    fn recount(&mut self) {
        self.starts.clear();
        let mut start = 0;
        for values in &self.blocks {
            self.starts.push(start);
            start += values.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Checks the layout against a plain sorted vector of the same values.
    fn agrees(blocks: &SortedBlocks<u32>, naive: &[u32]) {
        assert_eq!(blocks.len(), naive.len());
        assert!(blocks.blocks.iter().all(|values| !values.is_empty()));
        assert!(blocks.blocks.iter().all(|values| values.len() <= MAX));
        assert_eq!(blocks.iter().copied().collect::<Vec<_>>(), naive);
        for (position, value) in naive.iter().enumerate() {
            assert_eq!(blocks.get(position), Some(value));
            assert_eq!(blocks.position(value), Some(position));
        }
        assert_eq!(blocks.get(naive.len()), None);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u32),
        Remove(u32),
    }

    fn ops() -> impl Strategy<Value = Vec<Op>> {
        // A narrow range of values, so that removes hit and inserts collide.
        let op = prop_oneof![
            3 => (0..6_000u32).prop_map(Op::Insert),
            2 => (0..6_000u32).prop_map(Op::Remove),
        ];
        prop::collection::vec(op, 0..6_000)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn agrees_with_a_sorted_vec(start in prop::collection::btree_set(0..6_000u32, 0..5_000), ops in ops()) {
            let mut naive: Vec<u32> = start.into_iter().collect();
            let mut blocks = SortedBlocks::from_sorted(naive.clone());
            agrees(&blocks, &naive);
            for op in ops {
                match op {
                    Op::Insert(value) => {
                        let at = naive.binary_search(&value);
                        prop_assert_eq!(blocks.insert(value), at.is_err());
                        if let Err(at) = at {
                            naive.insert(at, value);
                        }
                    }
                    Op::Remove(value) => {
                        let at = naive.binary_search(&value);
                        prop_assert_eq!(blocks.remove(&value), at.is_ok());
                        if let Ok(at) = at {
                            naive.remove(at);
                        }
                        prop_assert_eq!(blocks.position(&value), None);
                    }
                }
            }
            agrees(&blocks, &naive);
        }
    }

    #[test]
    fn splits_and_joins_blocks_as_it_grows_and_shrinks() {
        let mut blocks = SortedBlocks::default();
        let mut naive = Vec::new();
        // Ascending, then descending: every insert lands in the last or the first block.
        for value in (0..5 * MAX as u32)
            .step_by(2)
            .chain((1..5 * MAX as u32).step_by(2).rev())
        {
            assert!(blocks.insert(value));
            naive.push(value);
        }
        naive.sort_unstable();
        agrees(&blocks, &naive);
        assert!(blocks.blocks.len() > 5);
        for value in (0..5 * MAX as u32).filter(|value| value % 7 != 0) {
            assert!(blocks.remove(&value));
        }
        naive.retain(|value| value % 7 == 0);
        agrees(&blocks, &naive);
        assert!(
            blocks.blocks.len() <= 3,
            "small blocks joined: {} blocks for {} values",
            blocks.blocks.len(),
            naive.len()
        );
        for value in naive.drain(..) {
            assert!(blocks.remove(&value));
        }
        agrees(&blocks, &naive);
        assert!(blocks.blocks.is_empty());
    }
}
