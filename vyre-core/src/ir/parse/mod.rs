//! The text form parser: reads exactly what `Display` writes for
//! [`Program`] and [`Payload`] (see the `display` module).
//!
//! `parse_program(&p.to_string()) == Ok(p)` for every program whose names
//! print as themselves: the program name is a non-empty run of
//! non-whitespace characters, every other name is an identifier
//! (`[A-Za-z_][A-Za-z0-9_]*`) other than `true` and `false`. Two fields are
//! not part of the text form, so the parser fills in their canonical value:
//! the binding of a `workgroup` buffer (`u32::MAX`, as
//! [`BufferDecl::workgroup`] sets it) and the ignored value of
//! `atomic_load` (`0u`, as [`Expr::atomic_load`] sets it). VIR0 (the `vir0` module) keeps
//! both.
//!
//! Besides what `Display` writes, the parser accepts `//` line comments,
//! free whitespace, `else if` (an `else` block holding one `if`) and
//! `f32bits(0x...)` for any `f32`.
//!
//! # Payload text form
//! ```text
//! payload count_zero_bytes look_behind 0
//! param data: bytes
//! param acc: accumulator[1]
//! param lanes: lanes
//! {
//!   ...
//! }
//! ```
//! Parameter kinds are the names of [`ParamKind::ALL`] (`bytes`, `scalar`,
//! `output`, `accumulator`, `lanes`, `chunk_start`, `chunk_offset`,
//! `file_len`, `chunk_index`, ...); `[N]` gives a fixed length
//! ([`Param::len`]) and `reduce OP` after it a reduction other than sum
//! (`param best: accumulator[1] reduce max`, [`Param::reduce`]).
//! `look_behind N` may be left out when it is 0. A combine follows the
//! payload's body: `combine NAME identity [w0, w1, ...]`, then its
//! parameters (`left: words`, `right: words`, `out: output[N]`), tables and
//! body, like a payload's ([`Payload::combine`]).
//!
//! The parser never panics. Statements nest at most 64 levels and
//! expressions at most 64 levels (the validator's limits), so
//! hostile input cannot overflow the stack. Errors give `line:column`, what
//! was expected and a `Fix:`.

mod expr;
mod lex;
mod parser;
mod stmt;

use std::fmt;

use self::lex::Tok;
use self::parser::Parser;
use super::node::Program;
use super::payload::{Combine, Param, ParamKind, Payload, Reduce, Table};
use super::table::name_list;
use super::{MAX_EXPR_DEPTH, MAX_NODE_DEPTH};

/// A text form that could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line of the problem.
    pub line: u32,
    /// 1-based column (in characters) of the problem.
    pub column: u32,
    /// What was expected and what was found.
    pub message: String,
    /// What to do about it.
    pub fix: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}. Fix: {}",
            self.line, self.column, self.message, self.fix
        )
    }
}

impl std::error::Error for ParseError {}

/// Parses the text form of a program (what `program.to_string()` gives).
pub fn parse_program(text: &str) -> Result<Program, ParseError> {
    let mut p = Parser::new(text);
    p.keyword(
        "program",
        "a program starts with `program NAME workgroup_size N`",
    )?;
    let name = p.word("the program name")?;
    p.keyword(
        "workgroup_size",
        "write `workgroup_size N` after the program name",
    )?;
    let workgroup_size = p.number("the workgroup size")?;
    let mut buffers = Vec::new();
    while p.peek_is_ident("buffer")? {
        buffers.push(p.buffer_decl()?);
    }
    let body = p.block(1, "the program body (or `buffer` declarations)")?;
    p.end()?;
    Ok(Program {
        name,
        buffers,
        workgroup_size,
        body,
    })
}

/// Parses the text form of a payload (what `payload.to_string()` gives).
pub fn parse_payload(text: &str) -> Result<Payload, ParseError> {
    let mut p = Parser::new(text);
    p.keyword(
        "payload",
        "a payload starts with `payload NAME look_behind N`",
    )?;
    let name = p.word("the payload name")?;
    let mut look_behind = 0;
    if p.peek_is_ident("look_behind")? {
        p.bump()?;
        look_behind = p.number("the look-behind in bytes")?;
    }
    let mut payload = payload_rest(&mut p, name, look_behind)?;
    if p.peek_is_ident("combine")? {
        p.bump()?;
        let name = p.word("the combine function's name")?;
        p.keyword(
            "identity",
            "write `combine NAME identity [w0, w1, ...]` (the summary of no bytes)",
        )?;
        let identity = p.words()?;
        let func = payload_rest(&mut p, name, 0)?;
        payload.combine = Some(Box::new(Combine {
            identity,
            func,
            native: None,
        }));
    }
    p.end()?;
    Ok(payload)
}

/// A payload's (or combine function's) parameters, tables and body.
fn payload_rest(p: &mut Parser<'_>, name: String, look_behind: u32) -> Result<Payload, ParseError> {
    let mut params = Vec::new();
    while p.peek_is_ident("param")? {
        p.bump()?;
        let name = p.ident("the parameter name")?;
        p.punct(':', "write `param NAME: KIND`")?;
        let (kind_word, line, column) = p.ident_at("the parameter kind")?;
        let Some(kind) = ParamKind::from_name(kind_word) else {
            return Err(err(
                line,
                column,
                format!("unknown parameter kind `{kind_word}`"),
                format!("use {}", name_list(ParamKind::ALL, ParamKind::name)),
            ));
        };
        let mut len = None;
        if p.peek()?.0 == Tok::Punct('[') {
            p.bump()?;
            if p.peek()?.0 != Tok::Punct(']') {
                len = Some(p.number("the parameter length in words")?);
            }
            p.punct(']', "close the length with `]`")?;
        }
        let mut reduce = Reduce::Sum;
        if p.peek_is_ident("reduce")? {
            p.bump()?;
            let (word, line, column) = p.ident_at("the reduction")?;
            reduce = Reduce::from_name(word).ok_or_else(|| {
                err(
                    line,
                    column,
                    format!("unknown reduction `{word}`"),
                    format!("use {}", name_list(Reduce::ALL, Reduce::name)),
                )
            })?;
        }
        params.push(Param {
            name,
            kind,
            len,
            reduce,
        });
    }
    let mut tables = Vec::new();
    while p.peek_is_ident("table")? {
        p.bump()?;
        let name = p.ident("the table name")?;
        p.punct('=', "write `table NAME = [1, 2, 3]`")?;
        let words = p.words()?;
        tables.push(Table { name, words });
    }
    let body = p.block(1, "the payload body (or `param` / `table` declarations)")?;
    Ok(Payload {
        name,
        params,
        look_behind,
        body,
        tables,
        combine: None,
        native: Default::default(),
    })
}

fn err(line: u32, column: u32, message: impl Into<String>, fix: impl Into<String>) -> ParseError {
    ParseError {
        line,
        column,
        message: message.into(),
        fix: fix.into(),
    }
}
