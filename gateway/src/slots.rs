//! Counted places: at most `max_total` held in all and `max_per_key` per key (a source address,
//! a tenant). A place is given back when the last clone of its [`Slot`] is dropped, however the
//! connection that held it ended.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// Places held, in all and per key.
#[derive(Debug)]
pub(crate) struct Slots<K> {
    max_total: usize,
    max_per_key: usize,
    open: Mutex<Held<K>>,
}

#[derive(Debug)]
struct Held<K> {
    total: usize,
    per_key: HashMap<K, usize>,
}

/// One place held for `key`; given back when the last clone is dropped.
#[derive(Debug)]
pub(crate) struct Slot<K: Eq + Hash> {
    _held: Arc<Holder<K>>,
}

impl<K: Eq + Hash> Clone for Slot<K> {
    fn clone(&self) -> Self {
        Self {
            _held: self._held.clone(),
        }
    }
}

#[derive(Debug)]
struct Holder<K: Eq + Hash> {
    key: K,
    slots: Arc<Slots<K>>,
}

impl<K: Eq + Hash> Drop for Holder<K> {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|e| e.into_inner());
        open.total -= 1;
        if let Some(count) = open.per_key.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.per_key.remove(&self.key);
            }
        }
    }
}

impl<K: Eq + Hash + Clone> Slots<K> {
    /// At most `max_total` places in all and `max_per_key` for one key.
    pub(crate) fn new(max_total: usize, max_per_key: usize) -> Arc<Self> {
        Arc::new(Self {
            max_total,
            max_per_key,
            open: Mutex::new(Held {
                total: 0,
                per_key: HashMap::new(),
            }),
        })
    }

    /// A place for `key`, or `None` past a limit.
    pub(crate) fn take(self: &Arc<Self>, key: &K) -> Option<Slot<K>> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let of_key = open.per_key.get(key).copied().unwrap_or(0);
        if open.total >= self.max_total || of_key >= self.max_per_key {
            return None;
        }
        open.total += 1;
        open.per_key.insert(key.clone(), of_key + 1);
        Some(Slot {
            _held: Arc::new(Holder {
                key: key.clone(),
                slots: self.clone(),
            }),
        })
    }

    /// The most places one key may hold.
    pub(crate) fn max_per_key(&self) -> usize {
        self.max_per_key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_come_back_when_the_last_clone_is_dropped() {
        let slots = Slots::new(3, 2);
        let a1 = slots.take(&"a").unwrap();
        let a2 = slots.take(&"a").unwrap();
        assert!(slots.take(&"a").is_none(), "per key");
        let b1 = slots.take(&"b").unwrap();
        assert!(slots.take(&"c").is_none(), "in all");
        let a1_clone = a1.clone();
        drop(a1);
        assert!(slots.take(&"c").is_none(), "a clone still holds the place");
        drop((a1_clone, a2, b1));
        assert!(slots.take(&"a").is_some() && slots.take(&"a").is_some());
    }
}
