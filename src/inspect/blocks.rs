//! A queue kept in blocks of a fixed size, for the store's traces: pushed at the back,
//! evicted from the front, read by index.
//!
//! ```text
//!   front block (partly evicted)   full blocks …        back block (filling)   spare
//!   [ · · · x x x ]                [ x x x x x x ] …    [ x x x · · · ]        [ ]
//! ```
//!
//! One `VecDeque` of a million traces doubles as it fills, copying every trace it holds
//! (a quarter of a second and more at half a million), and once full it still has the
//! slots it doubled into: the head walks through them after the store is full, and each
//! 2 MiB of them is first touched then (a page fault that zeroes a huge page: 7 to 13 ms
//! in one frame). Here growth adds a block and never moves a trace, and the block the
//! front empties is the next one the back fills: a full store touches no new memory.

use std::collections::VecDeque;

/// Items per block.
const BLOCK: usize = 1024;

/// A queue in blocks of [`BLOCK`] items: every block but the first and the last is full.
#[derive(Debug)]
pub(crate) struct Blocks<T> {
    blocks: VecDeque<VecDeque<T>>,
    /// The last block the front emptied, kept for the back to fill.
    spare: Option<VecDeque<T>>,
    len: usize,
}

impl<T> Default for Blocks<T> {
    fn default() -> Self {
        Blocks {
            blocks: VecDeque::new(),
            spare: None,
            len: 0,
        }
    }
}

impl<T> Blocks<T> {
    /// How many items it holds.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds none.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds an item at the back.
    pub(crate) fn push_back(&mut self, item: T) {
        if self.blocks.back().is_none_or(|last| last.len() == BLOCK) {
            let block = self
                .spare
                .take()
                .unwrap_or_else(|| VecDeque::with_capacity(BLOCK));
            self.blocks.push_back(block);
        }
        if let Some(last) = self.blocks.back_mut() {
            last.push_back(item);
            self.len += 1;
        }
    }

    /// Takes the item at the front.
    pub(crate) fn pop_front(&mut self) -> Option<T> {
        let first = self.blocks.front_mut()?;
        let item = first.pop_front()?;
        self.len -= 1;
        if first.is_empty() {
            self.spare = self.blocks.pop_front();
        }
        Some(item)
    }

    /// Where item `index` is: its block and its place in it.
    fn locate(&self, index: usize) -> Option<(usize, usize)> {
        if index >= self.len {
            return None;
        }
        let first = self.blocks.front()?.len();
        if index < first {
            return Some((0, index));
        }
        let rest = index - first;
        Some((1 + rest / BLOCK, rest % BLOCK))
    }

    /// Item `index` (0 is the front).
    pub(crate) fn get(&self, index: usize) -> Option<&T> {
        let (block, at) = self.locate(index)?;
        self.blocks.get(block)?.get(at)
    }

    /// Item `index`, to change.
    pub(crate) fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        let (block, at) = self.locate(index)?;
        self.blocks.get_mut(block)?.get_mut(at)
    }

    /// Every item, front first.
    pub(crate) fn iter(&self) -> Iter<'_, T> {
        Iter {
            items: self.blocks.iter().flatten(),
            left: self.len,
        }
    }

    /// How many items the blocks have room for, the spare included.
    #[cfg(test)]
    fn room(&self) -> usize {
        self.blocks
            .iter()
            .chain(&self.spare)
            .map(VecDeque::capacity)
            .sum()
    }
}

/// The items of [`Blocks`], front first (or back first, reversed), counted.
pub(crate) struct Iter<'a, T> {
    items: std::iter::Flatten<std::collections::vec_deque::Iter<'a, VecDeque<T>>>,
    left: usize,
}

impl<'a, T> Iterator for Iter<'a, T> {
    type Item = &'a T;

    fn next(&mut self) -> Option<&'a T> {
        let item = self.items.next()?;
        self.left -= 1;
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<T> DoubleEndedIterator for Iter<'_, T> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let item = self.items.next_back()?;
        self.left -= 1;
        Some(item)
    }
}

impl<T> ExactSizeIterator for Iter<'_, T> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_like_one_queue_as_it_fills_and_empties() {
        let mut blocks = Blocks::default();
        let mut model = VecDeque::new();
        for n in 0..5 * BLOCK + 7 {
            blocks.push_back(n);
            model.push_back(n);
            if n % 3 == 0 {
                assert_eq!(blocks.pop_front(), model.pop_front());
            }
        }
        assert_eq!(blocks.len(), model.len());
        for (index, item) in model.iter().enumerate() {
            assert_eq!(blocks.get(index), Some(item));
        }
        assert_eq!(blocks.get(model.len()), None);
        assert!(blocks.iter().eq(model.iter()));
        assert!(blocks.iter().rev().eq(model.iter().rev()));
        assert_eq!(blocks.iter().len(), model.len());
        if let Some(item) = blocks.get_mut(BLOCK + 3) {
            *item = usize::MAX;
        }
        model[BLOCK + 3] = usize::MAX;
        while let Some(item) = blocks.pop_front() {
            assert_eq!(Some(item), model.pop_front());
        }
        assert!(blocks.is_empty());
    }

    #[test]
    fn a_full_queue_fills_the_blocks_its_front_emptied() {
        let mut blocks = Blocks::default();
        let held = 10 * BLOCK + BLOCK / 2;
        for n in 0..held {
            blocks.push_back(n);
        }
        let room = blocks.room();
        for n in held..held + 50 * BLOCK {
            blocks.pop_front();
            // The front empties first at the (held + BLOCK / 2)th push, and the back
            // starts a block at every BLOCKth.
            if n % BLOCK == 0 && n > held + BLOCK / 2 {
                assert!(blocks.spare.is_some(), "the emptied block is kept");
            }
            blocks.push_back(n);
            if n % BLOCK == 0 {
                assert!(blocks.spare.is_none(), "the back took the spare");
            }
            assert!(blocks.room() <= room + BLOCK, "grew to {}", blocks.room());
        }
        assert_eq!(blocks.get(0), Some(&(50 * BLOCK)));
    }
}
