//! `#[derive(BoundedKind)]`: an error enum names its kind by its variant, for `error.type`.
//!
//! Parse → model → expand, like the attributes: the container's and each variant's `#[obs(..)]`
//! become a [`Variant`] list, every mistake is gathered as a spanned error, and on error the
//! impl is still emitted (with a placeholder kind) so that uses of the trait keep resolving.
//!
//! | where | accepts |
//! |---|---|
//! | the enum | `#[obs(crate = path)]`: where obs-runtime is, when it is renamed or re-exported |
//! | a variant | `#[obs(kind = "snake_case")]`, or `#[obs(transparent)]` on a variant with one field whose type implements `BoundedKind` |

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Fields, LitStr, Path};

/// The whole derive.
pub(crate) fn bounded_kind(input: TokenStream) -> TokenStream {
    let input = match syn::parse2::<DeriveInput>(input) {
        Ok(input) => input,
        Err(error) => return error.to_compile_error(),
    };
    let mut errors = Errors::default();
    let model = build(&input, &mut errors);
    let expanded = expand(&input, &model);
    let errors = errors.into_compile_error();
    quote!(#expanded #errors)
}

/// Every mistake of one derive, reported together.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    fn into_compile_error(self) -> TokenStream {
        self.0.map(|e| e.to_compile_error()).unwrap_or_default()
    }
}

struct Model {
    krate: TokenStream,
    variants: Vec<Variant>,
}

struct Variant {
    ident: syn::Ident,
    fields: Pattern,
    kind: Kind,
}

/// How a variant's fields are matched.
enum Pattern {
    Unit,
    Tuple,
    /// Named fields; the first one's name, for `transparent`.
    Struct(Option<syn::Ident>),
}

enum Kind {
    /// A fixed name.
    Named(String),
    /// The kind of the variant's only field.
    Transparent,
}

fn build(input: &DeriveInput, errors: &mut Errors) -> Model {
    let mut krate = quote!(::obs_runtime);
    for entry in obs_entries(&input.attrs, errors) {
        match entry.key.as_str() {
            // As a string, like the attributes' `crate = "…"` and serde's; a bare path works too.
            "crate" => {
                match &entry.value {
                    Some(Value::Path(path)) => krate = path.into_token_stream(),
                    Some(Value::Str(text)) => match text.parse::<Path>() {
                        Ok(path) => krate = path.into_token_stream(),
                        Err(_) => errors
                            .push(syn::Error::new(text.span(), "`crate` takes a path: `#[obs(crate = \"my::obs\")]`")),
                    },
                    None => errors
                        .push(syn::Error::new(entry.key_span, "`crate` takes a path: `#[obs(crate = \"my::obs\")]`")),
                }
            }
            other => errors.push(syn::Error::new(
                entry.key_span,
                format!("unknown key `{other}` on the enum for #[derive(BoundedKind)]; valid keys: crate"),
            )),
        }
    }
    let Data::Enum(data) = &input.data else {
        let what = if matches!(input.data, Data::Struct(_)) { "a struct" } else { "a union" };
        errors.push(syn::Error::new(
            input.ident.span(),
            format!(
                "#[derive(BoundedKind)] needs an enum, one kind per variant; for {what}, implement `BoundedKind` by hand"
            ),
        ));
        return Model { krate, variants: Vec::new() };
    };
    let variants = data.variants.iter().map(|variant| build_variant(variant, errors)).collect();
    Model { krate, variants }
}

fn build_variant(variant: &syn::Variant, errors: &mut Errors) -> Variant {
    let fields = match &variant.fields {
        Fields::Unit => Pattern::Unit,
        Fields::Unnamed(_) => Pattern::Tuple,
        Fields::Named(named) => Pattern::Struct(named.named.first().and_then(|f| f.ident.clone())),
    };
    let mut kind = None;
    for entry in obs_entries(&variant.attrs, errors) {
        let chosen = match (entry.key.as_str(), &entry.value) {
            ("kind", Some(Value::Str(value))) => match check_kind(&value.value()) {
                Ok(()) => Some(Kind::Named(value.value())),
                Err(message) => {
                    errors.push(syn::Error::new(value.span(), message));
                    None
                }
            },
            ("kind", _) => {
                errors.push(syn::Error::new(entry.key_span, "`kind` takes a string: `#[obs(kind = \"timeout\")]`"));
                None
            }
            ("transparent", None) if variant.fields.len() == 1 => Some(Kind::Transparent),
            ("transparent", None) => {
                errors.push(syn::Error::new(
                    entry.key_span,
                    "#[obs(transparent)] needs a variant with exactly one field, whose type implements `BoundedKind`",
                ));
                None
            }
            ("transparent", Some(value)) => {
                errors.push(syn::Error::new(value.span(), "`transparent` takes no value: `#[obs(transparent)]`"));
                None
            }
            (other, _) => {
                errors.push(syn::Error::new(
                    entry.key_span,
                    format!(
                        "unknown key `{other}` on a variant for #[derive(BoundedKind)]; valid keys: kind, transparent"
                    ),
                ));
                None
            }
        };
        if let Some(chosen) = chosen {
            if kind.is_some() {
                errors.push(syn::Error::new(
                    entry.key_span,
                    "a variant takes one of `kind = \"…\"` and `transparent`, once",
                ));
            }
            kind = Some(chosen);
        }
    }
    let kind = kind.unwrap_or_else(|| Kind::Named(snake_case(&variant.ident.to_string())));
    Variant { ident: variant.ident.clone(), fields, kind }
}

