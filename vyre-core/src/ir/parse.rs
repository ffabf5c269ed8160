//! The text form parser: reads exactly what `Display` writes for
//! [`Program`] (see the `display` module) and [`Payload`] (defined here).
//!
//! `parse_program(&p.to_string()) == Ok(p)` for every program whose names
//! print as themselves: the program name is a non-empty run of
//! non-whitespace characters, every other name is an identifier
//! (`[A-Za-z_][A-Za-z0-9_]*`) other than `true` and `false`. Two fields are
//! not part of the text form, so the parser fills in their canonical value:
//! the binding of a `workgroup` buffer (`u32::MAX`, as
//! [`BufferDecl::workgroup`] sets it) and the ignored value of
//! `atomic_load` (`0u`, as [`Expr::atomic_load`] sets it). VIR0 (`crate::vir0`) keeps
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
//! Parameter kinds are `bytes`, `scalar`, `output`, `accumulator`, `lanes`
//! and `chunk_start`; `[N]` gives a fixed length ([`Param::len`]).
//! `look_behind N` may be left out when it is 0.
//!
//! The parser never panics. Statements nest at most 64 levels and
//! expressions at most 64 levels (the validator's limits), so
//! hostile input cannot overflow the stack. Errors give `line:column`, what
//! was expected and a `Fix:`.

use std::fmt;

use super::display::nodes_to_text;
use super::display::WordList;
use super::expr::{AtomicOp, Expr};
use super::node::{Node, Program};
use super::payload::{Param, ParamKind, Payload, Table};
use super::types::{Access, BufferDecl, DataType, Literal};
// Every variant of each IR enum, shared with the VIR0 code tables.
use crate::vir0::codes::{ACCESSES, ATOMICS, BINOPS, BUILTINS, PARAM_KINDS, TYPES, UNOPS};

/// Deepest statement nesting the parser accepts (the validator's limit).
const MAX_NODE_DEPTH: u32 = crate::validate::Limits::DEFAULT.max_node_depth;
/// Deepest expression tree the parser accepts (the validator's limit).
const MAX_EXPR_DEPTH: u32 = crate::validate::Limits::DEFAULT.max_expr_depth;

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

/// The text name of a parameter kind (`bytes`, `accumulator`, ...).
fn kind_name(kind: ParamKind) -> &'static str {
    match kind {
        ParamKind::Bytes => "bytes",
        ParamKind::Scalar => "scalar",
        ParamKind::Output => "output",
        ParamKind::Accumulator => "accumulator",
        ParamKind::Lanes => "lanes",
        ParamKind::ChunkStart => "chunk_start",
        ParamKind::IoQueue => "io_queue",
        ParamKind::Debug => "debug",
    }
}

