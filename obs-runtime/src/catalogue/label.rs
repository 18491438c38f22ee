//! Making dynamic label values survive the Prometheus exposition unchanged.
//!
//! metrics-exporter-prometheus escapes `\`, `"` and newlines lossily, so a value containing them
//! does not come back from a real Prometheus as the app meant it. obs normalises dynamic values
//! before they reach any recorder: those characters and every other control character become
//! `_`, and values are cut at 128 characters (on a character boundary).

/// The longest label value obs passes on, in characters.
pub const MAX_LABEL_CHARS: usize = 128;

/// `value` as obs records it.
///
/// ```
/// assert_eq!(obs_runtime::normalise_label(r#"say "hi"\now"#), "say _hi__now");
/// assert_eq!(obs_runtime::normalise_label("ok"), "ok");
/// ```
pub fn normalise_label(value: &str) -> String {
    if !needs_normalising(value) {
        return value.to_owned();
    }
    value.chars().take(MAX_LABEL_CHARS).map(|c| if c == '\\' || c == '"' || c.is_control() { '_' } else { c }).collect()
}

/// Whether [`normalise_label`] would change `value`; allocates nothing.
pub(crate) fn needs_normalising(value: &str) -> bool {
    value.len() > MAX_LABEL_CHARS && value.chars().nth(MAX_LABEL_CHARS).is_some()
        || value.chars().any(|c| c == '\\' || c == '"' || c.is_control())
}