/// A kind is a bounded, stable label value: what OpenTelemetry's `error.type` examples look like.
fn check_kind(kind: &str) -> Result<(), String> {
    let valid = !kind.is_empty()
        && kind.len() <= 64
        && kind.starts_with(|c: char| c.is_ascii_lowercase())
        && kind.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "kind {kind:?} is not a bounded name: use lowercase letters, digits and `_`, starting with a letter, at most 64 characters, like \"timeout\" or \"not_found\""
        ))
    }
}

/// `NotFound` → `not_found`, `HTTPError` → `http_error`, `Io2` → `io2`.
fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let after_lower = i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let ends_acronym =
                i > 0 && chars[i - 1].is_uppercase() && chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if after_lower || ends_acronym {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(*c);
        }
    }
    out
}

/// One `key` or `key = "value"` inside `#[obs(...)]`.
struct Entry {
    key: String,
    key_span: Span,
    value: Option<Value>,
}

/// What follows `=`: a string, or a path (for `crate`).
enum Value {
    Str(LitStr),
    Path(Path),
}

impl Value {
    fn span(&self) -> Span {
        match self {
            Value::Str(s) => s.span(),
            Value::Path(p) => p.span(),
        }
    }
}

fn obs_entries(attrs: &[Attribute], errors: &mut Errors) -> Vec<Entry> {
    let mut entries = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("obs")) {
        let parsed = attr.parse_nested_meta(|meta| {
            let key =
                meta.path.get_ident().map_or_else(|| meta.path.to_token_stream().to_string(), ToString::to_string);
            let value = if meta.input.peek(syn::Token![=]) {
                let input = meta.value()?;
                Some(if input.peek(LitStr) { Value::Str(input.parse()?) } else { Value::Path(input.parse()?) })
            } else {
                None
            };
            entries.push(Entry { key, key_span: meta.path.span(), value });
            Ok(())
        });
        if let Err(error) = parsed {
            errors.push(error);
        }
    }
    entries
}

fn expand(input: &DeriveInput, model: &Model) -> TokenStream {
    let krate = &model.krate;
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let arms = model.variants.iter().map(|variant| {
        let name = &variant.ident;
        match (&variant.kind, &variant.fields) {
            (Kind::Transparent, Pattern::Tuple) => {
                quote!(Self::#name(__obs_inner) => #krate::BoundedKind::kind(__obs_inner),)
            }
            (Kind::Transparent, Pattern::Struct(Some(field))) => {
                quote!(Self::#name { #field: __obs_inner } => #krate::BoundedKind::kind(__obs_inner),)
            }
            // Not reachable: the model accepts `transparent` only with exactly one field.
            (Kind::Transparent, _) => quote!(Self::#name { .. } => "other",),
            (Kind::Named(kind), Pattern::Unit) => quote!(Self::#name => #kind,),
            (Kind::Named(kind), Pattern::Tuple) => quote!(Self::#name(..) => #kind,),
            (Kind::Named(kind), Pattern::Struct(_)) => quote!(Self::#name { .. } => #kind,),
        }
    });
    let body = if model.variants.is_empty() {
        // An empty enum has no values (or the input was not an enum, already reported).
        quote!("other")
    } else {
        quote!(match self { #(#arms)* })
    };
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::BoundedKind for #ident #ty_generics #where_clause {
            fn kind(&self) -> &'static str {
                #body
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_splits_words_and_acronyms() {
        for (name, snake) in [("NotFound", "not_found"), ("HTTPError", "http_error"), ("Io", "io"), ("Io2", "io2")] {
            assert_eq!(snake_case(name), snake);
        }
        assert!(check_kind("not_found").is_ok());
        assert!(check_kind("Not found").is_err());
        assert!(check_kind("").is_err());
    }
}
