//! The typed model of one attribute: every key checked, every error spanned on the token that
//! caused it and collected, so one build reports all of an attribute's mistakes together.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::spanned::Spanned;
use syn::{Expr, ItemFn, LitStr};

use crate::args::{Entry, Field, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MacroKind {
    Db,
    Redis,
    Queue,
    Stellar,
    Traced,
    Ws,
}

const COMMON_KEYS: &[&str] = &["name", "fields", "error_if", "ok_if", "crate"];

impl MacroKind {
    pub(crate) fn attr_name(self) -> &'static str {
        match self {
            MacroKind::Db => "instrument_db",
            MacroKind::Redis => "instrument_redis",
            MacroKind::Queue => "queue_job",
            MacroKind::Stellar => "stellar_call",
            MacroKind::Traced => "traced",
            MacroKind::Ws => "ws_connection",
        }
    }

    fn own_keys(self) -> &'static [&'static str] {
        match self {
            MacroKind::Db => &["table", "operation", "system"],
            MacroKind::Redis => &["command"],
            MacroKind::Queue => &["queue", "job", "id", "parent", "system"],
            MacroKind::Stellar => &["operation", "network"],
            MacroKind::Traced => &[],
            // No span and no outcome: nothing but the runtime's path to configure.
            MacroKind::Ws => &["crate"],
        }
    }

    fn accepts(self, key: &str) -> bool {
        self.own_keys().contains(&key) || (self != MacroKind::Ws && COMMON_KEYS.contains(&key))
    }

    fn valid_keys(self) -> String {
        let mut keys: Vec<&str> = self.own_keys().to_vec();
        if self != MacroKind::Ws {
            keys.extend(COMMON_KEYS);
        }
        keys.join(", ")
    }

    /// The valid key a typo most likely meant: at most two edits away.
    fn nearest_key(self, typo: &str) -> Option<&'static str> {
        self.own_keys()
            .iter()
            .chain(if self == MacroKind::Ws { &[][..] } else { COMMON_KEYS })
            .map(|key| (edit_distance(typo, key), *key))
            .filter(|(distance, _)| *distance <= 2)
            .min()
            .map(|(_, key)| key)
    }

    /// The span attributes the expansion sets itself.
    pub(crate) fn span_attributes(self) -> &'static [&'static str] {
        match self {
            MacroKind::Db => &["db.system.name", "db.operation.name", "db.collection.name"],
            MacroKind::Redis => &["db.system.name", "db.operation.name"],
            MacroKind::Queue => {
                &["messaging.system", "messaging.destination.name", "messaging.operation.type", "job.id"]
            }
            MacroKind::Stellar => &["stellar.operation", "stellar.network"],
            MacroKind::Traced | MacroKind::Ws => &[],
        }
    }

    /// Whether the cargo feature of this subsystem is on; off, the macro returns the function
    /// unchanged.
    pub(crate) fn enabled(self) -> bool {
        match self {
            MacroKind::Db => cfg!(feature = "db"),
            MacroKind::Redis => cfg!(feature = "redis"),
            MacroKind::Queue => cfg!(feature = "queue"),
            MacroKind::Stellar => cfg!(feature = "stellar"),
            MacroKind::Ws => cfg!(feature = "ws"),
            MacroKind::Traced => true,
        }
    }
}

// Built once per attribute at compile time: the size of a variant does not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Specific {
    Db { operation: String, table: String, system: String },
    Redis { command: String },
    Queue { queue: String, job: String, system: String, id: Option<Expr>, parent: Option<Expr> },
    Stellar { operation: String, network: Option<String> },
    Traced,
    Ws,
}

pub(crate) struct Model {
    pub(crate) krate: TokenStream,
    pub(crate) span_name: Option<String>,
    pub(crate) fields: Vec<Field>,
    pub(crate) error_if: Option<syn::Path>,
    pub(crate) ok_if: Option<syn::Path>,
    pub(crate) specific: Specific,
}

/// Errors gathered while building the model; reported together.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn at(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push(syn::Error::new(span, message));
    }

    pub(crate) fn into_result(self) -> Result<(), syn::Error> {
        self.0.map_or(Ok(()), Err)
    }
}

