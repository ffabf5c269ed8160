//! The body of a module: statements and expressions, with the depth,
//! count and allocation checks of the decoder.

use super::{Decoder, EXPR_COST, NODE_COST, R};
use crate::ir::{AtomicOp, BinOp, Builtin, DataType, Expr, Literal, Node, UnOp};
use crate::vir0::codes::{expr as op, node as nop};
use crate::vir0::{MAX_EXPRS, MAX_EXPR_DEPTH, MAX_NODES, MAX_NODE_DEPTH};

impl Decoder<'_> {
    fn block(&mut self, depth: u32) -> R<Vec<Node>> {
        let n = self.count("statement count of a block", MAX_NODES, 1)?;
        self.charge(self.pos, n.saturating_mul(NODE_COST))?;
        let mut nodes = Vec::with_capacity(n);
        for _ in 0..n {
            nodes.push(self.node(depth)?);
        }
        Ok(nodes)
    }

    fn node(&mut self, depth: u32) -> R<Node> {
        let at = self.pos;
        if depth > MAX_NODE_DEPTH {
            return self.fail(
                at,
                format!("statements nest more than {MAX_NODE_DEPTH} levels deep"),
            );
        }
        self.nodes += 1;
        if self.nodes > self.max_nodes {
            return self.fail(
                at,
                format!(
                    "more statements than the {} the body section declares",
                    self.max_nodes
                ),
            );
        }
        let d = depth + 1;
        Ok(match self.u8("a statement")? {
            nop::LET => Node::Let {
                name: self.name("let name")?,
                value: self.expr(1)?,
            },
            nop::ASSIGN => Node::Assign {
                name: self.name("assignment target")?,
                value: self.expr(1)?,
            },
            nop::STORE => Node::Store {
                buffer: self.name("store buffer")?,
                index: self.expr(1)?,
                value: self.expr(1)?,
            },
            nop::EVAL => Node::Eval(self.expr(1)?),
            nop::IF => Node::If {
                cond: self.expr(1)?,
                then: self.block(d)?,
                otherwise: self.block(d)?,
            },
            nop::FOR => Node::For {
                var: self.name("for variable")?,
                start: self.expr(1)?,
                end: self.expr(1)?,
                step: self.expr(1)?,
                body: self.block(d)?,
            },
            nop::LOOP => Node::Loop {
                body: self.block(d)?,
            },
            nop::BLOCK => Node::Block(self.block(d)?),
            nop::BREAK => Node::Break,
            nop::CONTINUE => Node::Continue,
            nop::BARRIER => Node::Barrier,
            nop::RETURN => Node::Return,
            other => return self.fail(at, format!("unknown statement opcode 0x{other:02x}")),
        })
    }

    fn boxed(&mut self, depth: u32) -> R<Box<Expr>> {
        Ok(Box::new(self.expr(depth)?))
    }

    fn expr(&mut self, depth: u32) -> R<Expr> {
        let at = self.pos;
        if depth > MAX_EXPR_DEPTH {
            return self.fail(
                at,
                format!("an expression nests more than {MAX_EXPR_DEPTH} levels deep"),
            );
        }
        self.exprs += 1;
        if self.exprs > self.max_exprs {
            return self.fail(
                at,
                format!(
                    "more expressions than the {} the body section declares",
                    self.max_exprs
                ),
            );
        }
        self.charge(at, EXPR_COST)?;
        let d = depth + 1;
        let code = self.u8("an expression")?;
        Ok(match code {
            op::LIT_U32 => Expr::Lit(Literal::U32(self.u32v("u32 literal")?)),
            op::LIT_I32 => {
                let z = self.u32v("i32 literal")?;
                Expr::Lit(Literal::I32(((z >> 1) as i32) ^ -((z & 1) as i32)))
            }
            op::LIT_F32 => {
                let mut b = [0u8; 4];
                for x in &mut b {
                    *x = self.u8("an f32 literal")?;
                }
                Expr::Lit(Literal::F32(u32::from_le_bytes(b)))
            }
            op::LIT_FALSE => Expr::Lit(Literal::Bool(false)),
            op::LIT_TRUE => Expr::Lit(Literal::Bool(true)),
            op::VAR => Expr::Var(self.name("variable")?),
            op::LOAD => Expr::Load {
                buffer: self.name("load buffer")?,
                index: self.boxed(d)?,
            },
            op::UNIFORM_LOAD => Expr::UniformLoad {
                buffer: self.name("uniform_load buffer")?,
                index: self.boxed(d)?,
            },
            op::LEN => Expr::Len(self.name("len buffer")?),
            op::SELECT => Expr::Select {
                cond: self.boxed(d)?,
                on_true: self.boxed(d)?,
                on_false: self.boxed(d)?,
            },
            op::CAST => Expr::Cast {
                to: self.code(DataType::ALL, "type")?,
                arg: self.boxed(d)?,
            },
            op::BITCAST => Expr::Bitcast {
                to: self.code(DataType::ALL, "type")?,
                arg: self.boxed(d)?,
            },
            c if (op::UNARY..op::UNARY + 0x10).contains(&c)
                && UnOp::ALL.len() > usize::from(c - op::UNARY) =>
            {
                Expr::Unary {
                    op: UnOp::ALL[usize::from(c - op::UNARY)],
                    arg: self.boxed(d)?,
                }
            }
            c if (op::BINARY..op::BINARY + 0x20).contains(&c)
                && BinOp::ALL.len() > usize::from(c - op::BINARY) =>
            {
                Expr::Binary {
                    op: BinOp::ALL[usize::from(c - op::BINARY)],
                    lhs: self.boxed(d)?,
                    rhs: self.boxed(d)?,
                }
            }
            c if (op::ATOMIC..op::ATOMIC + 0x20).contains(&c)
                && AtomicOp::ALL.len() > usize::from((c - op::ATOMIC) & 0x0f) =>
            {
                let a = AtomicOp::ALL[usize::from((c - op::ATOMIC) & 0x0f)];
                let with_expected = c >= op::ATOMIC_EXPECTED;
                let buffer = self.name("atomic buffer")?;
                let index = self.boxed(d)?;
                let value = self.boxed(d)?;
                let expected = if with_expected {
                    Some(self.boxed(d)?)
                } else {
                    None
                };
                Expr::Atomic {
                    op: a,
                    buffer,
                    index,
                    value,
                    expected,
                }
            }
            c if (op::BUILTIN..op::BUILTIN + 0x10).contains(&c)
                && Builtin::ALL.len() > usize::from(c - op::BUILTIN) =>
            {
                Expr::Builtin(Builtin::ALL[usize::from(c - op::BUILTIN)])
            }
            other => return self.fail(at, format!("unknown expression opcode 0x{other:02x}")),
        })
    }

    pub(super) fn body(&mut self) -> R<Vec<Node>> {
        let at = self.pos;
        self.max_nodes = self.varint("statement count")?;
        self.max_exprs = self.varint("expression count")?;
        let (n, e) = (self.max_nodes, self.max_exprs);
        if n > MAX_NODES || e > MAX_EXPRS {
            return self.fail(at, format!("the body claims {n} statements and {e} expressions; the limits are {MAX_NODES} and {MAX_EXPRS}"));
        }
        if n.saturating_add(e) > self.remaining() as u64 {
            return self.fail(at, format!("the body claims {n} statements and {e} expressions but only {} bytes follow (each takes at least one)", self.remaining()));
        }
        let body = self.block(1)?;
        if self.nodes != n || self.exprs != e {
            return self.fail(
                at,
                format!(
                    "the body declares {n} statements and {e} expressions but holds {} and {}",
                    self.nodes, self.exprs
                ),
            );
        }
        Ok(body)
    }
}
