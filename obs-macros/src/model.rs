//! The typed model of one attribute. Keys are read in the order they were written, with one
//! `match` on what each key is; every error is spanned on the token that caused it and
//! collected, so one build reports all of an attribute's mistakes, left to right.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::spanned::Spanned;
use syn::{Expr, Ident, ItemFn, LitStr};

use crate::args::{Entry, Field, Value};
use crate::kind::{Default, KeyType, Kind, key_type};

pub(crate) struct Model {
    pub(crate) kind: &'static Kind,
    pub(crate) krate: TokenStream,
    pub(crate) span_name: Option<String>,
    pub(crate) fields: Vec<Field>,
    pub(crate) error_if: Option<syn::Path>,
    pub(crate) ok_if: Option<syn::Path>,
    /// The objective the call site serves.
    pub(crate) objective: Option<syn::Path>,
    /// Label keys' values, given or defaulted (a runtime default has none).
    strings: Vec<(&'static str, String)>,
    exprs: Vec<(&'static str, Expr)>,
}

impl Model {
    /// The value of a string key, given or defaulted.
    pub(crate) fn string(&self, key: &str) -> Option<&str> {
        self.strings.iter().find(|(k, _)| *k == key).map(|(_, v)| v.as_str())
    }

    /// The expression of an expression key.
    pub(crate) fn expr(&self, key: &str) -> Option<&Expr> {
        self.exprs.iter().find(|(k, _)| *k == key).map(|(_, e)| e)
    }

    /// Whether the call site is a job run whose wait or attempt is known: its parent says when
    /// it was enqueued, or its attribute names the attempt.
    pub(crate) fn job_run(&self) -> bool {
        self.kind.job_run && (self.expr("parent").is_some() || self.expr("attempt").is_some())
    }
}

/// Errors gathered while building the model; reported together.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn at(&mut self, span: Span, message: impl std::fmt::Display) {
        let error = syn::Error::new(span, message);
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    fn into_result(self) -> Result<(), syn::Error> {
        self.0.map_or(Ok(()), Err)
    }
}

/// Builds the model of `#[kind(entries)]` on `function`, or the errors that prevent it.
pub(crate) fn build(kind: &'static Kind, entries: Vec<Entry>, function: &ItemFn) -> Result<Model, syn::Error> {
    let mut errors = Errors::default();
    let mut model = Model {
        kind,
        krate: quote!(::obs_runtime),
        span_name: None,
        fields: Vec::new(),
        error_if: None,
        ok_if: None,
        objective: None,
        strings: Vec::new(),
        exprs: Vec::new(),
    };
    // Every key written, also one whose value was wrong: it is not reported missing too.
    let mut given: Vec<Ident> = Vec::new();
    for entry in entries {
        let key = entry.key.to_string();
        let Some(accepted) = kind.accepted().find(|k| *k == key) else {
            let hint = nearest_key(kind, &key).map(|k| format!(" (did you mean `{k}`?)")).unwrap_or_default();
            let valid: Vec<&str> = kind.accepted().collect();
            errors.at(
                entry.key.span(),
                format!("unknown key `{key}` for #[{}]{hint}; valid keys: {}", kind.attr, valid.join(", ")),
            );
            continue;
        };
        if given.iter().any(|k| *k == key) {
            errors.at(entry.key.span(), format!("duplicate key `{key}`: give it once"));
            continue;
        }
        given.push(entry.key.clone());
        let mut value = Reader { kind, key: accepted, span: entry.key.span(), errors: &mut errors };
        match key_type(accepted) {
            KeyType::Label => {
                if let Some(v) = value.label(entry.value) {
                    model.strings.push((accepted, v));
                }
            }
            KeyType::Expr => {
                if let Some(e) = value.expr(entry.value, &format!("{accepted} = job.{accepted}")) {
                    model.exprs.push((accepted, e));
                }
            }
            KeyType::SpanName => model.span_name = value.span_name(entry.value),
            KeyType::Fields => model.fields = value.fields(entry.value),
            KeyType::Predicate => {
                let path = value.predicate(entry.value);
                if accepted == "ok_if" { model.ok_if = path } else { model.error_if = path }
            }
            KeyType::Objective => model.objective = value.objective(entry.value),
            KeyType::Crate => {
                if let Some(path) = value.krate(entry.value) {
                    model.krate = path;
                }
            }
        }
    }

    if let Some(constness) = &function.sig.constness {
        errors.at(
            constness.span(),
            format!(
                "#[{}] cannot instrument a `const fn`: a const fn cannot read a clock or record metrics; \
                 remove `const` or the attribute",
                kind.attr
            ),
        );
    }
    let is_given = |key: &str| given.iter().any(|k| k == key);
    if let Some(max) = given.iter().find(|k| *k == "max_attempts")
        && !is_given("attempt")
    {
        errors.at(
            max.span(),
            format!(
                "#[{}] needs the attempt too, to tell the last one: add `attempt = job.attempt` next to \
                 `max_attempts`",
                kind.attr
            ),
        );
    }
    if let Some((key, example)) = kind.required
        && !is_given(key)
    {
        errors.at(Span::call_site(), format!("#[{}] needs the {key}: add `{key} = \"{example}\"`", kind.attr));
    }
    let fn_name = function.sig.ident.to_string();
    for (key, default) in kind.defaults {
        if is_given(key) {
            continue;
        }
        let value = match default {
            Default::Literal(value) => (*value).to_owned(),
            Default::FnName => fn_name.clone(),
            Default::Runtime => continue,
            Default::InferredOperation => match infer_operation(&fn_name) {
                Some(operation) => operation.to_owned(),
                None => {
                    errors.at(
                        function.sig.ident.span(),
                        format!(
                            "#[{}] cannot infer the SQL operation from the name `{fn_name}`: \
                             add `operation = \"SELECT\"` (or INSERT, UPDATE, DELETE, UPSERT), or start the name with \
                             find_/get_/list_/select_/count_/load_/fetch_ (SELECT), insert_/create_/add_ (INSERT), \
                             update_/set_/touch_ (UPDATE), delete_/remove_ (DELETE) or upsert_ (UPSERT)",
                            kind.attr
                        ),
                    );
                    continue;
                }
            },
        };
        model.strings.push((key, value));
    }
    errors.into_result()?;
    Ok(model)
}

/// Reads the value of one accepted key, reporting what is wrong with it.
struct Reader<'e> {
    kind: &'static Kind,
    key: &'static str,
    span: Span,
    errors: &'e mut Errors,
}

