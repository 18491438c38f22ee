//! Parsing an attribute's arguments into `key = value` entries, before any key is interpreted.

use proc_macro2::TokenStream;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitStr, Token};

/// One `key = value` or `key(...)` entry, as written.
pub(crate) struct Entry {
    pub(crate) key: Ident,
    pub(crate) value: Value,
}

pub(crate) enum Value {
    /// `key = <expr>`: literals and paths are expressions too; the model decides what fits.
    Expr(Expr),
    /// `fields(a = x, b.c = %y)`.
    Fields(Vec<Field>),
    /// `key` alone, or `key(...)` for a key other than `fields`.
    Malformed,
}

/// One `fields(...)` entry: an attribute name, an optional `%` (Display) or `?` (Debug), a value.
pub(crate) struct Field {
    pub(crate) name: String,
    pub(crate) name_span: proc_macro2::Span,
    pub(crate) sigil: Option<proc_macro2::TokenTree>,
    pub(crate) value: Expr,
}

pub(crate) fn parse(args: TokenStream) -> syn::Result<Vec<Entry>> {
    Punctuated::<Entry, Token![,]>::parse_terminated.parse2(args).map(|p| p.into_iter().collect())
}

impl Parse for Entry {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key = Ident::parse_any(input)?;
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            Value::Expr(input.parse()?)
        } else if input.peek(syn::token::Paren) {
            let content;
            let parens = syn::parenthesized!(content in input);
            if key == "fields" {
                let fields = Punctuated::<Field, Token![,]>::parse_terminated(&content)?;
                Value::Fields(fields.into_iter().collect())
            } else {
                let _: TokenStream = content.parse()?;
                let _ = parens;
                Value::Malformed
            }
        } else {
            Value::Malformed
        };
        Ok(Entry { key, value })
    }
}

impl Parse for Field {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let (name, name_span) = if input.peek(LitStr) {
            let lit: LitStr = input.parse()?;
            (lit.value(), lit.span())
        } else {
            let first = Ident::parse_any(input)?;
            let span = first.span();
            let mut name = first.unraw().to_string();
            while input.peek(Token![.]) {
                input.parse::<Token![.]>()?;
                name.push('.');
                name.push_str(&Ident::parse_any(input)?.unraw().to_string());
            }
            (name, span)
        };
        input.parse::<Token![=]>()?;
        let sigil = if input.peek(Token![%]) || input.peek(Token![?]) { Some(input.parse()?) } else { None };
        let value = input.parse()?;
        Ok(Field { name, name_span, sigil, value })
    }
}
