//! Payload IR → Cranelift IR: the function `fn(*mut Ctx)`, its parameter
//! bindings, statements and control flow. Expressions are in `expr.rs`.
//!
//! Every IR value is an `i32` Cranelift value (f32 values as their bits,
//! bools as 0 or 1); variables are Cranelift variables, so the frontend
//! builds SSA form.

use std::collections::HashMap;
use std::sync::Arc;

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, AbiParam, Block, InstBuilder, MemFlags, Type, Value};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use cranelift_jit::JITModule;
use cranelift_module::{FuncId, Linkage, Module};

use super::CTX_VARS;
use super::{Bind, CTX_BUDGET, CTX_DATA, CTX_DATA_LEN, CTX_RESULTS, CTX_RESULTS_LEN, CTX_SPENT};
use crate::ir::payload::param_var;
use crate::ir::{DataType, Node, ParamKind, Payload};

/// Why a payload was not compiled.
pub(super) enum Fail {
    /// Something the JIT does not support (the caller falls back).
    Unsupported(String),
    /// A Cranelift error (a vyre bug).
    Internal(String),
}

pub(super) type R<T> = std::result::Result<T, Fail>;

pub(super) fn unsupported<T>(what: impl Into<String>) -> R<T> {
    Err(Fail::Unsupported(what.into()))
}

/// The compiled function and what running it needs.
pub(super) struct Lowered {
    pub func: FuncId,
    pub binds: Vec<Bind>,
    pub tables: Vec<Arc<[u32]>>,
}

/// What a buffer name of the body stands for.
#[derive(Clone, Copy)]
pub(super) enum Buf {
    /// The slot's bytes (read only).
    Data,
    /// The slot's result words.
    Results,
    /// Table `k` of the payload (read only).
    Table(usize),
}

/// One loop being lowered: where `continue` and `break` go.
struct LoopCtx {
    cont: Block,
    exit: Block,
    cont_used: bool,
    exit_used: bool,
}

/// The lowering state of one payload.
pub(super) struct L<'a> {
    pub b: FunctionBuilder<'a>,
    pub ptr: Type,
    pub data: Value,
    /// The slot's length in bytes (i64).
    pub data_len: Value,
    /// Data parameters whose `off` and `len` the body never assigns
    /// ([`fixed_data_params`]).
    pub fixed_data: std::collections::HashSet<String>,
    /// Words wholly inside the data (`data_len / 4`, i64).
    pub full_words: Value,
    pub results: Value,
    /// Result words (i64).
    pub results_len: Value,
    pub budget: Variable,
    pub spent: Block,
    pub ret: Block,
    /// Data word `full_words` (the slot's last, partial word, 0 when
    /// there is none): read once at entry, so no loop calls out (a call
    /// would make every value live across it spill).
    pub tail: Value,
    /// Variables in scope: name, variable, type.
    pub scope: Vec<(String, Variable, DataType)>,
    pub buffers: HashMap<String, Buf>,
    /// Tables: address and length in words.
    pub tables: Vec<(i64, u32)>,
    loops: Vec<LoopCtx>,
    next_var: u32,
}

/// The scalar variables a slot binds, by name, and what each buffer name means.
type Bindings = (Vec<(String, Bind)>, HashMap<String, Buf>);

