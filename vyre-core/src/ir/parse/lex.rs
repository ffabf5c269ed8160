//! The lexer of the text form.

use super::{err, ParseError};

/// A token. Numbers keep their text (with sign and suffix) until parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tok<'a> {
    Ident(&'a str),
    Num(&'a str),
    Punct(char),
    DotDot,
    Eof,
}

pub(super) fn describe(tok: Tok<'_>) -> String {
    match tok {
        Tok::Ident(s) | Tok::Num(s) => format!("`{}`", s.chars().take(40).collect::<String>()),
        Tok::Punct(c) => format!("`{c}`"),
        Tok::DotDot => "`..`".into(),
        Tok::Eof => "the end of the input".into(),
    }
}

/// The lexer: a position in the text. It is `Copy`, so peeking is lexing a copy.
#[derive(Clone, Copy)]
pub(super) struct Lexer<'a> {
    pub(super) src: &'a str,
    pub(super) pos: usize,
    pub(super) line: u32,
    pub(super) col: u32,
}

impl<'a> Lexer<'a> {
    fn cur(&self) -> Option<char> {
        self.src.get(self.pos..).and_then(|s| s.chars().next())
    }
    fn at(&self, k: usize) -> Option<char> {
        self.src.get(self.pos..).and_then(|s| s.chars().nth(k))
    }
    fn advance(&mut self) {
        if let Some(c) = self.cur() {
            self.pos += c.len_utf8();
            if c == '\n' {
                self.line = self.line.saturating_add(1);
                self.col = 1;
            } else {
                self.col = self.col.saturating_add(1);
            }
        }
    }
    pub(super) fn skip_space(&mut self) {
        loop {
            match self.cur() {
                Some(c) if c.is_whitespace() => self.advance(),
                Some('/') if self.at(1) == Some('/') => {
                    while !matches!(self.cur(), None | Some('\n')) {
                        self.advance();
                    }
                }
                _ => return,
            }
        }
    }
    pub(super) fn take_while(&mut self, f: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while self.cur().is_some_and(&f) {
            self.advance();
        }
        &self.src[start..self.pos]
    }
    /// The next token and its line and column.
    pub(super) fn next(&mut self) -> Result<(Tok<'a>, u32, u32), ParseError> {
        self.skip_space();
        let (line, col) = (self.line, self.col);
        let Some(c) = self.cur() else {
            return Ok((Tok::Eof, line, col));
        };
        let ident_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let tok = if c.is_ascii_alphabetic() || c == '_' {
            Tok::Ident(self.take_while(ident_char))
        } else if c.is_ascii_digit() || (c == '-' && self.at(1).is_some_and(|d| d.is_ascii_digit()))
        {
            let start = self.pos;
            self.advance();
            self.take_while(|c| c.is_ascii_digit());
            if self.cur() == Some('.') && self.at(1).is_some_and(|d| d.is_ascii_digit()) {
                self.advance();
                self.take_while(|c| c.is_ascii_digit());
            }
            let exp_digit = |k| self.at(k).is_some_and(|d: char| d.is_ascii_digit());
            if matches!(self.cur(), Some('e' | 'E'))
                && (exp_digit(1) || (matches!(self.at(1), Some('-' | '+')) && exp_digit(2)))
            {
                self.advance();
                self.advance();
                self.take_while(|c| c.is_ascii_digit());
            }
            self.take_while(ident_char);
            Tok::Num(&self.src[start..self.pos])
        } else if c == '.' && self.at(1) == Some('.') {
            self.advance();
            self.advance();
            Tok::DotDot
        } else if "{}()[]<>,:=@".contains(c) {
            self.advance();
            Tok::Punct(c)
        } else {
            return Err(err(line, col, format!("unexpected character `{}`", c.escape_debug()),
                "the text form uses identifiers, literals like `7u`, and the punctuation `{ } ( ) [ ] < > , : = @ ..`"));
        };
        Ok((tok, line, col))
    }
}