impl fmt::Display for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "payload {} look_behind {}", self.name, self.look_behind)?;
        for p in &self.params {
            write!(f, "param {}: {}", p.name, kind_name(p.kind))?;
            if let Some(n) = p.len {
                write!(f, "[{n}]")?;
            }
            writeln!(f)?;
        }
        for t in &self.tables {
            writeln!(f, "table {} = {}", t.name, WordList(&t.words))?;
        }
        writeln!(f, "{{")?;
        f.write_str(&nodes_to_text(&self.body, 1))?;
        writeln!(f, "}}")
    }
}

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
    let mut params = Vec::new();
    while p.peek_is_ident("param")? {
        p.bump()?;
        let name = p.ident("the parameter name")?;
        p.punct(':', "write `param NAME: KIND`")?;
        let (kind_word, line, column) = p.ident_at("the parameter kind")?;
        let Some(&kind) = PARAM_KINDS.iter().find(|k| kind_name(**k) == kind_word) else {
            return Err(err(
                line,
                column,
                format!("unknown parameter kind `{kind_word}`"),
                "use bytes, scalar, output, accumulator, lanes, chunk_start or io_queue",
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
        params.push(Param { name, kind, len });
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
    p.end()?;
    Ok(Payload {
        name,
        params,
        look_behind,
        body,
        tables,
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

/// A token. Numbers keep their text (with sign and suffix) until parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok<'a> {
    Ident(&'a str),
    Num(&'a str),
    Punct(char),
    DotDot,
    Eof,
}

fn describe(tok: Tok<'_>) -> String {
    match tok {
        Tok::Ident(s) | Tok::Num(s) => format!("`{}`", s.chars().take(40).collect::<String>()),
        Tok::Punct(c) => format!("`{c}`"),
        Tok::DotDot => "`..`".into(),
        Tok::Eof => "the end of the input".into(),
    }
}

/// The lexer: a position in the text. It is `Copy`, so peeking is lexing a copy.
#[derive(Clone, Copy)]
struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    line: u32,
    col: u32,
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
    fn skip_space(&mut self) {
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
    fn take_while(&mut self, f: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while self.cur().is_some_and(&f) {
            self.advance();
        }
        &self.src[start..self.pos]
    }
    /// The next token and its line and column.
    fn next(&mut self) -> Result<(Tok<'a>, u32, u32), ParseError> {
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

struct Parser<'a> {
    lx: Lexer<'a>,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        Parser {
            lx: Lexer {
                src,
                pos: 0,
                line: 1,
                col: 1,
            },
        }
    }
    fn bump(&mut self) -> Result<(Tok<'a>, u32, u32), ParseError> {
        self.lx.next()
    }
    fn peek(&self) -> Result<(Tok<'a>, u32, u32), ParseError> {
        let mut l = self.lx;
        l.next()
    }
    /// The token after the next one.
    fn peek2(&self) -> Result<Tok<'a>, ParseError> {
        let mut l = self.lx;
        l.next()?;
        Ok(l.next()?.0)
    }
    fn peek_is_ident(&self, word: &str) -> Result<bool, ParseError> {
        Ok(self.peek()?.0 == Tok::Ident(word))
    }
    fn expected(&self, what: &str, found: (Tok<'a>, u32, u32), fix: &str) -> ParseError {
        err(
            found.1,
            found.2,
            format!("expected {what}, found {}", describe(found.0)),
            fix,
        )
    }
    fn keyword(&mut self, word: &str, fix: &str) -> Result<(), ParseError> {
        let t = self.bump()?;
        if t.0 == Tok::Ident(word) {
            Ok(())
        } else {
            Err(self.expected(&format!("`{word}`"), t, fix))
        }
    }
    fn punct(&mut self, c: char, fix: &str) -> Result<(), ParseError> {
        let t = self.bump()?;
        if t.0 == Tok::Punct(c) {
            Ok(())
        } else {
            Err(self.expected(&format!("`{c}`"), t, fix))
        }
    }
    fn ident_at(&mut self, what: &str) -> Result<(&'a str, u32, u32), ParseError> {
        match self.bump()? {
            (Tok::Ident(s), l, c) => Ok((s, l, c)),
            t => Err(self.expected(
                what,
                t,
                "names are identifiers: ASCII letters, digits and `_`, not starting with a digit",
            )),
        }
    }
    fn ident(&mut self, what: &str) -> Result<String, ParseError> {
        Ok(self.ident_at(what)?.0.to_string())
    }
    /// A run of non-whitespace characters (program and payload names).
    fn word(&mut self, what: &str) -> Result<String, ParseError> {
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
    fn number(&mut self, what: &str) -> Result<u32, ParseError> {
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
    fn words(&mut self) -> Result<Vec<u32>, ParseError> {
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

    fn end(&mut self) -> Result<(), ParseError> {
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

    fn buffer_decl(&mut self) -> Result<BufferDecl, ParseError> {
        self.bump()?;
        let name = self.ident("the buffer name")?;
        self.punct(':', "write `buffer NAME: ACCESS TYPE[LEN] @BINDING`")?;
        let (a, l, c) = self.ident_at("the buffer access")?;
        let Some(&access) = ACCESSES.iter().find(|x| x.name() == a) else {
            return Err(err(
                l,
                c,
                format!("unknown buffer access `{a}`"),
                "use read, read_write, uniform, workgroup or constant",
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

    fn data_type(&mut self) -> Result<DataType, ParseError> {
        let (t, l, c) = self.ident_at("a type")?;
        TYPES
            .iter()
            .copied()
            .find(|x| x.name() == t)
            .ok_or_else(|| {
                err(
                    l,
                    c,
                    format!("unknown type `{t}`"),
                    "use u32, i32, f32 or bool",
                )
            })
    }

    /// `{ statements }`, whose statements are at nesting level `depth`.
    fn block(&mut self, depth: u32, what: &str) -> Result<Vec<Node>, ParseError> {
        let open = self.bump()?;
        if open.0 != Tok::Punct('{') {
            return Err(self.expected(
                &format!("`{{` to start {what}"),
                open,
                "put the statements between `{` and `}`",
            ));
        }
        let mut nodes = Vec::new();
        loop {
            let t = self.peek()?;
            match t.0 {
                Tok::Punct('}') => {
                    self.bump()?;
                    return Ok(nodes);
                }
                Tok::Eof => {
                    return Err(err(
                        t.1,
                        t.2,
                        format!("the `{{` at {}:{} is never closed", open.1, open.2),
                        "add the missing `}`",
                    ));
                }
                _ => nodes.push(self.stmt(depth)?),
            }
        }
    }

    fn stmt(&mut self, depth: u32) -> Result<Node, ParseError> {
        let t = self.peek()?;
        if depth > MAX_NODE_DEPTH {
            return Err(err(
                t.1,
                t.2,
                format!("statements nest more than {MAX_NODE_DEPTH} levels deep"),
                "flatten the nesting, e.g. move inner parts into separate loops or conditions",
            ));
        }
        if t.0 == Tok::Punct('{') {
            return Ok(Node::Block(self.block(depth + 1, "a block")?));
        }
        let Tok::Ident(word) = t.0 else {
            return Err(self.expected("a statement", t, "statements are let, assignments, stores, eval, if, for, loop, blocks, break, continue, barrier and return"));
        };
        match self.peek2()? {
            Tok::Punct('=') => {
                self.bump()?;
                self.bump()?;
                return Ok(Node::Assign {
                    name: word.to_string(),
                    value: self.expr(1)?,
                });
            }
            Tok::Punct('[') => {
                self.bump()?;
                self.bump()?;
                let index = self.expr(1)?;
                self.punct(']', "close the index with `]`")?;
                self.punct('=', "a store is `buffer[index] = value`")?;
                return Ok(Node::Store {
                    buffer: word.to_string(),
                    index,
                    value: self.expr(1)?,
                });
            }
            _ => {}
        }
        self.bump()?;
        Ok(match word {
            "let" => {
                let name = self.ident("the variable name")?;
                self.punct('=', "write `let NAME = VALUE`")?;
                Node::Let {
                    name,
                    value: self.expr(1)?,
                }
            }
            "eval" => Node::Eval(self.expr(1)?),
            "if" => {
                let cond = self.expr(1)?;
                let then = self.block(depth + 1, "the `if` body")?;
                let mut otherwise = Vec::new();
                // `else = v` / `else[i] = v` is the next statement, not an `else`.
                if self.peek_is_ident("else")? && !matches!(self.peek2()?, Tok::Punct('=' | '[')) {
                    self.bump()?;
                    otherwise = if self.peek_is_ident("if")? {
                        vec![self.stmt(depth + 1)?]
                    } else {
                        self.block(depth + 1, "the `else` body")?
                    };
                }
                Node::If {
                    cond,
                    then,
                    otherwise,
                }
            }
            "for" => {
                let var = self.ident("the loop variable")?;
                self.keyword("in", "write `for VAR in START..END { }`")?;
                let start = self.expr(1)?;
                let dd = self.bump()?;
                if dd.0 != Tok::DotDot {
                    return Err(self.expected("`..`", dd, "write `for VAR in START..END { }`"));
                }
                let end = self.expr(1)?;
                let mut step = Expr::u32(1);
                if self.peek_is_ident("step")? {
                    self.bump()?;
                    step = self.expr(1)?;
                }
                Node::For {
                    var,
                    start,
                    end,
                    step,
                    body: self.block(depth + 1, "the `for` body")?,
                }
            }
            "loop" => Node::Loop {
                body: self.block(depth + 1, "the `loop` body")?,
            },
            "break" => Node::Break,
            "continue" => Node::Continue,
            "barrier" => Node::Barrier,
            "return" => Node::Return,
            _ => {
                return Err(err(t.1, t.2, format!("expected a statement, found `{word}`"),
                    "start a statement with let, eval, if, for, loop, break, continue, barrier, return, `{`, or write `NAME = VALUE` / `BUFFER[INDEX] = VALUE`"));
            }
        })
    }

    /// An expression at depth `depth` (a whole expression is at depth 1).
    fn expr(&mut self, depth: u32) -> Result<Expr, ParseError> {
        let t = self.bump()?;
        if depth > MAX_EXPR_DEPTH {
            return Err(err(
                t.1,
                t.2,
                format!("expression nested more than {MAX_EXPR_DEPTH} levels deep"),
                "compute inner parts into `let` variables first",
            ));
        }
        match t.0 {
            Tok::Num(s) => literal(s, t.1, t.2).map(Expr::Lit),
            Tok::Punct('@') => {
                let (b, l, c) = self.ident_at("a builtin name after `@`")?;
                BUILTINS.iter().find(|x| x.name() == b).map(|&x| Expr::Builtin(x)).ok_or_else(|| {
                    err(l, c, format!("unknown builtin `@{b}`"), "use @global_id, @local_id, @workgroup_id, @num_workgroups or @workgroup_size")
                })
            }
            Tok::Ident(name) => match self.peek()?.0 {
                Tok::Punct('(') => {
                    self.bump()?;
                    self.call(name, t, depth)
                }
                Tok::Punct('[') => {
                    self.bump()?;
                    let index = self.expr(depth + 1)?;
                    self.punct(']', "close the index with `]`")?;
                    Ok(Expr::Load { buffer: name.to_string(), index: Box::new(index) })
                }
                Tok::Punct('<') if name == "cast" || name == "bitcast" => {
                    self.bump()?;
                    let to = self.data_type()?;
                    self.punct('>', "write `cast<TYPE>(VALUE)`")?;
                    self.punct('(', "write `cast<TYPE>(VALUE)`")?;
                    let arg = Box::new(self.expr(depth + 1)?);
                    self.punct(')', "close the call with `)`")?;
                    Ok(if name == "cast" { Expr::Cast { to, arg } } else { Expr::Bitcast { to, arg } })
                }
                _ if name == "true" => Ok(Expr::Lit(Literal::Bool(true))),
                _ if name == "false" => Ok(Expr::Lit(Literal::Bool(false))),
                _ => Ok(Expr::Var(name.to_string())),
            },
            _ => Err(self.expected("an expression", t, "write a literal (`7u`, `-3i`, `1.5f`, `true`), a variable, `buf[i]`, `@builtin` or an op call like `add(a, b)`")),
        }
    }

    fn arg(&mut self, depth: u32, then: char) -> Result<Box<Expr>, ParseError> {
        let e = self.expr(depth + 1)?;
        let fix = if then == ')' {
            "close the call with `)`"
        } else {
            "separate arguments with `,`"
        };
        self.punct(then, fix)?;
        Ok(Box::new(e))
    }

    /// `BUFFER[INDEX]`, the first argument of atomics and `uniform_load`.
    fn element(&mut self, depth: u32) -> Result<(String, Box<Expr>), ParseError> {
        let buffer = self.ident("a buffer element `BUFFER[INDEX]`")?;
        self.punct(
            '[',
            "the first argument is a buffer element `BUFFER[INDEX]`",
        )?;
        Ok((buffer, self.arg(depth, ']')?))
    }

    /// The arguments of call `name(` (the `(` is consumed).
    fn call(
        &mut self,
        name: &str,
        at: (Tok<'a>, u32, u32),
        depth: u32,
    ) -> Result<Expr, ParseError> {
        if let Some(&op) = UNOPS.iter().find(|o| o.name() == name) {
            return Ok(Expr::Unary {
                op,
                arg: self.arg(depth, ')')?,
            });
        }
        if let Some(&op) = BINOPS.iter().find(|o| o.name() == name) {
            let lhs = self.arg(depth, ',')?;
            return Ok(Expr::Binary {
                op,
                lhs,
                rhs: self.arg(depth, ')')?,
            });
        }
        if let Some(&op) = ATOMICS.iter().find(|o| o.name() == name) {
            let (buffer, index) = self.element(depth)?;
            if op == AtomicOp::Load {
                self.punct(
                    ')',
                    "`atomic_load` takes only the element: `atomic_load(BUFFER[INDEX])`",
                )?;
                return Ok(Expr::Atomic {
                    op,
                    buffer,
                    index,
                    value: Box::new(Expr::u32(0)),
                    expected: None,
                });
            }
            self.punct(
                ',',
                "write the value after the element: `atomic_add(BUFFER[INDEX], VALUE)`",
            )?;
            let first = Box::new(self.expr(depth + 1)?);
            let t = self.bump()?;
            return match t.0 {
                Tok::Punct(')') => Ok(Expr::Atomic {
                    op,
                    buffer,
                    index,
                    value: first,
                    expected: None,
                }),
                Tok::Punct(',') => {
                    let value = self.arg(depth, ')')?;
                    Ok(Expr::Atomic {
                        op,
                        buffer,
                        index,
                        value,
                        expected: Some(first),
                    })
                }
                _ => Err(self.expected("`,` or `)`", t, "close the call with `)`")),
            };
        }
        match name {
            "select" => {
                let cond = self.arg(depth, ',')?;
                let on_true = self.arg(depth, ',')?;
                Ok(Expr::Select { cond, on_true, on_false: self.arg(depth, ')')? })
            }
            "len" => {
                let b = self.ident("a buffer name")?;
                self.punct(')', "`len` takes one buffer name: `len(BUFFER)`")?;
                Ok(Expr::Len(b))
            }
            "uniform_load" => {
                let (buffer, index) = self.element(depth)?;
                self.punct(')', "close the call with `)`")?;
                Ok(Expr::UniformLoad { buffer, index })
            }
            "f32bits" => {
                let t = self.bump()?;
                let bits = match t.0 {
                    Tok::Num(s) => s.strip_prefix("0x").and_then(|h| u32::from_str_radix(h, 16).ok()),
                    _ => None,
                };
                let Some(bits) = bits else {
                    return Err(self.expected("8 hex digits like `0x7fc00000`", t, "write the f32 bits as `f32bits(0x7fc00000)`"));
                };
                self.punct(')', "close the call with `)`")?;
                Ok(Expr::Lit(Literal::F32(bits)))
            }
            _ => Err(err(at.1, at.2, format!("unknown operation `{name}`"),
                "use an op such as add, sub, lt, select, len, cast<T>, atomic_add, uniform_load (see vyre_core::ir)")),
        }
    }
}

/// A typed literal: `7u`, `-3i`, `1.5f`, `1e-40f`.
fn literal(s: &str, line: u32, col: u32) -> Result<Literal, ParseError> {
    let bad = |what: &str, fix: &str| err(line, col, format!("`{s}` {what}"), fix);
    let (body, suffix) = s.split_at(s.len().saturating_sub(1));
    let plain = |b: &str| {
        !b.is_empty()
            && b.trim_start_matches('-')
                .bytes()
                .all(|c| c.is_ascii_digit())
    };
    match suffix {
        "u" if plain(body) && !body.starts_with('-') => body
            .parse()
            .map(Literal::U32)
            .map_err(|_| bad("does not fit in u32", "use a value from 0u to 4294967295u")),
        "i" if plain(body) => body.parse().map(Literal::I32).map_err(|_| {
            bad(
                "does not fit in i32",
                "use a value from -2147483648i to 2147483647i",
            )
        }),
        "f" if !body.is_empty() && !body.contains(['x', 'X']) => match body.parse::<f32>() {
            Ok(v) if v.is_finite() => Ok(Literal::F32(v.to_bits())),
            _ => Err(bad(
                "is not a finite f32",
                "write a finite float like `1.5f`, or the bits as `f32bits(0x7f800000)`",
            )),
        },
        _ => Err(bad(
            "is not a literal",
            "literals carry their type: `7u`, `-3i`, `1.5f` (sizes and bindings are plain numbers)",
        )),
    }
}