/// The variables the slot binds for `p` (as `megakernel::abi::bindings`
/// does, for one lane natively), and what each buffer name means.
fn bindings(p: &Payload) -> R<Bindings> {
    let mut vars = Vec::new();
    let mut bufs = HashMap::new();
    let mut scalar = 0usize;
    let mut before = 0u32;
    for q in &p.params {
        let var = |s: &str| param_var(&q.name, s);
        match q.kind {
            ParamKind::Bytes => {
                vars.push((var("off"), Bind::Const(0)));
                vars.push((var("len"), Bind::DataLen));
                bufs.insert(q.name.clone(), Buf::Data);
            }
            ParamKind::Scalar => {
                vars.push((q.name.clone(), Bind::Arg(scalar)));
                scalar += 1;
            }
            ParamKind::ChunkStart => vars.push((q.name.clone(), Bind::Start)),
            ParamKind::ChunkOffset => vars.push((q.name.clone(), Bind::ChunkOffset)),
            ParamKind::ChunkOffsetHi => vars.push((q.name.clone(), Bind::ChunkOffsetHi)),
            ParamKind::FileLen => vars.push((q.name.clone(), Bind::FileLen)),
            ParamKind::FileLenHi => vars.push((q.name.clone(), Bind::FileLenHi)),
            ParamKind::ChunkIndex => vars.push((q.name.clone(), Bind::ChunkIndex)),
            ParamKind::Output | ParamKind::Accumulator => {
                vars.push((var("off"), Bind::Const(before)));
                vars.push((
                    var("len"),
                    Bind::ResultLen {
                        before,
                        declared: q.len,
                    },
                ));
                before = before.saturating_add(q.len.unwrap_or(0));
                bufs.insert(q.name.clone(), Buf::Results);
            }
            ParamKind::Lanes => {
                vars.push((var("id"), Bind::Const(0)));
                vars.push((var("count"), Bind::Const(1)));
            }
            ParamKind::Words | ParamKind::IoQueue | ParamKind::Debug => {
                return unsupported(format!(
                    "parameter `{}` ({:?}): only the GPU runs read queues and debug logs",
                    q.name, q.kind
                ))
            }
        }
    }
    for (k, t) in p.tables.iter().enumerate() {
        bufs.insert(t.name.clone(), Buf::Table(k));
    }
    Ok((vars, bufs))
}

/// Lowers `p` into a function of `module` and finalizes it.
pub(super) fn lower(p: &Payload, module: &mut JITModule) -> R<Lowered> {
    let internal = |e: &dyn std::fmt::Display| Fail::Internal(e.to_string());
    let (vars, buffers) = bindings(p)?;
    let tables: Vec<Arc<[u32]>> = p.tables.iter().map(|t| Arc::from(&t.words[..])).collect();
    let ptr = module.target_config().pointer_type();
    let mut ctx = module.make_context();
    ctx.func.signature.params.push(AbiParam::new(ptr));
    let mut tail = module.make_signature();
    tail.params.push(AbiParam::new(ptr));
    tail.params.push(AbiParam::new(types::I32));
    tail.returns.push(AbiParam::new(types::I32));
    let mut fbc = FunctionBuilderContext::new();
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, &mut fbc);
        let tail_sig = b.import_signature(tail);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let c = b.block_params(entry)[0];
        let m = MemFlags::trusted();
        let data = b.ins().load(ptr, m, c, CTX_DATA);
        let data_len = b.ins().load(types::I64, m, c, CTX_DATA_LEN);
        let full_words = b.ins().ushr_imm(data_len, 2);
        let results = b.ins().load(ptr, m, c, CTX_RESULTS);
        let results_len = b.ins().load(types::I64, m, c, CTX_RESULTS_LEN);
        let vptr = b.ins().load(ptr, m, c, CTX_VARS);
        let left = b.ins().load(types::I64, m, c, CTX_BUDGET);
        let budget = Variable::from_u32(0);
        b.declare_var(budget, types::I64);
        b.def_var(budget, left);
        let tail_fn = b
            .ins()
            .iconst(ptr, super::tail_word as *const () as usize as i64);
        let last = b.ins().ireduce(types::I32, full_words);
        let call = b.ins().call_indirect(tail_sig, tail_fn, &[c, last]);
        let tail = b.inst_results(call)[0];
        let spent = b.create_block();
        let ret = b.create_block();
        let mut l = L {
            b,
            ptr,
            data,
            data_len,
            fixed_data: fixed_data_params(
                p.params
                    .iter()
                    .filter(|q| q.kind == ParamKind::Bytes)
                    .map(|q| q.name.as_str()),
                &p.body,
            ),
            full_words,
            results,
            results_len,
            budget,
            spent,
            ret,
            tail,
            scope: Vec::new(),
            buffers,
            tables: tables
                .iter()
                .map(|t| (t.as_ptr() as i64, t.len().min(u32::MAX as usize) as u32))
                .collect(),
            loops: Vec::new(),
            next_var: 1,
        };
        for (k, (name, bind)) in vars.iter().enumerate() {
            // Constants and the length are known here: as values of the
            // code, Cranelift folds them (`lanes__count == 1`, `off == 0`).
            let v = match *bind {
                Bind::Const(c) => l.u32(c),
                Bind::DataLen => l.b.ins().ireduce(types::I32, data_len),
                _ => l.b.ins().load(types::I32, m, vptr, (4 * k) as i32),
            };
            let var = l.new_var(name, DataType::U32);
            l.b.def_var(var, v);
        }
        if l.nodes(&p.body)? {
            l.b.ins().jump(ret, &[]);
        }
        // Normal end: hand back what is left of the budget.
        l.b.switch_to_block(ret);
        let left = l.b.use_var(budget);
        l.b.ins().store(m, left, c, CTX_BUDGET);
        l.b.ins().return_(&[]);
        // Budget spent: say so and end.
        l.b.switch_to_block(spent);
        let zero = l.b.ins().iconst(types::I64, 0);
        l.b.ins().store(m, zero, c, CTX_BUDGET);
        let one = l.b.ins().iconst(types::I32, 1);
        l.b.ins().store(m, one, c, CTX_SPENT);
        l.b.ins().return_(&[]);
        l.b.seal_all_blocks();
        l.b.finalize();
    }
    let func = module
        .declare_function(
            &format!("vyre_jit_{}", p.name),
            Linkage::Local,
            &ctx.func.signature,
        )
        .map_err(|e| internal(&e))?;
    module
        .define_function(func, &mut ctx)
        .map_err(|e| internal(&format!("{e:?}")))?;
    module.clear_context(&mut ctx);
    module.finalize_definitions().map_err(|e| internal(&e))?;
    Ok(Lowered {
        func,
        binds: vars.into_iter().map(|(_, b)| b).collect(),
        tables,
    })
}

