//! A small bounded memo of a rule's recent results, for rules whose work is costly and whose
//! inputs repeat (the same tracking number, agent or answering point on many calls).
//!
//! It is not a rule: rules whose answer depends only on their options and their input may keep
//! one. Two generations of at most `capacity` entries each: a hit in the older generation is
//! moved to the newer one, and when the newer one is full the older one is dropped. Memory stays
//! bounded (2 x `capacity` entries of keys no longer than `max_key` bytes, per thread) and the
//! inputs seen lately stay in.
//!
//! Each thread keeps its own generations. One map shared by the sidecar's worker threads (or the
//! batch workers) behind a lock made every lookup move the lock and the entries from one core's
//! cache to the other's: on a 2-core machine that was most of the phone rule's time. A thread
//! remembers what it computed; another thread computes the same input once more.

use std::cell::RefCell;
use std::collections::HashMap;

use thread_local::ThreadLocal;

/// The memo's maps. Their keys are input texts, but a generation holds at most `capacity` of
/// them, so foldhash (several times cheaper than SipHash on short keys) is safe from floods of
/// colliding keys.
type Map<V> = HashMap<Box<str>, V, foldhash::quality::RandomState>;

#[derive(Debug)]
pub struct Memo<V: Send> {
    capacity: usize,
    max_key: usize,
    /// Each thread's own generations.
    inner: ThreadLocal<RefCell<Generations<V>>>,
}

#[derive(Debug)]
struct Generations<V> {
    new: Map<V>,
    old: Map<V>,
}

impl<V: Clone + Send> Memo<V> {
    /// A memo keeping at least the last `capacity` distinct inputs of up to `max_key` bytes
    /// (longer inputs are computed every time).
    pub fn new(capacity: usize, max_key: usize) -> Self {
        Memo {
            capacity: capacity.max(1),
            max_key,
            inner: ThreadLocal::new(),
        }
    }

    /// This thread's generations.
    fn mine(&self) -> &RefCell<Generations<V>> {
        self.inner.get_or(|| {
            RefCell::new(Generations {
                new: Map::default(),
                old: Map::default(),
            })
        })
    }

    /// The result for `key`: remembered, or computed by `compute` and remembered.
    pub fn get_or(&self, key: &str, compute: impl FnOnce() -> V) -> V {
        if key.len() > self.max_key {
            return compute();
        }
        if let Some(v) = self.lookup(key) {
            return v;
        }
        // Computed without holding this thread's maps: the computation may use other memos.
        let v = compute();
        self.store(key, v.clone());
        v
    }

    fn lookup(&self, key: &str) -> Option<V> {
        // Never borrowed already: no borrow is held while `compute` runs.
        let mut g = self.mine().try_borrow_mut().ok()?;
        if let Some(v) = g.new.get(key) {
            return Some(v.clone());
        }
        let (k, v) = g.old.remove_entry(key)?;
        let out = v.clone();
        g.insert(k, v, self.capacity);
        Some(out)
    }

    fn store(&self, key: &str, v: V) {
        if let Ok(mut g) = self.mine().try_borrow_mut() {
            g.insert(key.into(), v, self.capacity);
        }
    }

    /// Entries remembered by all threads.
    #[cfg(test)]
    fn len(&mut self) -> usize {
        self.inner
            .iter_mut()
            .map(|g| {
                let g = g.get_mut();
                g.new.len() + g.old.len()
            })
            .sum()
    }
}

impl<V> Generations<V> {
    fn insert(&mut self, k: Box<str>, v: V, capacity: usize) {
        if self.new.len() >= capacity && !self.new.contains_key(&k) {
            self.old = std::mem::take(&mut self.new);
        }
        self.new.insert(k, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn computes_once_per_key_while_remembered() {
        let memo = Memo::new(4, 64);
        let calls = Cell::new(0);
        let f = |k: &str| {
            memo.get_or(k, || {
                calls.set(calls.get() + 1);
                k.len()
            })
        };
        assert_eq!(f("abc"), 3);
        assert_eq!(f("abc"), 3);
        assert_eq!(f("de"), 2);
        assert_eq!(calls.get(), 2);
    }

    #[test]
    fn stays_bounded_and_keeps_recent_keys() {
        let mut memo = Memo::new(3, 64);
        for i in 0..100 {
            memo.get_or(&i.to_string(), || i);
        }
        assert!(memo.len() <= 6, "{}", memo.len());
        // The last three are remembered: computing them again would give a different value.
        for i in 97..100 {
            assert_eq!(memo.get_or(&i.to_string(), || -1), i);
        }
        // A key used again moves to the newer generation and survives the next turnover.
        let memo = Memo::new(2, 64);
        memo.get_or("a", || 1);
        memo.get_or("b", || 2);
        memo.get_or("c", || 3); // "a" and "b" become the older generation
        assert_eq!(memo.get_or("a", || 0), 1); // found there, moved to the newer one
        memo.get_or("d", || 4); // the newer one ("c", "a") is full: "b" is dropped
        assert_eq!(memo.get_or("a", || 0), 1);
        assert_eq!(memo.get_or("b", || 0), 0);
    }

    #[test]
    fn each_thread_remembers_what_it_computed() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let mut memo = Memo::new(4, 64);
        let calls = AtomicUsize::new(0);
        let f = |k: &str| {
            memo.get_or(k, || {
                calls.fetch_add(1, Ordering::Relaxed);
                k.len()
            })
        };
        // All alive at once: the slot of a thread that has ended goes to the next one started.
        let all_started = std::sync::Barrier::new(3);
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    all_started.wait();
                    assert_eq!(f("abc"), 3);
                    assert_eq!(f("abc"), 3);
                    all_started.wait();
                });
            }
        });
        // Once per thread, not once per call.
        assert_eq!(calls.load(Ordering::Relaxed), 3);
        assert_eq!(memo.len(), 3);
    }

    #[test]
    fn a_computation_may_use_the_same_memo() {
        let memo = Memo::new(4, 64);
        let inner = memo.get_or("outer", || memo.get_or("inner", || 1) + 1);
        assert_eq!(inner, 2);
        assert_eq!(memo.get_or("outer", || 0), 2);
        assert_eq!(memo.get_or("inner", || 0), 1);
    }

    #[test]
    fn long_keys_are_not_kept() {
        let mut memo = Memo::new(8, 4);
        assert_eq!(memo.get_or("12345", || 1), 1);
        assert_eq!(memo.get_or("12345", || 2), 2);
        assert_eq!(memo.len(), 0);
    }
}
