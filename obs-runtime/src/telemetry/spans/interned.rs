//! The text values of the attributes obs's expansions set themselves (`db.system.name`,
//! `db.operation.name`, `messaging.destination.name`, …), as `'static` strings instead of a
//! new `String` per attribute per call.
//!
//! Those values are the attribute's literals and a few configured names (a Stellar network),
//! the same at every call of a site, so each is leaked once and shared from then on: an
//! exported span then allocates only its attribute list. A value is found by content, so a
//! value that is not a literal is found all the same; the leaked text is bounded in bytes,
//! and a value past the bound (an app that put request data in one of these attributes) is
//! copied as before. A per-thread slot, chosen by the text's address, finds a literal without
//! the shared set's lock.

use std::cell::Cell;
use std::collections::HashSet;
use std::sync::Mutex;

/// The most text leaked, over the process's life.
const MAX_BYTES: usize = 64 * 1024;
/// The longest value leaked: a label's value, not a document.
const MAX_LEN: usize = 256;
const SLOTS: usize = 64;

static LEAKED: Mutex<Leaked> = Mutex::new(Leaked { texts: None, bytes: 0 });

struct Leaked {
    texts: Option<HashSet<&'static str>>,
    bytes: usize,
}

thread_local! {
    static RECENT: [Cell<&'static str>; SLOTS] = const { [const { Cell::new("") }; SLOTS] };
}

/// Whether `key`'s values are interned: the attributes obs's expansions set from a literal or
/// a configured name (a user's `fields(..)` may not set them on an annotated fn), and the
/// error's bounded kind.
pub(crate) fn interns(key: &str) -> bool {
    matches!(
        key,
        "db.system.name"
            | "db.operation.name"
            | "db.collection.name"
            | "messaging.system"
            | "messaging.destination.name"
            | "messaging.operation.type"
            | "stellar.operation"
            | "stellar.network"
            | "error.type"
    )
}

/// The `'static` copy of `text`, shared when it has been seen (or may be kept); `None` when
/// it is past the bound, to be copied. A `&str` comes back in registers, where a `Value` came
/// back through memory and was read back in wider loads than it was written in: a stalled
/// store-to-load forward per attribute (`perf`).
#[inline]
pub(crate) fn kept(text: &str) -> Option<&'static str> {
    let slot = (text.as_ptr().addr() >> 3).wrapping_mul(0x9e37_79b9) % SLOTS;
    let recent = RECENT.try_with(|recent| recent[slot].get()).unwrap_or("");
    // An empty slot holds "", which is also the right answer for an empty text.
    if recent == text {
        return Some(recent);
    }
    let kept = leaked(text)?;
    let _ = RECENT.try_with(|recent| recent[slot].set(kept));
    Some(kept)
}

/// The kept copy of `text`, kept now if the bound allows.
fn leaked(text: &str) -> Option<&'static str> {
    let mut leaked = LEAKED.lock().unwrap_or_else(|e| e.into_inner());
    let Leaked { texts, bytes } = &mut *leaked;
    let texts = texts.get_or_insert_with(HashSet::new);
    if let Some(kept) = texts.get(text) {
        return Some(kept);
    }
    if text.len() > MAX_LEN || *bytes + text.len() > MAX_BYTES {
        return None;
    }
    *bytes += text.len();
    let kept: &'static str = Box::leak(text.to_owned().into_boxed_str());
    texts.insert(kept);
    Some(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_shared_by_content_and_bounded_in_bytes() {
        let literal = kept("users").unwrap();
        let built = kept(&String::from("users")).unwrap();
        assert!(std::ptr::eq(literal, built), "found by content, wherever the text lives");
        assert_eq!(literal, "users");
        assert_eq!(kept(""), Some(""));
        let long = "x".repeat(MAX_LEN + 1);
        assert_eq!(kept(&long), None, "too long to keep: the caller copies it");
        let mut past = 0;
        for n in 0..(MAX_BYTES / 8) {
            let text = format!("{n:08}");
            match kept(&text) {
                Some(shared) => assert_eq!(shared, text),
                None => past += 1,
            }
        }
        assert!(past > 0, "the bound was reached");
        assert!(LEAKED.lock().unwrap().bytes <= MAX_BYTES);
        assert!(interns("db.collection.name") && !interns("user.id"));
    }
}
