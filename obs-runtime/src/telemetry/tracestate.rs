//! `tracestate` by the current W3C Trace Context grammar (Level 2, the key grammar of
//! 2026's validation suite), carried through OpenTelemetry's `TraceState`.
//!
//! A key is `( lcalpha / DIGIT ) 0*255( keychar )`, where `keychar` includes `@` anywhere after
//! the first character; the older `tenant@system` form is a special case. A value is 1 to 256
//! printable characters but `,` and `=`, not ending in a space. Duplicated keys keep the first
//! member (the specification lets a vendor drop the others), and a list of more than 32 members
//! is refused whole.
//!
//! OpenTelemetry 0.33's `TraceState` still checks keys by the older grammar (one `@`, followed by
//! at most 13 characters, no `@@`), and it is the only type that travels with a span through
//! the SDK and `tracing-opentelemetry`. So a member it refuses is kept in it *escaped*: its `@`s
//! read `*` in the key, and the value carries their positions after a control character no
//! header value can hold (`foo@@bar=1` is kept as `foo**bar` = `"1\u{1}0304"`). [`header`] undoes
//! it, so what obs sends on is what it received; only the `trace_state` of exported spans shows
//! the escaped form. A member whose escaped value would pass 256 characters (a refused key with
//! a value near the limit) is dropped, as the specification lets a vendor drop members it cannot
//! keep.

use opentelemetry::trace::TraceState;

/// Most members a `tracestate` list may have.
const MAX_MEMBERS: usize = 32;
/// Longest key and value.
const MAX_LEN: usize = 256;
/// Starts the `@` positions of an escaped member, in its value.
const ESCAPED: char = '\u{1}';

/// Every `tracestate` header, combined in order; `None` when the list is not one to keep.
pub(crate) fn parse<'a>(headers: impl IntoIterator<Item = &'a str>) -> Option<TraceState> {
    let mut members: Vec<(&str, &str)> = Vec::new();
    for header in headers {
        for member in header.split(',') {
            let member = member.trim_matches([' ', '\t']);
            if member.is_empty() {
                continue;
            }
            let (key, value) = member.split_once('=')?;
            if !valid_key(key) || !valid_value(value) {
                return None;
            }
            // The first of duplicated keys is kept; the specification allows dropping the rest.
            if !members.iter().any(|(k, _)| *k == key) {
                members.push((key, value));
            }
        }
    }
    if members.len() > MAX_MEMBERS {
        return None;
    }
    let kept = members.into_iter().filter_map(|(key, value)| escape(key, value));
    TraceState::from_key_value(kept.collect::<Vec<_>>()).ok()
}

/// The header value of `state`, escaped members restored; empty when it has no members.
pub(crate) fn header(state: &TraceState) -> String {
    let mut header = String::new();
    for (key, value) in state {
        let Some((key, value)) = unescape(key, value) else { continue };
        if !header.is_empty() {
            header.push(',');
        }
        header.push_str(&key);
        header.push('=');
        header.push_str(value);
    }
    header
}

/// `( lcalpha / DIGIT ) 0*255( lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@" )`.
fn valid_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    let keychar = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-*/@".contains(b);
    matches!(bytes.first(), Some(b) if b.is_ascii_lowercase() || b.is_ascii_digit())
        && bytes.len() <= MAX_LEN
        && bytes.iter().all(keychar)
}

/// 1 to 256 printable ASCII characters but `,` and `=`, not ending in a space.
fn valid_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    (1..=MAX_LEN).contains(&bytes.len())
        && bytes.iter().all(|b| (0x20..=0x7e).contains(b) && *b != b',' && *b != b'=')
        && bytes.last() != Some(&b' ')
}

/// A valid member as `TraceState` keeps it: as it is when OpenTelemetry accepts its key,
/// escaped when not, `None` when the escaped value would be too long.
fn escape(key: &str, value: &str) -> Option<(String, String)> {
    if !key.contains('@') || TraceState::from_key_value([(key, value)]).is_ok() {
        return Some((key.to_owned(), value.to_owned()));
    }
    let mut escaped_value = String::with_capacity(value.len() + 8);
    escaped_value.push_str(value);
    escaped_value.push(ESCAPED);
    for (at, _) in key.match_indices('@') {
        escaped_value.push_str(&format!("{at:02x}"));
    }
    (escaped_value.len() <= MAX_LEN).then(|| (key.replace('@', "*"), escaped_value))
}

