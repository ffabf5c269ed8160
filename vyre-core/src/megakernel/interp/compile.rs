//! Payload IR → interpreter bytecode.
//!
//! One pass over the (validated) payload body: every variable gets a
//! register for its scope, every expression node one instruction writing a
//! temporary register (freed at the end of its statement), every literal a
//! constant register loaded once in the prologue. Structured control flow
//! becomes forward and backward jumps. A read of a constant table becomes
//! one [`op::LDT`] with the table's place in [`Bytecode::tables`].

use std::collections::HashMap;

use super::select::{binary_op, cast_op, reg_fields};
use super::{atomic_kind, builtin_code, encode, op, Bytecode, INSTR_WORDS, MAX_INSTRS, MAX_REGS};
use crate::error::{Error, Result};
use crate::ir::{AtomicOp, BinOp, DataType, Expr, Node, ParamKind, Payload, UnOp};
use crate::megakernel::tables::Placement;

mod params;

/// Constant registers are numbered from this tag during code generation and
/// placed after the variable registers at the end.
const CONST_TAG: u32 = 1 << 31;

/// Compiles payload `p` to bytecode. The payload is validated first; payloads
/// the interpreter cannot run (see the [module docs](super)) get an error
/// that says why and `Fix:`.
pub fn compile(p: &Payload) -> Result<Bytecode> {
    crate::megakernel::embed::check_embeddable(p)?;
    // The tables laid out as the fused kernel lays out its table buffer.
    let (decl, placed) = crate::megakernel::tables::layout(std::slice::from_ref(p))?;
    crate::validate::validate_or_error(&p.to_program(64))?;
    let mut g = Gen {
        p,
        table_words: decl.map(|d| d.data).unwrap_or_default(),
        tables: placed.into_iter().next().unwrap_or_default(),
        code: Vec::new(),
        consts: HashMap::new(),
        const_values: Vec::new(),
        scopes: vec![Vec::new()],
        top: 0,
        next: 0,
        max: 0,
        loops: Vec::new(),
    };
    g.bind_params()?;
    g.nodes(&p.body)?;
    g.emit(op::RET, 0, 0, 0, 0);
    g.finish()
}

/// Jumps to patch when a loop's exit / continue target is known.
struct LoopCtx {
    breaks: Vec<usize>,
    continues: Vec<usize>,
}

struct Gen<'a> {
    p: &'a Payload,
    /// The payload's table words ([`Bytecode::tables`]).
    table_words: Vec<u32>,
    /// Each table's (first word, words) in `table_words`.
    tables: Placement,
    /// Instructions; jump targets are instruction indices until `finish`.
    code: Vec<[u32; 5]>,
    consts: HashMap<u32, u32>,
    const_values: Vec<u32>,
    scopes: Vec<Vec<(String, u32, DataType)>>,
    /// Registers held by live variables.
    top: u32,
    /// Next free register (temporaries live in `top..next`).
    next: u32,
    max: u32,
    loops: Vec<LoopCtx>,
}