/// Builds the model of `#[kind(entries)]` on `function`, or the errors that prevent it.
pub(crate) fn build(kind: MacroKind, entries: Vec<Entry>, function: &ItemFn) -> Result<Model, syn::Error> {
    let mut errors = Errors::default();
    let mut keys = Keys::gather(kind, entries, &mut errors);

    if let Some(constness) = &function.sig.constness {
        errors.at(
            constness.span(),
            format!("#[{}] cannot instrument a `const fn`: a const fn cannot read a clock or record metrics; remove `const` or the attribute", kind.attr_name()),
        );
    }

    let krate = match keys.string("crate", &mut errors) {
        Some(lit) => match lit.parse::<syn::Path>() {
            Ok(path) => path.into_token_stream(),
            Err(_) => {
                errors.at(lit.span(), "`crate` must name a path to obs-runtime, e.g. crate = \"my_obs\"");
                quote!(::obs_runtime)
            }
        },
        None => quote!(::obs_runtime),
    };
    let span_name = keys.string("name", &mut errors).and_then(|lit| {
        let name = lit.value();
        if name.trim().is_empty() {
            errors.at(lit.span(), "`name` must not be empty: it is the span name");
            None
        } else {
            Some(name)
        }
    });
    let error_if = keys.path("error_if", &mut errors);
    let ok_if = keys.path("ok_if", &mut errors);
    let fields = keys.fields(&mut errors);

    let fn_name = function.sig.ident.to_string();
    let specific = match kind {
        MacroKind::Db => {
            let table = keys.label("table", &mut errors);
            let system = keys.label("system", &mut errors).unwrap_or_else(|| "postgresql".to_owned());
            let operation = match keys.label("operation", &mut errors) {
                Some(operation) => Some(operation),
                None if keys.present("operation") => None,
                None => match infer_operation(&fn_name) {
                    Some(operation) => Some(operation.to_owned()),
                    None => {
                        errors.at(
                            function.sig.ident.span(),
                            format!(
                                "#[instrument_db] cannot infer the SQL operation from the name `{fn_name}`: \
                                 add `operation = \"SELECT\"` (or INSERT, UPDATE, DELETE, UPSERT), or start the name with \
                                 find_/get_/list_/select_/count_/load_/fetch_ (SELECT), insert_/create_/add_ (INSERT), \
                                 update_/set_/touch_ (UPDATE), delete_/remove_ (DELETE) or upsert_ (UPSERT)"
                            ),
                        );
                        None
                    }
                },
            };
            if table.is_none() && !keys.present("table") {
                errors.at(Span::call_site(), "#[instrument_db] needs the table: add `table = \"users\"`");
            }
            match (operation, table) {
                (Some(operation), Some(table)) => Some(Specific::Db { operation, table, system }),
                _ => None,
            }
        }
        MacroKind::Redis => {
            let command = keys.label("command", &mut errors);
            if command.is_none() && !keys.present("command") {
                errors.at(Span::call_site(), "#[instrument_redis] needs the command: add `command = \"get\"`");
            }
            command.map(|command| Specific::Redis { command })
        }
        MacroKind::Queue => {
            let queue = keys.label("queue", &mut errors);
            if queue.is_none() && !keys.present("queue") {
                errors.at(Span::call_site(), "#[queue_job] needs the queue: add `queue = \"sessionReminder\"`");
            }
            let job = keys.label("job", &mut errors).unwrap_or(fn_name);
            let system = keys.label("system", &mut errors).unwrap_or_else(|| "in_process".to_owned());
            let id = keys.expr("id", &mut errors);
            let parent = keys.expr("parent", &mut errors);
            queue.map(|queue| Specific::Queue { queue, job, system, id, parent })
        }
        MacroKind::Stellar => {
            let operation = keys.label("operation", &mut errors);
            if operation.is_none() && !keys.present("operation") {
                errors.at(Span::call_site(), "#[stellar_call] needs the operation: add `operation = \"loadAccount\"`");
            }
            let network = keys.label("network", &mut errors);
            operation.map(|operation| Specific::Stellar { operation, network })
        }
        MacroKind::Traced => Some(Specific::Traced),
        MacroKind::Ws => Some(Specific::Ws),
    };

    errors.into_result()?;
    let specific = specific.ok_or_else(|| syn::Error::new(Span::call_site(), "invalid attribute"))?;
    Ok(Model { krate, span_name, fields, error_if, ok_if, specific })
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The SQL operation a query function's name implies, per DESIGN §2.
pub(crate) fn infer_operation(fn_name: &str) -> Option<&'static str> {
    const PREFIXES: &[(&[&str], &str)] = &[
        (&["find_", "get_", "list_", "select_", "count_", "load_", "fetch_"], "SELECT"),
        (&["insert_", "create_", "add_"], "INSERT"),
        (&["update_", "set_", "touch_"], "UPDATE"),
        (&["delete_", "remove_"], "DELETE"),
        (&["upsert_"], "UPSERT"),
    ];
    PREFIXES
        .iter()
        .find(|(prefixes, _)| prefixes.iter().any(|p| fn_name.starts_with(p)))
        .map(|(_, operation)| *operation)
}

/// The attribute's entries by key, after unknown and duplicate keys were reported.
struct Keys {
    kind: MacroKind,
    entries: Vec<Entry>,
    /// Every key written, also after its entry was taken: a key with a bad value was given, so
    /// it is not also reported missing.
    given: Vec<String>,
}

