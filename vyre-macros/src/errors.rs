//! Collecting several spanned errors and reporting them all at once.

use proc_macro2::Span;
use std::fmt::Display;

/// Errors found so far, combined with [`syn::Error::combine`].
#[derive(Default)]
pub struct Errors {
    first: Option<syn::Error>,
}

impl Errors {
    /// Records an error at `span`.
    pub fn push(&mut self, span: Span, msg: impl Display) {
        let e = syn::Error::new(span, msg);
        match &mut self.first {
            Some(first) => first.combine(e),
            None => self.first = Some(e),
        }
    }

    /// Records an error covering all of `node` (first to last token).
    pub fn push_node(&mut self, node: &dyn quote::ToTokens, msg: impl Display) {
        let e = syn::Error::new_spanned(node, msg);
        match &mut self.first {
            Some(first) => first.combine(e),
            None => self.first = Some(e),
        }
    }

    /// Like [`Errors::unsupported`], covering all of `node`.
    pub fn unsupported_node(
        &mut self,
        node: &dyn quote::ToTokens,
        what: impl Display,
        fix: impl Display,
    ) {
        self.push_node(
            node,
            format!("vyre payloads do not support {what}\nFix: {fix}"),
        );
    }

    /// Records "vyre payloads do not support {what}. Fix: {fix}".
    pub fn unsupported(&mut self, span: Span, what: impl Display, fix: impl Display) {
        self.push(
            span,
            format!("vyre payloads do not support {what}\nFix: {fix}"),
        );
    }

    /// `Ok(())` or every error recorded.
    pub fn finish(self) -> syn::Result<()> {
        match self.first {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