impl Gen<'_> {
    fn err(&self, what: &str, fix: &str) -> Error {
        Error::bad_input(
            format!(
                "payload `{}` cannot run on the interpreter: {what}",
                self.p.name
            ),
            fix,
        )
    }

    fn emit(&mut self, o: u32, d: u32, a: u32, b: u32, c: u32) -> usize {
        self.code.push([o, d, a, b, c]);
        self.code.len() - 1
    }

    fn temp(&mut self) -> Result<u32> {
        let r = self.next;
        self.next += 1;
        self.max = self.max.max(self.next);
        if self.max + self.const_values.len() as u32 > MAX_REGS {
            return Err(self.err(
                &format!("it needs more than {MAX_REGS} registers per lane"),
                "split the payload or run it fused (without the interpreter)",
            ));
        }
        Ok(r)
    }

    /// A new variable register in the current scope.
    fn declare(&mut self, name: &str, ty: DataType) -> Result<u32> {
        self.next = self.top;
        let r = self.temp()?;
        self.top = self.next;
        if let Some(s) = self.scopes.last_mut() {
            s.push((name.to_string(), r, ty));
        }
        Ok(r)
    }

    fn lookup(&self, name: &str) -> Result<(u32, DataType)> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .find(|v| v.0 == name)
            .map(|v| (v.1, v.2))
            .ok_or_else(|| {
                self.err(
                    &format!("variable `{name}` is not declared"),
                    "declare it with `let` before use",
                )
            })
    }

    fn constant(&mut self, bits: u32) -> Result<u32> {
        if let Some(r) = self.consts.get(&bits) {
            return Ok(*r);
        }
        let r = CONST_TAG | self.const_values.len() as u32;
        self.const_values.push(bits);
        if self.max + self.const_values.len() as u32 > MAX_REGS {
            return Err(self.err(
                &format!("it needs more than {MAX_REGS} registers per lane"),
                "split the payload or run it fused (without the interpreter)",
            ));
        }
        self.consts.insert(bits, r);
        Ok(r)
    }

    /// Which parameter kind names `buffer`.
    fn buffer_kind(&self, buffer: &str) -> Result<ParamKind> {
        self.p
            .params
            .iter()
            .find(|q| q.name == buffer)
            .map(|q| q.kind)
            .filter(|k| {
                matches!(
                    k,
                    ParamKind::Bytes
                        | ParamKind::Output
                        | ParamKind::Accumulator
                                                | ParamKind::IoQueue
                        | ParamKind::Debug
                )
            })
            .ok_or_else(|| {
                self.err(
                    &format!("buffer `{buffer}` is not one of its byte/output/accumulator/queue parameters"),
                    "access data only through the payload's parameters",
                )
            })
    }

    fn nodes(&mut self, ns: &[Node]) -> Result<()> {
        for n in ns {
            self.node(n)?;
            self.next = self.top;
        }
        Ok(())
    }

    fn scoped(&mut self, ns: &[Node]) -> Result<()> {
        let top = self.top;
        self.scopes.push(Vec::new());
        let r = self.nodes(ns);
        self.scopes.pop();
        self.top = top;
        self.next = top;
        r
    }

    fn node(&mut self, n: &Node) -> Result<()> {
        match n {
            Node::Let { name, value } => {
                let ty = self.type_of(value)?;
                let r = self.declare(name, ty)?;
                self.expr_into(value, Some(r))?;
            }
            Node::Assign { name, value } => {
                let (r, _) = self.lookup(name)?;
                self.expr_into(value, Some(r))?;
            }
            Node::Store {
                buffer,
                index,
                value,
            } => {
                let o = match self.buffer_kind(buffer)? {
                                        ParamKind::IoQueue => op::STQ,
                    ParamKind::Debug => op::STG,
                    ParamKind::Output | ParamKind::Accumulator => op::STR,
                    _ => {
                        return Err(self.err(
                            &format!("it stores into the input bytes `{buffer}`"),
                            "write results to an output parameter",
                        ))
                    }
                };
                let i = self.expr(index)?.0;
                let v = self.expr(value)?.0;
                self.emit(o, 0, i, v, 0);
            }
            Node::Eval(e) => {
                self.expr(e)?;
            }
            Node::If {
                cond,
                then,
                otherwise,
            } => {
                let c = self.expr(cond)?.0;
                let jz = self.emit(op::JZ, 0, c, 0, 0);
                self.scoped(then)?;
                if otherwise.is_empty() {
                    self.code[jz][4] = self.code.len() as u32;
                } else {
                    let jmp = self.emit(op::JMP, 0, 0, 0, 0);
                    self.code[jz][4] = self.code.len() as u32;
                    self.scoped(otherwise)?;
                    self.code[jmp][4] = self.code.len() as u32;
                }
            }
            Node::For {
                var,
                start,
                end,
                step,
                body,
            } => self.for_loop(var, start, end, step, body)?,
            Node::Loop { body } => {
                let head = self.code.len();
                self.emit(op::ITER, 0, 0, 0, 0);
                self.loops.push(LoopCtx {
                    breaks: Vec::new(),
                    continues: Vec::new(),
                });
                self.scoped(body)?;
                self.emit(op::JMP, 0, 0, 0, head as u32);
                self.close_loop(head)?;
            }
            Node::Break | Node::Continue => {
                let at = self.emit(op::JMP, 0, 0, 0, 0);
                let ctx = self.loops.last_mut().ok_or_else(|| {
                    Error::bad_input(format!("payload `{}`: break/continue outside a loop", self.p.name), "remove it")
                })?;
                if matches!(n, Node::Break) {
                    ctx.breaks.push(at);
                } else {
                    ctx.continues.push(at);
                }
            }
            Node::Block(b) => self.scoped(b)?,
            Node::Barrier => {
                return Err(self.err(
                    "it uses `barrier`, which needs uniform control flow the interpreter loop does not have",
                    "run the payload fused (register it with MegakernelBuilder::payload)",
                ))
            }
            Node::Return => {
                self.emit(op::RET, 0, 0, 0, 0);
            }
        }
        Ok(())
    }

    /// Patches a finished loop's breaks to here and continues to `cont`.
    fn close_loop(&mut self, cont: usize) -> Result<()> {
        let ctx = self
            .loops
            .pop()
            .ok_or_else(|| Error::internal("interpreter compiler lost a loop"))?;
        let end = self.code.len() as u32;
        for b in ctx.breaks {
            self.code[b][4] = end;
        }
        for c in ctx.continues {
            self.code[c][4] = cont as u32;
        }
        Ok(())
    }

    fn for_loop(
        &mut self,
        var: &str,
        start: &Expr,
        end: &Expr,
        step: &Expr,
        body: &[Node],
    ) -> Result<()> {
        let top = self.top;
        self.scopes.push(Vec::new());
        let u = DataType::U32;
        let r_end = self.declare("#for_end", u)?;
        self.expr_into(end, Some(r_end))?;
        let r_step = self.declare("#for_step", u)?;
        self.expr_into(step, Some(r_step))?;
        let one = self.constant(1)?;
        self.emit(op::UMAX, r_step, r_step, one, 0);
        let r_var = self.declare(var, u)?;
        self.expr_into(start, Some(r_var))?;
        // Guard: while var < end; then the body, ended by FORNEXT (step,
        // test, count the iteration and jump back in one instruction).
        let t = self.declare("#for_t", u)?;
        self.emit(op::ULT, t, r_var, r_end, 0);
        let exit = self.emit(op::JZ, 0, t, 0, 0);
        self.emit(op::ITER, 0, 0, 0, 0);
        let body_at = self.code.len();
        self.loops.push(LoopCtx {
            breaks: vec![exit],
            continues: Vec::new(),
        });
        self.scoped(body)?;
        let cont = self.code.len();
        self.emit(op::FORNEXT, r_var, r_end, r_step, body_at as u32);
        self.close_loop(cont)?;
        self.scopes.pop();
        self.top = top;
        self.next = top;
        Ok(())
    }

    fn expr(&mut self, e: &Expr) -> Result<(u32, DataType)> {
        let ty = self.type_of(e)?;
        Ok((self.expr_into(e, None)?, ty))
    }

    /// Computes `e` into `dst` (or a register of its own when `None`) and
    /// returns the register holding it.
    fn expr_into(&mut self, e: &Expr, dst: Option<u32>) -> Result<u32> {
        let src = match e {
            Expr::Lit(l) => Some(self.constant(l.bits())?),
            Expr::Var(n) => Some(self.lookup(n)?.0),
            _ => None,
        };
        if let Some(s) = src {
            return Ok(match dst {
                Some(d) => {
                    self.emit(op::MOV, d, s, 0, 0);
                    d
                }
                None => s,
            });
        }
        // Operands first (into temporaries), then the one instruction.
        let (o, a, b, c) = self.operation(e)?;
        let d = match dst {
            Some(d) => d,
            None => self.temp()?,
        };
        self.emit(o, d, a, b, c);
        Ok(d)
    }

    /// The instruction (op, a, b, c) computing `e`, its operands evaluated.
    fn operation(&mut self, e: &Expr) -> Result<(u32, u32, u32, u32)> {
        Ok(match e {
            Expr::Lit(_) | Expr::Var(_) => {
                let r = self.expr_into(e, None)?;
                (op::MOV, r, 0, 0)
            }
            Expr::Load { buffer, index } if self.tables.contains_key(buffer) => {
                let (at, len) = self.tables[buffer];
                let i = self.expr(index)?.0;
                (op::LDT, i, self.constant(len)?, at)
            }
            Expr::Len(t) if self.tables.contains_key(t) => {
                let len = self.constant(self.tables[t].1)?;
                (op::MOV, len, 0, 0)
            }
            Expr::Load { buffer, index } => {
                let o = match self.buffer_kind(buffer)? {
                    ParamKind::Bytes => op::LDA,
                    ParamKind::IoQueue => op::LDQ,
                    ParamKind::Debug => op::LDG,
                    _ => op::LDR,
                };
                (o, self.expr(index)?.0, 0, 0)
            }
            Expr::Len(b) => {
                return Err(self.err(
                    &format!("it uses `len({b})`"),
                    "use the parameter's `__len` variable (ir::payload::param_len)",
                ))
            }
            Expr::UniformLoad { .. } => {
                return Err(self.err(
                    "it uses `uniform_load`, which needs a barrier in uniform control flow",
                    "run the payload fused (register it with MegakernelBuilder::payload)",
                ))
            }
            Expr::Unary { op: u, arg } => {
                let (a, ty) = self.expr(arg)?;
                let o = match u {
                    UnOp::Neg if ty == DataType::F32 => op::FNEG,
                    UnOp::Neg => op::NEG,
                    UnOp::BitNot => op::BITNOT,
                    UnOp::Not => op::NOT,
                    UnOp::Clz => op::CLZ,
                    UnOp::Ctz => op::CTZ,
                    UnOp::Popcount => op::POPCNT,
                };
                (o, a, 0, 0)
            }
            Expr::Binary { op: bop, lhs, rhs } => {
                let (a, ty) = self.expr(lhs)?;
                let b = self.expr(rhs)?.0;
                let (o, swap) = binary_op(*bop, ty);
                if swap {
                    (o, b, a, 0)
                } else {
                    (o, a, b, 0)
                }
            }
            Expr::Select {
                cond,
                on_true,
                on_false,
            } => {
                let c = self.expr(cond)?.0;
                let t = self.expr(on_true)?.0;
                let f = self.expr(on_false)?.0;
                (op::SEL, c, t, f)
            }
            Expr::Cast { to, arg } => {
                let (a, from) = self.expr(arg)?;
                (cast_op(from, *to), a, 0, 0)
            }
            Expr::Bitcast { arg, .. } => (op::MOV, self.expr(arg)?.0, 0, 0),
            Expr::Atomic {
                op: aop,
                buffer,
                index,
                value,
                expected,
            } => {
                // (atomic op, compare-exchange op) on the buffer.
                let (at, cas) = match self.buffer_kind(buffer)? {
                    ParamKind::IoQueue => (op::ATQ, op::CASQ),
                    ParamKind::Debug => (op::ATG, op::CASG),
                    ParamKind::Output | ParamKind::Accumulator => (op::ATR, op::CASR),
                    _ => {
                        return Err(self.err(
                            &format!("it runs an atomic on the input bytes `{buffer}`"),
                            "use atomics on accumulator parameters",
                        ))
                    }
                };
                let i = self.expr(index)?.0;
                let v = self.expr(value)?.0;
                if *aop == AtomicOp::CompareExchange {
                    let x = match expected {
                        Some(x) => self.expr(x)?.0,
                        None => self.constant(0)?,
                    };
                    (cas, i, x, v)
                } else {
                    (at, i, v, atomic_kind(*aop))
                }
            }
            Expr::Builtin(b) => (op::BUILTIN, 0, 0, builtin_code(*b)),
        })
    }

    /// The type of `e` (the payload is validated, so this follows the rules).
    fn type_of(&self, e: &Expr) -> Result<DataType> {
        Ok(match e {
            Expr::Lit(l) => l.ty(),
            Expr::Var(n) => self.lookup(n)?.1,
            // Payload buffers hold u32 words.
            Expr::Load { .. }
            | Expr::Len(_)
            | Expr::Atomic { .. }
            | Expr::UniformLoad { .. }
            | Expr::Builtin(_) => DataType::U32,
            Expr::Unary { op: UnOp::Not, .. } => DataType::Bool,
            Expr::Unary { arg, .. } => self.type_of(arg)?,
            Expr::Binary { op: b, lhs, .. } => {
                if b.is_comparison() || matches!(b, BinOp::And | BinOp::Or) {
                    DataType::Bool
                } else {
                    self.type_of(lhs)?
                }
            }
            Expr::Select { on_true, .. } => self.type_of(on_true)?,
            Expr::Cast { to, .. } | Expr::Bitcast { to, .. } => *to,
        })
    }

    /// Places constants after the variables, prepends the constant
    /// prologue, turns instruction indices into word offsets.
    fn finish(mut self) -> Result<Bytecode> {
        let vars = self.max;
        let pro = self.const_values.len() as u32;
        if self.code.len() as u32 + pro > MAX_INSTRS {
            return Err(self.err(
                &format!("it compiles to more than {MAX_INSTRS} instructions"),
                "split the payload or run it fused",
            ));
        }
        let fix = |r: u32| {
            if r & CONST_TAG != 0 {
                vars + (r & !CONST_TAG)
            } else {
                r
            }
        };
        let mut words = Vec::with_capacity((self.code.len() + pro as usize) * 2);
        for (i, v) in self.const_values.iter().enumerate() {
            words.extend(encode(op::CONST, vars + i as u32, 0, 0, *v));
        }
        for ins in self.code.iter_mut() {
            let regs = reg_fields(ins[0]);
            for k in 0..4 {
                if regs[k] {
                    ins[k + 1] = fix(ins[k + 1]);
                }
            }
            if matches!(ins[0], op::JMP | op::JZ | op::FORNEXT) {
                ins[4] = (ins[4] + pro) * INSTR_WORDS;
            }
            words.extend(encode(ins[0], ins[1], ins[2], ins[3], ins[4]));
        }
        let bc = Bytecode {
            name: self.p.name.clone(),
            words,
            regs: vars + pro,
            all_lanes: self.p.params_of(ParamKind::Lanes).count() > 0,
            result_words: crate::megakernel::embed::result_words(self.p),
            table_layout: self
                .p
                .tables
                .iter()
                .map(|t| {
                    (
                        t.name.clone(),
                        self.tables[&t.name].0,
                        self.tables[&t.name].1,
                    )
                })
                .collect(),
            tables: self.table_words,
        };
        bc.check()?;
        Ok(bc)
    }
}
