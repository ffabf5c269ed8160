//! Compiling simple statements and expressions: values that need a
//! statement slot (atomics, calls) and typed expressions.

use super::*;

impl<'p> Compiler<'p> {
    /// Statements that contain no statements.
    #[inline(never)]
    pub(super) fn simple_node(&mut self, node: &'p Node) -> Result<CNode> {
        Ok(match node {
            Node::Let { name, value } => {
                let (value, ty) = self.value(value, false)?;
                let slot = self.declare(name, ty, false)?;
                value.into_node(Some(slot))
            }
            Node::Assign { name, value } => {
                let Some(var) = self.vars.get(name.as_str()).copied() else {
                    return Err(self.err(
                        format!("assignment to undeclared variable `{name}`"),
                        "declare it with `let` first".to_string(),
                    ));
                };
                if var.read_only {
                    return Err(self.err(
                        format!("assignment to `{name}`, a `for` counter, which is read-only"),
                        "copy it into a `let` variable".to_string(),
                    ));
                }
                let (value, ty) = self.value(value, false)?;
                if ty != var.ty {
                    return Err(self.err(
                        format!("assigning a {ty} value to `{name}` of type {}", var.ty),
                        format!("cast the value to {}", var.ty),
                    ));
                }
                value.into_node(Some(var.slot))
            }
            Node::Store {
                buffer,
                index,
                value,
            } => {
                let b = self.buffer(buffer)?;
                if !b.access.is_writable() {
                    return Err(self.err(
                        format!("store into buffer `{buffer}`, which is {}", b.access.name()),
                        "declare it read_write".to_string(),
                    ));
                }
                let index = self.index(index)?;
                let value = self.typed(value, b.elem, "stored value")?;
                CNode::Store {
                    buf: b.mem,
                    index,
                    value,
                }
            }
            Node::Eval(expr) => match self.value(expr, true)?.0 {
                Value::Atomic(atomic) => CNode::Atomic { slot: None, atomic },
                _ => CNode::Nop,
            },
            Node::Break | Node::Continue if self.loop_depth == 0 => {
                return Err(self.err(
                    "`break` or `continue` outside a loop".to_string(),
                    "use it only inside `for` or `loop`".to_string(),
                ));
            }
            Node::Break => CNode::Break,
            Node::Continue => CNode::Continue,
            Node::Barrier => {
                self.has_barrier = true;
                CNode::Barrier
            }
            Node::Return => CNode::Return,
            // Statements with bodies are handled by `body`.
            Node::If { .. } | Node::For { .. } | Node::Loop { .. } | Node::Block(_) => {
                return Err(Error::internal(
                    "the CPU reference compiled a compound statement as a simple one",
                )
                .with_prefix(&self.at()))
            }
        })
    }

    /// The value of a `let`, an assignment or an `eval`: the only places an
    /// atomic or (except `eval`) a uniform load may appear.
    #[inline(never)]
    pub(super) fn value(&mut self, expr: &'p Expr, is_eval: bool) -> Result<(Value, DataType)> {
        match expr {
            Expr::Atomic {
                op,
                buffer,
                index,
                value,
                expected,
            } => {
                let b = self.buffer(buffer)?;
                if !b.access.allows_atomics() || !b.elem.is_integer() {
                    return Err(self.err(
                        format!(
                            "atomic on buffer `{buffer}` ({} {})",
                            b.access.name(),
                            b.elem
                        ),
                        "atomics need a read_write or workgroup buffer of u32 or i32".to_string(),
                    ));
                }
                let signed = b.elem == DataType::I32;
                let atom = match op {
                    AtomicOp::Load => Atom::Load,
                    AtomicOp::Store => Atom::Store,
                    AtomicOp::Add => Atom::Add,
                    AtomicOp::Sub => Atom::Sub,
                    AtomicOp::Max if signed => Atom::MaxS,
                    AtomicOp::Max => Atom::MaxU,
                    AtomicOp::Min if signed => Atom::MinS,
                    AtomicOp::Min => Atom::MinU,
                    AtomicOp::And => Atom::And,
                    AtomicOp::Or => Atom::Or,
                    AtomicOp::Xor => Atom::Xor,
                    AtomicOp::Exchange => Atom::Exchange,
                    AtomicOp::CompareExchange => Atom::CmpXchg,
                };
                let index = self.index(index)?;
                // The operand of a load is ignored (and not checked).
                let value = if atom == Atom::Load {
                    CExpr::lit(0)
                } else {
                    self.typed(value, b.elem, "atomic operand")?
                };
                let expected = match (atom, expected) {
                    (Atom::CmpXchg, Some(e)) => {
                        self.typed(e, b.elem, "compare-exchange expected value")?
                    }
                    (Atom::CmpXchg, None) => {
                        return Err(self.err(
                            "atomic_compare_exchange without an expected value".to_string(),
                            "build it with Expr::atomic_compare_exchange".to_string(),
                        ))
                    }
                    (_, Some(_)) => {
                        return Err(self.err(
                            format!("{} has an expected value", op.name()),
                            "only atomic_compare_exchange takes one".to_string(),
                        ))
                    }
                    (_, None) => CExpr::lit(0),
                };
                let atomic = Box::new(CAtomic {
                    op: atom,
                    buf: b.mem,
                    index,
                    value,
                    expected,
                });
                Ok((Value::Atomic(atomic), b.elem))
            }
            Expr::UniformLoad { buffer, index } if !is_eval => {
                let b = self.buffer(buffer)?;
                if b.access != Access::Workgroup {
                    return Err(self.err(
                        format!(
                            "uniform_load of buffer `{buffer}`, which is not a workgroup buffer"
                        ),
                        "uniform_load only reads workgroup buffers".to_string(),
                    ));
                }
                let index = self.index(index)?;
                self.has_barrier = true;
                Ok((Value::Uniform { buf: b.mem, index }, b.elem))
            }
            _ => {
                let (e, ty) = self.expr(expr)?;
                Ok((Value::Pure(e), ty))
            }
        }
    }

    #[inline(never)]
    pub(super) fn typed(&mut self, expr: &'p Expr, want: DataType, what: &str) -> Result<CExpr> {
        let (e, ty) = self.expr(expr)?;
        if ty != want {
            return Err(self.err(
                format!("{what} has type {ty} but must be {want}"),
                format!("cast it to {want}"),
            ));
        }
        Ok(e)
    }

    #[inline(never)]
    pub(super) fn index(&mut self, expr: &'p Expr) -> Result<CExpr> {
        let (index, ty) = self.expr(expr)?;
        if !ty.is_integer() {
            return Err(self.err(
                format!("buffer index has type {ty} but must be u32"),
                "cast it to u32".to_string(),
            ));
        }
        Ok(index)
    }

    pub(super) fn expr(&self, expr: &'p Expr) -> Result<(CExpr, DataType)> {
        compile_expr(expr, self).map_err(|e| e.with_prefix(&self.at()))
    }
}

/// The compiled value of a `let`, an assignment or an `eval`.
pub(super) enum Value {
    Pure(CExpr),
    Atomic(Box<CAtomic>),
    Uniform { buf: u32, index: CExpr },
}

impl Value {
    pub(super) fn into_node(self, slot: Option<u32>) -> CNode {
        match (self, slot) {
            (Value::Pure(value), Some(slot)) => CNode::Set { slot, value },
            (Value::Atomic(atomic), slot) => CNode::Atomic { slot, atomic },
            (Value::Uniform { buf, index }, Some(slot)) => CNode::UniformLoad { slot, buf, index },
            (_, None) => CNode::Nop,
        }
    }
}
