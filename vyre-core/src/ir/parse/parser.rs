//! The parser's token helpers and declarations.

use super::lex::{describe, Lexer, Tok};
use super::{err, name_list, ParseError};
use crate::ir::types::{Access, BufferDecl, DataType};

pub(super) struct Parser<'a> {
    pub(super) lx: Lexer<'a>,
}

impl<'a> Parser<'a> {
    pub(super) fn new(src: &'a str) -> Self {
        Parser {
            lx: Lexer {
                src,
                pos: 0,
                line: 1,
                col: 1,
            },
        }
    }
    pub(super) fn bump(&mut self) -> Result<(Tok<'a>, u32, u32), ParseError> {
        self.lx.next()
    }
    pub(super) fn peek(&self) -> Result<(Tok<'a>, u32, u32), ParseError> {
        let mut l = self.lx;
        l.next()
    }
    /// The token after the next one.
    pub(super) fn peek2(&self) -> Result<Tok<'a>, ParseError> {
        let mut l = self.lx;
        l.next()?;
        Ok(l.next()?.0)
    }
    pub(super) fn peek_is_ident(&self, word: &str) -> Result<bool, ParseError> {
        Ok(self.peek()?.0 == Tok::Ident(word))
    }
    pub(super) fn expected(&self, what: &str, found: (Tok<'a>, u32, u32), fix: &str) -> ParseError {
        err(
            found.1,
            found.2,
            format!("expected {what}, found {}", describe(found.0)),
            fix,
        )
    }
    pub(super) fn keyword(&mut self, word: &str, fix: &str) -> Result<(), ParseError> {
        let t = self.bump()?;
        if t.0 == Tok::Ident(word) {
            Ok(())
        } else {
            Err(self.expected(&format!("`{word}`"), t, fix))
        }
    }
    pub(super) fn punct(&mut self, c: char, fix: &str) -> Result<(), ParseError> {
        let t = self.bump()?;
        if t.0 == Tok::Punct(c) {
            Ok(())
        } else {
            Err(self.expected(&format!("`{c}`"), t, fix))
        }
    }
    pub(super) fn ident_at(&mut self, what: &str) -> Result<(&'a str, u32, u32), ParseError> {
        match self.bump()? {
            (Tok::Ident(s), l, c) => Ok((s, l, c)),
            t => Err(self.expected(
                what,
                t,
                "names are identifiers: ASCII letters, digits and `_`, not starting with a digit",
            )),
        }
    }
    pub(super) fn ident(&mut self, what: &str) -> Result<String, ParseError> {
        Ok(self.ident_at(what)?.0.to_string())
    }
    /// A run of non-whitespace characters (program and payload names).
    pub(super) fn word(&mut self, what: &str) -> Result<String, ParseError> {
        self.lx.skip_space();
        let (line, col) = (self.lx.line, self.lx.col);
        let w = self.lx.take_while(|c| !c.is_whitespace());
        if w.is_empty() {
            return Err(err(
                line,
                col,
                format!("expected {what}, found the end of the input"),
                "write a name",
            ));
        }
        Ok(w.to_string())
    }
    /// A plain unsigned number without suffix (sizes, bindings, lengths).
    pub(super) fn number(&mut self, what: &str) -> Result<u32, ParseError> {
        let t = self.bump()?;
        match t.0 {
            Tok::Num(s) => s.parse::<u32>().map_err(|_| {
                err(
                    t.1,
                    t.2,
                    format!("{what} `{s}` is not a plain number from 0 to 4294967295"),
                    "write digits only, like `64`",
                )
            }),
            _ => Err(self.expected(what, t, "write a plain number like `64`")),
        }
    }
    /// `[w, w, ...]`: the words of a constant buffer or table.
    pub(super) fn words(&mut self) -> Result<Vec<u32>, ParseError> {
        self.punct('[', "write the words in brackets: `[1, 2, 3]`")?;
        let mut words = Vec::new();
        while self.peek()?.0 != Tok::Punct(']') {
            if !words.is_empty() {
                self.punct(',', "separate the words with commas")?;
            }
            words.push(self.number("a constant word")?);
        }
        self.punct(']', "close the words with `]`")?;
        Ok(words)
    }

    pub(super) fn end(&mut self) -> Result<(), ParseError> {
        let t = self.bump()?;
        if t.0 == Tok::Eof {
            Ok(())
        } else {
            Err(self.expected(
                "the end of the input",
                t,
                "remove what follows the closing `}`",
            ))
        }
    }

    pub(super) fn buffer_decl(&mut self) -> Result<BufferDecl, ParseError> {
        self.bump()?;
        let name = self.ident("the buffer name")?;
        self.punct(':', "write `buffer NAME: ACCESS TYPE[LEN] @BINDING`")?;
        let (a, l, c) = self.ident_at("the buffer access")?;
        let Some(access) = Access::from_name(a) else {
            return Err(err(
                l,
                c,
                format!("unknown buffer access `{a}`"),
                format!("use {}", name_list(Access::ALL, Access::name)),
            ));
        };
        let elem = self.data_type()?;
        self.punct(
            '[',
            "write the length in brackets after the element type: `u32[]` or `u32[16]`",
        )?;
        let mut len = None;
        if self.peek()?.0 != Tok::Punct(']') {
            len = Some(self.number("the buffer length")?);
        }
        self.punct(']', "close the length with `]`")?;
        let at = self.peek()?;
        let binding = if access.is_bound() {
            self.punct(
                '@',
                "host-visible and constant buffers have a binding, like `@0`",
            )?;
            self.number("the binding")?
        } else if at.0 == Tok::Punct('@') {
            return Err(err(
                at.1,
                at.2,
                "a workgroup buffer has no binding",
                "remove the `@N`",
            ));
        } else {
            u32::MAX
        };
        let mut data = Vec::new();
        if access == Access::Constant {
            self.punct('=', "a constant buffer ends with its words: `= [1, 2, 3]`")?;
            data = self.words()?;
        }
        Ok(BufferDecl {
            name,
            binding,
            elem,
            access,
            len,
            data,
        })
    }

    pub(super) fn data_type(&mut self) -> Result<DataType, ParseError> {
        let (t, l, c) = self.ident_at("a type")?;
        DataType::from_name(t).ok_or_else(|| {
            err(
                l,
                c,
                format!("unknown type `{t}`"),
                format!("use {}", name_list(DataType::ALL, DataType::name)),
            )
        })
    }
}
