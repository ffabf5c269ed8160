//! Statements: blocks, `let`, assignments, stores, `if`, `for`, `loop`, ...

use super::lex::Tok;
use super::parser::Parser;
use super::{err, ParseError, MAX_NODE_DEPTH};
use crate::ir::expr::Expr;
use crate::ir::node::Node;

impl Parser<'_> {
    /// `{ statements }`, whose statements are at nesting level `depth`.
    pub(super) fn block(&mut self, depth: u32, what: &str) -> Result<Vec<Node>, ParseError> {
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

    pub(super) fn stmt(&mut self, depth: u32) -> Result<Node, ParseError> {
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
}
