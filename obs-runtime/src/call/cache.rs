//! A value resolved once per call site and recorder generation, then read with one atomic load
//! and a compare: the handle cache behind every call site.
//!
//! Installing obs's recorder (or changing the Stellar default network) starts a new generation
//! (see `prometheus::generation`), so every cached value is resolved again on its next use.

use std::sync::atomic::{AtomicPtr, Ordering};

use crate::prometheus::generation;

/// A value of the current generation, or nothing yet.
///
/// Values are leaked on purpose: readers hold plain references. A value is leaked each time a
/// site resolves in a new generation, and generations change only when obs installs a recorder
/// or sets the default network, a handful of times per process.
pub(crate) struct Cached<T> {
    current: AtomicPtr<Generational<T>>,
}

struct Generational<T> {
    generation: u64,
    value: T,
}

impl<T> std::fmt::Debug for Cached<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cached").field("resolved", &!self.current.load(Ordering::Relaxed).is_null()).finish()
    }
}

impl<T: 'static> Cached<T> {
    pub(crate) const fn new() -> Self {
        Self { current: AtomicPtr::new(std::ptr::null_mut()) }
    }

    /// The value of the current generation; `resolve` runs when there is none yet. `None` from
    /// `resolve` is not cached, so the next call tries again.
    #[inline]
    pub(crate) fn get(&self, resolve: impl FnOnce() -> Option<T>) -> Option<&T> {
        let current = self.current.load(Ordering::Acquire);
        if !current.is_null() {
            // SAFETY: non-null pointers here come from `Box::leak` in `refresh` and are never freed.
            let current = unsafe { &*current };
            if current.generation == generation::current() {
                return Some(&current.value);
            }
        }
        self.refresh(resolve)
    }

    #[cold]
    #[inline(never)]
    fn refresh(&self, resolve: impl FnOnce() -> Option<T>) -> Option<&T> {
        let generation = generation::current();
        let leaked: &'static Generational<T> = Box::leak(Box::new(Generational { generation, value: resolve()? }));
        self.current.store(std::ptr::from_ref(leaked).cast_mut(), Ordering::Release);
        Some(&leaked.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_once_per_generation_and_never_caches_none() {
        let cached: Cached<u32> = Cached::new();
        let mut calls = 0;
        assert_eq!(
            cached.get(|| {
                calls += 1;
                None
            }),
            None
        );
        assert_eq!(
            cached.get(|| {
                calls += 1;
                Some(7)
            }),
            Some(&7)
        );
        assert_eq!(
            cached.get(|| {
                calls += 1;
                Some(8)
            }),
            Some(&7)
        );
        assert_eq!(calls, 2);
        generation::bump();
        assert_eq!(cached.get(|| Some(9)), Some(&9));
    }
}