impl Keys {
    fn gather(kind: MacroKind, entries: Vec<Entry>, errors: &mut Errors) -> Self {
        let mut kept: Vec<Entry> = Vec::new();
        for entry in entries {
            let key = entry.key.to_string();
            if !kind.accepts(&key) {
                let hint = kind.nearest_key(&key).map(|k| format!(" (did you mean `{k}`?)")).unwrap_or_default();
                errors.at(
                    entry.key.span(),
                    format!("unknown key `{key}` for #[{}]{hint}; valid keys: {}", kind.attr_name(), kind.valid_keys()),
                );
            } else if kept.iter().any(|e| e.key == key) {
                errors.at(entry.key.span(), format!("duplicate key `{key}`: give it once"));
            } else {
                kept.push(entry);
            }
        }
        let given = kept.iter().map(|e| e.key.to_string()).collect();
        Self { kind, entries: kept, given }
    }

    fn present(&self, key: &str) -> bool {
        self.given.iter().any(|k| k == key)
    }

    fn take(&mut self, key: &str) -> Option<Entry> {
        let index = self.entries.iter().position(|e| e.key == key)?;
        Some(self.entries.remove(index))
    }

    fn expr_of(&self, entry: Entry, errors: &mut Errors, example: &str) -> Option<Expr> {
        match entry.value {
            Value::Expr(expr) => Some(expr),
            Value::Fields(_) | Value::Malformed => {
                errors.at(
                    entry.key.span(),
                    format!("expected `{} = …`, e.g. #[{}({example})]", entry.key, self.kind.attr_name()),
                );
                None
            }
        }
    }

    fn string(&mut self, key: &str, errors: &mut Errors) -> Option<LitStr> {
        let entry = self.take(key)?;
        let example = format!("{key} = \"…\"");
        match self.expr_of(entry, errors, &example)? {
            Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(lit), .. }) => Some(lit),
            other => {
                errors.at(other.span(), format!("expected a string literal for `{key}`, e.g. {key} = \"…\""));
                None
            }
        }
    }

    /// A string that becomes a metric label value or a span attribute: it must survive the
    /// Prometheus exposition unchanged, so only identifier-like characters are allowed.
    fn label(&mut self, key: &str, errors: &mut Errors) -> Option<String> {
        let lit = self.string(key, errors)?;
        let value = lit.value();
        if value.is_empty() {
            errors.at(lit.span(), format!("`{key}` must not be empty"));
            return None;
        }
        if let Some(bad) = value.chars().find(|c| !(c.is_ascii_alphanumeric() || "_.:/-".contains(*c))) {
            let what = match bad {
                '"' => "a double quote".to_owned(),
                '\\' => "a backslash".to_owned(),
                ' ' => "a space".to_owned(),
                c if c.is_control() => format!("a control character ({:?})", c),
                c => format!("`{c}`"),
            };
            errors.at(
                lit.span(),
                format!(
                    "`{key}` = {value:?} contains {what}; label values may use only ASCII letters, digits and _ . : / -"
                ),
            );
            return None;
        }
        Some(value)
    }

    fn path(&mut self, key: &str, errors: &mut Errors) -> Option<syn::Path> {
        let entry = self.take(key)?;
        let example = format!("{key} = my_module::is_failure");
        match self.expr_of(entry, errors, &example)? {
            Expr::Path(p) if p.qself.is_none() => Some(p.path),
            other => {
                errors.at(
                    other.span(),
                    format!("expected the path of a `fn(&Return) -> bool` for `{key}`, e.g. {example}"),
                );
                None
            }
        }
    }

    fn expr(&mut self, key: &str, errors: &mut Errors) -> Option<Expr> {
        let entry = self.take(key)?;
        self.expr_of(entry, errors, &format!("{key} = job.{key}"))
    }

    fn fields(&mut self, errors: &mut Errors) -> Vec<Field> {
        let Some(entry) = self.take("fields") else {
            return Vec::new();
        };
        let fields = match entry.value {
            Value::Fields(fields) => fields,
            _ => {
                errors.at(entry.key.span(), "write span fields as fields(key = value, …)");
                return Vec::new();
            }
        };
        let mut seen: Vec<&str> = self.kind.span_attributes().to_vec();
        for field in &fields {
            if field.name.starts_with("otel.") {
                errors.at(
                    field.name_span,
                    format!("`{}`: fields starting with `otel.` are reserved for obs", field.name),
                );
            } else if self.kind.span_attributes().contains(&field.name.as_str()) {
                errors.at(field.name_span, format!("`{}` is set by #[{}] already", field.name, self.kind.attr_name()));
            } else if seen.contains(&field.name.as_str()) {
                errors.at(field.name_span, format!("duplicate field `{}`", field.name));
            }
            seen.push(&field.name);
        }
        fields
    }
}