impl Reader<'_> {
    fn expr(&mut self, value: Value, example: &str) -> Option<Expr> {
        match value {
            Value::Expr(expr) => Some(expr),
            Value::Fields(_) | Value::Malformed => {
                let message = format!("expected `{} = …`, e.g. #[{}({example})]", self.key, self.kind.attr);
                self.errors.at(self.span, message);
                None
            }
        }
    }

    fn string(&mut self, value: Value) -> Option<LitStr> {
        let key = self.key;
        match self.expr(value, &format!("{key} = \"…\""))? {
            Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(lit), .. }) => Some(lit),
            other => {
                self.errors.at(other.span(), format!("expected a string literal for `{key}`, e.g. {key} = \"…\""));
                None
            }
        }
    }

    /// A string that becomes a metric label value or a span attribute: it must survive the
    /// Prometheus exposition unchanged, so only identifier-like characters are allowed.
    fn label(mut self, value: Value) -> Option<String> {
        let key = self.key;
        let lit = self.string(value)?;
        let value = lit.value();
        if value.is_empty() {
            self.errors.at(lit.span(), format!("`{key}` must not be empty"));
            return None;
        }
        if let Some(bad) = value.chars().find(|c| !(c.is_ascii_alphanumeric() || "_.:/-".contains(*c))) {
            let what = match bad {
                '"' => "a double quote".to_owned(),
                '\\' => "a backslash".to_owned(),
                ' ' => "a space".to_owned(),
                c if c.is_control() => format!("a control character ({c:?})"),
                c => format!("`{c}`"),
            };
            self.errors.at(
                lit.span(),
                format!(
                    "`{key}` = {value:?} contains {what}; label values may use only ASCII letters, digits and _ . : / -"
                ),
            );
            return None;
        }
        Some(value)
    }

    fn span_name(mut self, value: Value) -> Option<String> {
        let lit = self.string(value)?;
        let name = lit.value();
        if name.trim().is_empty() {
            self.errors.at(lit.span(), "`name` must not be empty: it is the span name");
            return None;
        }
        Some(name)
    }

    fn krate(mut self, value: Value) -> Option<TokenStream> {
        let lit = self.string(value)?;
        match lit.parse::<syn::Path>() {
            Ok(path) => Some(path.into_token_stream()),
            Err(_) => {
                self.errors.at(lit.span(), "`crate` must name a path to obs-runtime, e.g. crate = \"my_obs\"");
                None
            }
        }
    }

    fn predicate(mut self, value: Value) -> Option<syn::Path> {
        let example = format!("{} = my_module::is_failure", self.key);
        match self.expr(value, &example)? {
            Expr::Path(p) if p.qself.is_none() => Some(p.path),
            other => {
                let message =
                    format!("expected the path of a `fn(&Return) -> bool` for `{}`, e.g. {example}", self.key);
                self.errors.at(other.span(), message);
                None
            }
        }
    }

    fn objective(mut self, value: Value) -> Option<syn::Path> {
        let example = "objective = CHECKOUT";
        match self.expr(value, example)? {
            Expr::Path(p) if p.qself.is_none() => Some(p.path),
            other => {
                let message = "expected the path of a `const` obs_runtime::Objective for `objective`, e.g. \
                               objective = CHECKOUT after `const CHECKOUT: Objective = Objective::new(\"checkout\", 99.9);`";
                self.errors.at(other.span(), message);
                None
            }
        }
    }

    fn fields(self, value: Value) -> Vec<Field> {
        let Value::Fields(fields) = value else {
            self.errors.at(self.span, "write span fields as fields(key = value, …)");
            return Vec::new();
        };
        let own: Vec<&str> = self.kind.span_attributes().collect();
        for (i, field) in fields.iter().enumerate() {
            let name = field.name.as_str();
            if name.starts_with("otel.") {
                self.errors.at(field.name_span, format!("`{name}`: fields starting with `otel.` are reserved for obs"));
            } else if own.contains(&name) {
                self.errors.at(field.name_span, format!("`{name}` is set by #[{}] already", self.kind.attr));
            } else if fields[..i].iter().any(|f| f.name == name) {
                self.errors.at(field.name_span, format!("duplicate field `{name}`"));
            }
        }
        fields
    }
}

/// The valid key a typo most likely meant: at most two edits away.
fn nearest_key(kind: &Kind, typo: &str) -> Option<&'static str> {
    kind.accepted()
        .map(|key| (edit_distance(typo, key), key))
        .filter(|(distance, _)| *distance <= 2)
        .min()
        .map(|(_, key)| key)
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
