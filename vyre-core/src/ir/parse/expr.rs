//! Expressions: literals, variables, loads, builtins and op calls.

use super::lex::Tok;
use super::parser::Parser;
use super::{err, name_list, ParseError, MAX_EXPR_DEPTH};
use crate::ir::expr::{AtomicOp, BinOp, Builtin, Expr, UnOp};
use crate::ir::types::Literal;

impl<'a> Parser<'a> {
    /// An expression at depth `depth` (a whole expression is at depth 1).
    pub(super) fn expr(&mut self, depth: u32) -> Result<Expr, ParseError> {
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
                Builtin::from_name(b).map(Expr::Builtin).ok_or_else(|| {
                    err(l, c, format!("unknown builtin `@{b}`"), format!("use {}", name_list(Builtin::ALL, |x| format!("@{}", x.name()))))
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

    pub(super) fn arg(&mut self, depth: u32, then: char) -> Result<Box<Expr>, ParseError> {
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
    pub(super) fn element(&mut self, depth: u32) -> Result<(String, Box<Expr>), ParseError> {
        let buffer = self.ident("a buffer element `BUFFER[INDEX]`")?;
        self.punct(
            '[',
            "the first argument is a buffer element `BUFFER[INDEX]`",
        )?;
        Ok((buffer, self.arg(depth, ']')?))
    }

    /// The arguments of call `name(` (the `(` is consumed).
    pub(super) fn call(
        &mut self,
        name: &str,
        at: (Tok<'a>, u32, u32),
        depth: u32,
    ) -> Result<Expr, ParseError> {
        if let Some(op) = UnOp::from_name(name) {
            return Ok(Expr::Unary {
                op,
                arg: self.arg(depth, ')')?,
            });
        }
        if let Some(op) = BinOp::from_name(name) {
            let lhs = self.arg(depth, ',')?;
            return Ok(Expr::Binary {
                op,
                lhs,
                rhs: self.arg(depth, ')')?,
            });
        }
        if let Some(op) = AtomicOp::from_name(name) {
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