/// A member as it was received; `None` for a value no header may carry (one made through
/// OpenTelemetry's API with a control character that is not an escape of obs's).
fn unescape<'a>(key: &'a str, value: &'a str) -> Option<(std::borrow::Cow<'a, str>, &'a str)> {
    let Some((value, positions)) = value.split_once(ESCAPED) else {
        return valid_value(value).then_some((key.into(), value));
    };
    let mut key = key.as_bytes().to_vec();
    for pair in positions.as_bytes().chunks(2) {
        let at = std::str::from_utf8(pair).ok().and_then(|hex| usize::from_str_radix(hex, 16).ok())?;
        match key.get_mut(at) {
            Some(b) if *b == b'*' && pair.len() == 2 => *b = b'@',
            _ => return None,
        }
    }
    let key = String::from_utf8(key).ok()?;
    (valid_key(&key) && valid_value(value)).then_some((key.into(), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What obs sends on for these received headers, or `None` when it drops the list.
    fn passed_on(headers: &[&str]) -> Option<String> {
        parse(headers.iter().copied()).map(|state| header(&state))
    }

    #[test]
    fn lists_are_combined_in_order_and_checked_whole() {
        assert_eq!(passed_on(&["", "foo=1 , bar@vendor=2", "baz=3"]).unwrap(), "foo=1,bar@vendor=2,baz=3");
        assert_eq!(passed_on(&["foo="]), None, "an empty value");
        assert_eq!(passed_on(&["Foo=1"]), None, "an uppercase key");
        assert_eq!(passed_on(&["foo=a,b"]), None, "a member without =");
        assert_eq!(passed_on(&["foo=a\u{7f}"]), None, "a control character");
        assert_eq!(passed_on(&["foo=a b \t"]).unwrap(), "foo=a b", "spaces inside, optional whitespace around");
        let members: Vec<String> = (0..32).map(|i| format!("k{i}=v")).collect();
        assert_eq!(passed_on(&[members.join(",").as_str()]).unwrap(), members.join(","), "32 members");
        let members: Vec<String> = (0..33).map(|i| format!("k{i}=v")).collect();
        assert_eq!(passed_on(&[members.join(",").as_str()]), None, "33 members");
        assert_eq!(passed_on(&["", " "]), Some(String::new()));
    }

    /// The suite's `test_tracestate_duplicated_keys`: the list is inherited, duplicates kept or
    /// dropped (obs keeps the first); before, obs dropped the whole header.
    #[test]
    fn regression_duplicated_keys_keep_the_list_and_the_first_member() {
        assert_eq!(passed_on(&["foo=1,foo=1"]).unwrap(), "foo=1");
        assert_eq!(passed_on(&["foo=1,foo=2"]).unwrap(), "foo=1");
        assert_eq!(passed_on(&["foo=1", "foo=1"]).unwrap(), "foo=1");
        assert_eq!(passed_on(&["foo=1", "foo=2,bar=3"]).unwrap(), "foo=1,bar=3");
        let members: Vec<String> = (0..32).map(|i| format!("k{i}=v")).collect();
        let with_duplicate = format!("{},k0=w", members.join(","));
        assert_eq!(passed_on(&[with_duplicate.as_str()]).unwrap(), members.join(","), "32 distinct keys");
    }

    /// The suite's `test_tracestate_key_illegal_vendor_format` at its 2026 head: a key with `@`
    /// anywhere after its first character is inherited; OpenTelemetry's `TraceState` refuses
    /// these, which dropped the whole list.
    #[test]
    fn regression_keys_with_at_signs_after_the_first_character_are_inherited() {
        for list in ["foo@=1,bar=2", "foo@@bar=1,bar=2", "foo@bar@baz=1,bar=2", "t@vvvvvvvvvvvvvvv=1,foo=1"] {
            assert_eq!(passed_on(&[list]).as_deref(), Some(list), "{list}");
        }
        assert_eq!(passed_on(&["@foo=1,bar=2"]), None, "a key beginning with @");
        assert_eq!(passed_on(&["foo=1", "@=1"]), None, "a key that is only @");
    }

    /// The suite's `test_tracestate_key_length_limit`: keys of 256 characters, with or without
    /// `@`, are inherited; 257 characters invalidate the list.
    #[test]
    fn regression_keys_of_256_characters_with_at_signs_are_inherited() {
        for key in
            ["z".repeat(256), format!("{}@{}", "t".repeat(241), "v".repeat(14)), format!("{}@v", "t".repeat(242))]
        {
            let member = format!("{key}=1");
            assert_eq!(passed_on(&["foo=1", &member]).unwrap(), format!("foo=1,{member}"), "{}", key.len());
        }
        assert_eq!(passed_on(&["foo=1", &format!("{}=1", "z".repeat(257))]), None);
        assert_eq!(passed_on(&["foo=1", &format!("{}@{}=1", "t".repeat(241), "v".repeat(15))]), None);
    }

    #[test]
    fn an_escaped_member_keeps_its_place_and_real_stars_stay_stars() {
        let list = "a=1,x*y@z@w=2,b*c=3,d@e=4";
        assert_eq!(passed_on(&[list]).unwrap(), list);
        let state = parse([list]).unwrap();
        assert_eq!(state.get("d@e"), Some("4"), "a key OpenTelemetry accepts is kept as it is");
        assert_eq!(state.get("x*y*z*w"), Some("2\u{1}0305"), "the escaped form exported spans show");
    }

    #[test]
    fn an_escaped_member_that_would_be_too_long_is_dropped_alone() {
        let long = "v".repeat(255);
        assert_eq!(passed_on(&[&format!("a=1,x@@y={long},b=2")]).unwrap(), "a=1,b=2");
        let fits = "v".repeat(250);
        let member = format!("x@@y={fits}");
        assert_eq!(passed_on(&[&format!("a=1,{member}")]).unwrap(), format!("a=1,{member}"));
    }

    #[test]
    fn values_no_header_may_carry_are_not_sent() {
        let made = TraceState::from_key_value([("a", "1"), ("b", "x\u{1}zz"), ("c", "y\u{2}"), ("d", "ok")]).unwrap();
        assert_eq!(header(&made), "a=1,d=ok", "control characters that are not obs's escape");
        let wrong_place = TraceState::from_key_value([("ab", "1\u{1}00")]).unwrap();
        assert_eq!(header(&wrong_place), "", "an escape pointing at a character that is not *");
    }
}