impl L<'_> {
    /// Declares variable `name` of type `ty` in the current scope.
    pub fn new_var(&mut self, name: &str, ty: DataType) -> Variable {
        let var = Variable::from_u32(self.next_var);
        self.next_var += 1;
        self.b.declare_var(var, types::I32);
        self.scope.push((name.to_string(), var, ty));
        var
    }

    /// The innermost variable `name`.
    pub fn var(&self, name: &str) -> R<(Variable, DataType)> {
        match self.scope.iter().rev().find(|v| v.0 == name) {
            Some((_, var, ty)) => Ok((*var, *ty)),
            None => unsupported(format!("variable `{name}`, which is not declared")),
        }
    }

    /// A `u32` constant.
    pub fn u32(&mut self, v: u32) -> Value {
        self.b.ins().iconst(types::I32, i64::from(v))
    }

    /// Counts one loop iteration: ends the payload when the budget is spent.
    fn tick(&mut self) {
        let left = self.b.use_var(self.budget);
        let zero = self.b.ins().icmp_imm(IntCC::Equal, left, 0);
        let go = self.b.create_block();
        self.b.ins().brif(zero, self.spent, &[], go, &[]);
        self.b.switch_to_block(go);
        let less = self.b.ins().iadd_imm(left, -1);
        self.b.def_var(self.budget, less);
    }

    /// Lowers a block of statements; false when control cannot reach its
    /// end (it ended with `break`, `continue` or `return`).
    pub fn nodes(&mut self, ns: &[Node]) -> R<bool> {
        let mark = self.scope.len();
        let mut through = true;
        for n in ns {
            if !self.node(n)? {
                through = false;
                break;
            }
        }
        self.scope.truncate(mark);
        Ok(through)
    }

    fn node(&mut self, n: &Node) -> R<bool> {
        match n {
            Node::Let { name, value } => {
                let (v, ty) = self.expr(value)?;
                let var = self.new_var(name, ty);
                self.b.def_var(var, v);
            }
            Node::Assign { name, value } => {
                let (v, _) = self.expr(value)?;
                let (var, _) = self.var(name)?;
                self.b.def_var(var, v);
            }
            Node::Store {
                buffer,
                index,
                value,
            } => {
                let (i, _) = self.expr(index)?;
                let (v, _) = self.expr(value)?;
                match self.buffers.get(buffer) {
                    Some(Buf::Results) => self.result_store(i, v),
                    _ => return unsupported(format!("a store to `{buffer}`")),
                }
            }
            Node::Eval(e) => {
                self.expr(e)?;
            }
            Node::If {
                cond,
                then,
                otherwise,
            } => return self.if_else(cond, then, otherwise),
            Node::For {
                var,
                start,
                end,
                step,
                body,
            } => return self.for_loop(var, start, end, step, body),
            Node::Loop { body } => {
                let header = self.b.create_block();
                let exit = self.b.create_block();
                self.b.ins().jump(header, &[]);
                self.b.switch_to_block(header);
                self.tick();
                self.loops.push(LoopCtx {
                    cont: header,
                    exit,
                    cont_used: false,
                    exit_used: false,
                });
                let through = self.nodes(body);
                let lp = self.loops.pop().expect("pushed above");
                if through? {
                    self.b.ins().jump(header, &[]);
                }
                if !lp.exit_used {
                    return Ok(false);
                }
                self.b.switch_to_block(exit);
            }
            Node::Break | Node::Continue => {
                let Some(lp) = self.loops.last_mut() else {
                    return unsupported("`break` or `continue` outside a loop");
                };
                let to = if matches!(n, Node::Break) {
                    lp.exit_used = true;
                    lp.exit
                } else {
                    lp.cont_used = true;
                    lp.cont
                };
                self.b.ins().jump(to, &[]);
                return Ok(false);
            }
            Node::Return => {
                self.b.ins().jump(self.ret, &[]);
                return Ok(false);
            }
            Node::Block(ns) => return self.nodes(ns),
            Node::Barrier => return unsupported("a barrier (run the payload fused)"),
        }
        Ok(true)
    }

    fn if_else(&mut self, cond: &crate::ir::Expr, then: &[Node], other: &[Node]) -> R<bool> {
        if let Some((name, yes, no)) = one_assignment(then, other) {
            // `if c { x = a } else { x = b }` with pure, cheap `a` and `b`:
            // a select, no branch (rustc's code has none either; a branch
            // on data, e.g. a CRC bit, mispredicts half the time).
            let (c, _) = self.expr(cond)?;
            let (a, _) = self.expr(yes)?;
            let (var, _) = self.var(name)?;
            let b = match no {
                Some(no) => self.expr(no)?.0,
                None => self.b.use_var(var),
            };
            let v = self.b.ins().select(c, a, b);
            self.b.def_var(var, v);
            return Ok(true);
        }
        let (c, _) = self.expr(cond)?;
        let (tb, eb) = (self.b.create_block(), self.b.create_block());
        self.b.ins().brif(c, tb, &[], eb, &[]);
        let mut merge = None;
        for (block, body) in [(tb, then), (eb, other)] {
            self.b.switch_to_block(block);
            if self.nodes(body)? {
                let m = *merge.get_or_insert_with(|| self.b.create_block());
                self.b.ins().jump(m, &[]);
            }
        }
        match merge {
            Some(m) => {
                self.b.switch_to_block(m);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn for_loop(
        &mut self,
        name: &str,
        start: &crate::ir::Expr,
        end: &crate::ir::Expr,
        step: &crate::ir::Expr,
        body: &[Node],
    ) -> R<bool> {
        use cranelift_codegen::ir::BlockArg;
        let (s, _) = self.expr(start)?;
        let (e, _) = self.expr(end)?;
        let (st, _) = self.expr(step)?;
        // A step of 0 counts as 1.
        let is0 = self.b.ins().icmp_imm(IntCC::Equal, st, 0);
        let one = self.u32(1);
        let st = self.b.ins().select(is0, one, st);
        let header = self.b.create_block();
        let v = self.b.append_block_param(header, types::I32);
        let (bb, latch, exit) = (
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
        );
        self.b.ins().jump(header, &[BlockArg::Value(s)]);
        self.b.switch_to_block(header);
        let more = self.b.ins().icmp(IntCC::UnsignedLessThan, v, e);
        self.b.ins().brif(more, bb, &[], exit, &[]);
        self.b.switch_to_block(bb);
        self.tick();
        let mark = self.scope.len();
        let var = self.new_var(name, DataType::U32);
        self.b.def_var(var, v);
        self.loops.push(LoopCtx {
            cont: latch,
            exit,
            cont_used: false,
            exit_used: true,
        });
        let through = self.nodes(body);
        let lp = self.loops.pop().expect("pushed above");
        self.scope.truncate(mark);
        let through = through?;
        if through {
            self.b.ins().jump(latch, &[]);
        }
        if through || lp.cont_used {
            // The counter stops instead of wrapping past u32::MAX.
            self.b.switch_to_block(latch);
            let cur = self.b.use_var(var);
            let next = self.b.ins().iadd(cur, st);
            let wrapped = self.b.ins().icmp(IntCC::UnsignedLessThan, next, cur);
            self.b
                .ins()
                .brif(wrapped, exit, &[], header, &[BlockArg::Value(next)]);
        }
        self.b.switch_to_block(exit);
        Ok(true)
    }
}

/// `then` and `other` as one assignment to the same variable (`other` may
/// be empty: the variable keeps its value), when both values are pure and
/// cheap (no loads, atomics, divisions): the variable, its value when the
/// condition holds, and otherwise.
fn one_assignment<'a>(
    then: &'a [Node],
    other: &'a [Node],
) -> Option<(&'a str, &'a crate::ir::Expr, Option<&'a crate::ir::Expr>)> {
    let [Node::Assign { name, value: yes }] = then else {
        return None;
    };
    let no = match other {
        [] => None,
        [Node::Assign { name: n, value }] if n == name => Some(value),
        _ => return None,
    };
    (cheap(yes) && no.is_none_or(cheap)).then_some((name.as_str(), yes, no))
}

/// An expression that is pure and costs a few instructions at most.
fn cheap(e: &crate::ir::Expr) -> bool {
    use crate::ir::{BinOp, Expr};
    match e {
        Expr::Lit(_) | Expr::Var(_) => true,
        Expr::Unary { arg, .. } | Expr::Cast { arg, .. } | Expr::Bitcast { arg, .. } => cheap(arg),
        Expr::Binary { op, lhs, rhs } => {
            !matches!(op, BinOp::Div | BinOp::Rem) && cheap(lhs) && cheap(rhs)
        }
        Expr::Select {
            cond,
            on_true,
            on_false,
        } => cheap(cond) && cheap(on_true) && cheap(on_false),
        Expr::Load { .. }
        | Expr::Len(_)
        | Expr::Atomic { .. }
        | Expr::Builtin(_)
        | Expr::UniformLoad { .. } => false,
    }
}

/// The data parameters whose `off` and `len` variables `body` never
/// assigns (nor binds again with `let` or a `for`), so both keep the values
/// the JIT binds them to everywhere in the body.
fn fixed_data_params<'a>(
    data_params: impl Iterator<Item = &'a str>,
    body: &[Node],
) -> std::collections::HashSet<String> {
    let mut written = std::collections::HashSet::new();
    crate::ir::walk_nodes(body, &mut |n| match n {
        Node::Let { name, .. } | Node::Assign { name, .. } | Node::For { var: name, .. } => {
            written.insert(name.clone());
        }
        _ => {}
    });
    data_params
        .filter(|p| {
            !written.contains(&param_var(p, "off")) && !written.contains(&param_var(p, "len"))
        })
        .map(str::to_string)
        .collect()
}
