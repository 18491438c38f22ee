//! Just enough YAML for the generated configs: block maps and lists in the order given, every
//! string double-quoted with JSON's escapes (which YAML's double-quoted scalars accept), so no
//! value can change meaning (`on`, `1e3`, `:`, `#`).

/// A YAML value.
#[derive(Clone, Debug)]
pub(crate) enum Yaml {
    Str(String),
    /// A number or boolean, written as given.
    Plain(String),
    List(Vec<Yaml>),
    Map(Vec<(String, Yaml)>),
    /// A list item or map value with a comment line above it.
    Commented(String, Box<Yaml>),
}

pub(crate) fn s(text: impl Into<String>) -> Yaml {
    Yaml::Str(text.into())
}

pub(crate) fn plain(value: impl ToString) -> Yaml {
    Yaml::Plain(value.to_string())
}

pub(crate) fn map<const N: usize>(entries: [(&str, Yaml); N]) -> Yaml {
    Yaml::Map(entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

pub(crate) fn commented(comment: impl Into<String>, value: Yaml) -> Yaml {
    Yaml::Commented(comment.into(), Box::new(value))
}

pub(crate) fn list(items: impl IntoIterator<Item = Yaml>) -> Yaml {
    Yaml::List(items.into_iter().collect())
}

impl Yaml {
    /// Adds an entry to a map (no-op on other values).
    pub(crate) fn with(mut self, key: &str, value: Yaml) -> Self {
        if let Yaml::Map(entries) = &mut self {
            entries.push((key.to_owned(), value));
        }
        self
    }

    /// The document, with `header` lines as comments first.
    pub(crate) fn document(&self, header: &str) -> String {
        let mut out = String::new();
        for line in header.lines() {
            out.push_str(&format!("# {line}\n").replace("# \n", "#\n"));
        }
        self.write(&mut out, 0);
        out
    }

    fn scalar(&self) -> Option<String> {
        match self {
            Yaml::Str(text) => Some(serde_json::to_string(text).unwrap_or_default()),
            Yaml::Plain(text) => Some(text.clone()),
            Yaml::List(items) if items.is_empty() => Some("[]".to_owned()),
            Yaml::Map(entries) if entries.is_empty() => Some("{}".to_owned()),
            _ => None,
        }
    }

    /// Writes a map or list whose first line starts at the current position, indented `depth`.
    fn write(&self, out: &mut String, depth: usize) {
        let pad = "  ".repeat(depth);
        match self {
            Yaml::Map(entries) => {
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(&pad);
                    }
                    let key = if key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-') {
                        key.clone()
                    } else {
                        serde_json::to_string(key).unwrap_or_default()
                    };
                    match value.scalar() {
                        Some(scalar) => out.push_str(&format!("{key}: {scalar}\n")),
                        None => {
                            out.push_str(&format!("{key}:\n"));
                            let inner = match value {
                                // Lists sit at their key's indentation, as is customary.
                                Yaml::List(_) => depth,
                                _ => depth + 1,
                            };
                            out.push_str(&"  ".repeat(inner));
                            value.write(out, inner);
                        }
                    }
                }
            }
            Yaml::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(&pad);
                    }
                    let item = match item {
                        Yaml::Commented(comment, inner) => {
                            for line in comment.lines() {
                                out.push_str(&format!("# {line}\n{pad}"));
                            }
                            &**inner
                        }
                        item => item,
                    };
                    match item.scalar() {
                        Some(scalar) => out.push_str(&format!("- {scalar}\n")),
                        None => {
                            out.push_str("- ");
                            item.write(out, depth + 1);
                        }
                    }
                }
            }
            Yaml::Commented(_, inner) => inner.write(out, depth),
            scalar => out.push_str(&format!("{}\n", scalar.scalar().unwrap_or_default())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nests_maps_and_lists_and_quotes_every_string() {
        let doc = map([
            ("groups", list([map([("name", s("a: b")), ("rules", list([map([("expr", s("x{a=\"1\"} > 0"))])]))])])),
            ("empty", list([])),
            ("n", plain(3)),
        ]);
        assert_eq!(
            doc.document("generated"),
            "# generated\ngroups:\n- name: \"a: b\"\n  rules:\n  - expr: \"x{a=\\\"1\\\"} > 0\"\nempty: []\nn: 3\n"
        );
    }
}
