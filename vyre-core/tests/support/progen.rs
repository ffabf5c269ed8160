//! A generator of random valid, race-free, terminating vyre programs, and a
//! shrinker that reduces a failing program to a small one.
//!
//! Programs use the buffers:
//! * `iu: read u32[64]`, `ii: read i32[64]` — random inputs,
//! * `out: read_write u32[]` — invocation `g` owns words `g*OUT_PER..(g+1)*OUT_PER`,
//! * `acc: read_write u32[8]` — only commutative atomics whose result is discarded,
//! * `sh: workgroup u32[WG]` — each lane writes its own word, barrier, then reads any.
//!
//! f32 values never reach memory as bits: they are only compared or cast to
//! integers, and only add/sub/mul/min/max/neg (correctly rounded on GPUs) are used.

#![allow(dead_code)]

use vyre_core::ir::{BinOp, Node, UnOp};
use vyre_core::{BufferDecl, DataType, Expr, Program};

/// Words of `out` per invocation.
pub const OUT_PER: u32 = 8;
/// Workgroup size of generated programs.
pub const WG: u32 = 16;
/// Workgroups per dispatch.
pub const GROUPS: u32 = 2;

/// SplitMix64.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u32) -> u32 {
        (self.next() % n.max(1) as u64) as u32
    }
    pub fn chance(&mut self, pct: u32) -> bool {
        self.below(100) < pct
    }
}

struct Scope {
    /// (name, type, assignable)
    vars: Vec<(String, DataType, bool)>,
}

struct Gen {
    rng: Rng,
    next: u32,
    loop_depth: u32,
}

const INTERESTING_U32: [u32; 10] = [0, 1, 2, 3, 31, 32, 33, 0x7fff_ffff, 0x8000_0000, u32::MAX];
const INTERESTING_I32: [i32; 9] = [0, 1, -1, 2, -2, 31, 32, i32::MIN, i32::MAX];

impl Gen {
    fn fresh(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}{}", self.next)
    }

    fn lit(&mut self, ty: DataType) -> Expr {
        match ty {
            DataType::U32 => {
                if self.rng.chance(50) {
                    Expr::u32(INTERESTING_U32[self.rng.below(10) as usize])
                } else {
                    Expr::u32(self.rng.next() as u32)
                }
            }
            DataType::I32 => {
                if self.rng.chance(50) {
                    Expr::i32(INTERESTING_I32[self.rng.below(9) as usize])
                } else {
                    Expr::i32(self.rng.next() as i32)
                }
            }
            DataType::F32 => Expr::f32((self.rng.below(2001) as i32 - 1000) as f32 * 0.25),
            DataType::Bool => Expr::bool(self.rng.chance(50)),
        }
    }

    fn var_of(&mut self, scope: &Scope, ty: DataType) -> Option<Expr> {
        let c: Vec<&(String, DataType, bool)> = scope.vars.iter().filter(|v| v.1 == ty).collect();
        if c.is_empty() {
            return None;
        }
        let i = self.rng.below(c.len() as u32) as usize;
        Some(Expr::var(&c[i].0))
    }

    fn leaf(&mut self, scope: &Scope, ty: DataType) -> Expr {
        match self.rng.below(6) {
            0 | 1 => {
                if let Some(v) = self.var_of(scope, ty) {
                    return v;
                }
                self.lit(ty)
            }
            2 => match ty {
                DataType::U32 => match self.rng.below(5) {
                    0 => Expr::global_id(),
                    1 => Expr::local_id(),
                    2 => Expr::workgroup_id(),
                    3 => Expr::num_workgroups(),
                    _ => Expr::len("iu"),
                },
                _ => self.lit(ty),
            },
            _ => self.lit(ty),
        }
    }

    fn index(&mut self, scope: &Scope, depth: u32) -> Expr {
        // Mostly in range, sometimes out of range.
        let e = self.expr(scope, DataType::U32, depth);
        if self.rng.chance(80) {
            Expr::rem(e, Expr::u32(64))
        } else {
            e
        }
    }

    pub fn expr(&mut self, scope: &Scope, ty: DataType, depth: u32) -> Expr {
        if depth == 0 || self.rng.chance(25) {
            return self.leaf(scope, ty);
        }
        let d = depth - 1;
        match ty {
            DataType::U32 | DataType::I32 => match self.rng.below(10) {
                0..=3 => {
                    let ops = [
                        BinOp::Add,
                        BinOp::Sub,
                        BinOp::Mul,
                        BinOp::Div,
                        BinOp::Rem,
                        BinOp::BitAnd,
                        BinOp::BitOr,
                        BinOp::BitXor,
                        BinOp::Min,
                        BinOp::Max,
                    ];
                    let op = ops[self.rng.below(ops.len() as u32) as usize];
                    Expr::binary(op, self.expr(scope, ty, d), self.expr(scope, ty, d))
                }
                4 => {
                    let ops: Vec<BinOp> = BinOp::ALL
                        .iter()
                        .copied()
                        .filter(|o| o.is_shift())
                        .collect();
                    let op = ops[self.rng.below(ops.len() as u32) as usize];
                    Expr::binary(
                        op,
                        self.expr(scope, ty, d),
                        self.expr(scope, DataType::U32, d),
                    )
                }
                5 => {
                    let ops = [
                        UnOp::Neg,
                        UnOp::BitNot,
                        UnOp::Clz,
                        UnOp::Ctz,
                        UnOp::Popcount,
                    ];
                    Expr::unary(ops[self.rng.below(5) as usize], self.expr(scope, ty, d))
                }
                6 => {
                    let from = DataType::ALL[self.rng.below(DataType::ALL.len() as u32) as usize];
                    Expr::cast(ty, self.expr(scope, from, d))
                }
                7 => {
                    let buf = if ty == DataType::U32 { "iu" } else { "ii" };
                    Expr::load(buf, self.index(scope, d))
                }
                8 => Expr::select(
                    self.expr(scope, DataType::Bool, d),
                    self.expr(scope, ty, d),
                    self.expr(scope, ty, d),
                ),
                _ => {
                    let other = if ty == DataType::U32 {
                        DataType::I32
                    } else {
                        DataType::U32
                    };
                    Expr::bitcast(ty, self.expr(scope, other, d))
                }
            },
            DataType::F32 => match self.rng.below(6) {
                0..=2 => {
                    let ops = [BinOp::Add, BinOp::Sub, BinOp::Mul, BinOp::Min, BinOp::Max];
                    let op = ops[self.rng.below(5) as usize];
                    Expr::binary(op, self.expr(scope, ty, d), self.expr(scope, ty, d))
                }
                3 => Expr::neg(self.expr(scope, ty, d)),
                4 => {
                    // Small integers only, so the conversion is exact-ish and no subnormals arise.
                    let from = if self.rng.chance(50) {
                        DataType::I32
                    } else {
                        DataType::Bool
                    };
                    let e = self.expr(scope, from, d);
                    let e = if from == DataType::I32 {
                        Expr::rem(e, Expr::i32(4096))
                    } else {
                        e
                    };
                    Expr::cast(DataType::F32, e)
                }
                _ => Expr::select(
                    self.expr(scope, DataType::Bool, d),
                    self.expr(scope, ty, d),
                    self.expr(scope, ty, d),
                ),
            },
            DataType::Bool => match self.rng.below(5) {
                0 | 1 => {
                    let ops: Vec<BinOp> = BinOp::ALL
                        .iter()
                        .copied()
                        .filter(|o| o.is_comparison())
                        .collect();
                    let op = ops[self.rng.below(ops.len() as u32) as usize];
                    let t =
                        [DataType::U32, DataType::I32, DataType::F32][self.rng.below(3) as usize];
                    Expr::binary(op, self.expr(scope, t, d), self.expr(scope, t, d))
                }
                2 => {
                    let op = if self.rng.chance(50) {
                        BinOp::And
                    } else {
                        BinOp::Or
                    };
                    Expr::binary(op, self.expr(scope, ty, d), self.expr(scope, ty, d))
                }
                3 => Expr::not(self.expr(scope, ty, d)),
                _ => {
                    let t =
                        [DataType::U32, DataType::I32, DataType::F32][self.rng.below(3) as usize];
                    Expr::cast(DataType::Bool, self.expr(scope, t, d))
                }
            },
        }
    }

    fn any_ty(&mut self) -> DataType {
        [
            DataType::U32,
            DataType::U32,
            DataType::I32,
            DataType::F32,
            DataType::Bool,
        ][self.rng.below(5) as usize]
    }

    fn to_u32(e: Expr, ty: DataType) -> Expr {
        match ty {
            DataType::U32 => e,
            _ => Expr::cast(DataType::U32, e),
        }
    }

    fn stmts(&mut self, scope: &mut Scope, n: u32, depth: u32) -> Vec<Node> {
        let mark = scope.vars.len();
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(self.stmt(scope, depth));
        }
        scope.vars.truncate(mark);
        out
    }

    fn stmt(&mut self, scope: &mut Scope, depth: u32) -> Node {
        let choice = if depth == 0 {
            self.rng.below(4)
        } else {
            self.rng.below(9)
        };
        match choice {
            0 | 1 => {
                let ty = self.any_ty();
                let name = self.fresh("x");
                let e = self.expr(scope, ty, 3);
                scope.vars.push((name.clone(), ty, true));
                Node::let_bind(&name, e)
            }
            2 => {
                // Store into this invocation's own words.
                let ty = self.any_ty();
                let v = Self::to_u32(self.expr(scope, ty, 3), ty);
                let slot = self.rng.below(OUT_PER);
                let idx = Expr::add(
                    Expr::mul(Expr::global_id(), Expr::u32(OUT_PER)),
                    Expr::u32(slot),
                );
                Node::store("out", idx, v)
            }
            3 => {
                let assignable: Vec<(String, DataType)> = scope
                    .vars
                    .iter()
                    .filter(|v| v.2)
                    .map(|v| (v.0.clone(), v.1))
                    .collect();
                if assignable.is_empty() {
                    // Each acc word gets one commutative op, so the final value
                    // does not depend on the order invocations run in.
                    let word = self.rng.below(8);
                    let op = match word {
                        0 | 1 => Expr::atomic_add as fn(&str, Expr, Expr) -> Expr,
                        2 | 3 => Expr::atomic_or,
                        4 => Expr::atomic_xor,
                        5 => Expr::atomic_and,
                        6 => Expr::atomic_max,
                        _ => Expr::atomic_min,
                    };
                    let v = self.expr(scope, DataType::U32, 2);
                    return Node::eval(op("acc", Expr::u32(word), v));
                }
                let (name, ty) =
                    assignable[self.rng.below(assignable.len() as u32) as usize].clone();
                Node::assign(&name, self.expr(scope, ty, 3))
            }
            4 | 5 => {
                let c = self.expr(scope, DataType::Bool, 2);
                let k = 1 + self.rng.below(3);
                let t = self.stmts(scope, k, depth - 1);
                let k = 1 + self.rng.below(2);
                let e = if self.rng.chance(50) {
                    self.stmts(scope, k, depth - 1)
                } else {
                    vec![]
                };
                Node::if_else(c, t, e)
            }
            6 => {
                let var = self.fresh("i");
                let start = Expr::u32(self.rng.below(4));
                let end = if self.rng.chance(20) {
                    Expr::u32(u32::MAX - self.rng.below(3))
                } else {
                    Expr::rem(self.expr(scope, DataType::U32, 1), Expr::u32(6))
                };
                let step = Expr::u32(self.rng.below(3));
                // A loop that might run to u32::MAX must be cut short: start near the end.
                let start = if matches!(end, Expr::Lit(_)) {
                    Expr::sub(end.clone(), Expr::u32(self.rng.below(5)))
                } else {
                    start
                };
                scope.vars.push((var.clone(), DataType::U32, false));
                self.loop_depth += 1;
                let k = 1 + self.rng.below(3);
                let mut body = self.stmts(scope, k, depth - 1);
                self.loop_depth -= 1;
                scope.vars.retain(|v| v.0 != var);
                if self.rng.chance(20) {
                    let brk = if self.rng.chance(50) {
                        Node::Break
                    } else {
                        Node::Continue
                    };
                    body.insert(
                        self.rng.below(body.len() as u32 + 1) as usize,
                        Node::if_then(self.expr(scope, DataType::Bool, 1), vec![brk]),
                    );
                }
                Node::For {
                    var,
                    start,
                    end,
                    step,
                    body,
                }
            }
            7 => {
                // A general loop with a counter so it terminates.
                let c = self.fresh("n");
                let limit = self.rng.below(5);
                scope.vars.push((c.clone(), DataType::U32, false));
                self.loop_depth += 1;
                let mut body = vec![
                    Node::if_then(Expr::ge(Expr::var(&c), Expr::u32(limit)), vec![Node::Break]),
                    Node::assign(&c, Expr::add(Expr::var(&c), Expr::u32(1))),
                ];
                let k = 1 + self.rng.below(2);
                body.extend(self.stmts(scope, k, depth - 1));
                self.loop_depth -= 1;
                scope.vars.retain(|v| v.0 != c);
                Node::block(vec![Node::let_bind(&c, Expr::u32(0)), Node::loop_(body)])
            }
            _ => {
                if self.loop_depth == 0 && self.rng.chance(30) {
                    Node::if_then(self.expr(scope, DataType::Bool, 1), vec![Node::Return])
                } else {
                    let n = 1 + self.rng.below(3);
                    Node::block(self.stmts(scope, n, depth - 1))
                }
            }
        }
    }
}

/// A random program from `seed`.
pub fn random_program(seed: u64) -> Program {
    let mut g = Gen {
        rng: Rng::new(seed),
        next: 0,
        loop_depth: 0,
    };
    let mut scope = Scope { vars: Vec::new() };
    let mut body = Vec::new();
    let use_shared = g.rng.chance(30);
    if use_shared {
        // Phase 1: each lane writes its own word; barrier; then any lane reads any word.
        let v = g.expr(&scope, DataType::U32, 3);
        body.push(Node::store("sh", Expr::local_id(), v));
        body.push(Node::Barrier);
        let idx = Expr::rem(
            Expr::add(Expr::local_id(), Expr::u32(g.rng.below(WG))),
            Expr::u32(WG),
        );
        body.push(Node::let_bind("shv", Expr::load("sh", idx)));
        scope.vars.push(("shv".into(), DataType::U32, false));
    }
    let n = 2 + g.rng.below(6);
    let stmts = g.stmts(&mut scope, n, 3);
    // Keep `shv` visible: stmts() truncates only what it added.
    body.extend(stmts);
    // Always store something so every program has an observable result.
    let last = g.expr(&scope, DataType::U32, 3);
    body.push(Node::store(
        "out",
        Expr::add(
            Expr::mul(Expr::global_id(), Expr::u32(OUT_PER)),
            Expr::u32(OUT_PER - 1),
        ),
        last,
    ));
    let mut buffers = vec![
        BufferDecl::read("iu", 0, DataType::U32).with_len(64),
        BufferDecl::read("ii", 1, DataType::I32).with_len(64),
        BufferDecl::read_write("out", 2, DataType::U32).with_len(WG * GROUPS * OUT_PER),
        BufferDecl::read_write("acc", 3, DataType::U32).with_len(8),
    ];
    if use_shared {
        buffers.push(BufferDecl::workgroup("sh", DataType::U32, WG));
    }
    Program::new(&format!("random_{seed}"), buffers, WG, body)
}

/// Input buffers for a generated program.
pub fn random_inputs(seed: u64) -> Vec<Vec<u32>> {
    let mut r = Rng::new(seed ^ 0xdead_beef);
    let iu = (0..64)
        .map(|_| {
            if r.chance(30) {
                INTERESTING_U32[r.below(10) as usize]
            } else {
                r.next() as u32
            }
        })
        .collect();
    let ii = (0..64)
        .map(|_| {
            if r.chance(30) {
                INTERESTING_I32[r.below(9) as usize] as u32
            } else {
                r.next() as u32
            }
        })
        .collect();
    let acc = (0..8).map(|_| r.next() as u32).collect();
    vec![iu, ii, vec![0; (WG * GROUPS * OUT_PER) as usize], acc]
}

/// Candidate simplifications of a program, smallest first.
pub fn shrink_candidates(p: &Program) -> Vec<Program> {
    let mut out = Vec::new();
    let bodies = shrink_nodes(&p.body);
    for b in bodies {
        let mut q = p.clone();
        q.body = b;
        out.push(q);
    }
    out
}

fn shrink_nodes(nodes: &[Node]) -> Vec<Vec<Node>> {
    let mut out = Vec::new();
    // Drop one statement.
    for i in 0..nodes.len() {
        let mut v = nodes.to_vec();
        v.remove(i);
        out.push(v);
    }
    // Replace a compound statement by its body, or shrink inside it.
    for i in 0..nodes.len() {
        let inner: Vec<Vec<Node>> = match &nodes[i] {
            Node::If {
                then, otherwise, ..
            } => vec![then.clone(), otherwise.clone()],
            Node::Block(b) => vec![b.clone()],
            _ => vec![],
        };
        for body in inner {
            let mut v = nodes.to_vec();
            v.splice(i..=i, body);
            out.push(v);
        }
        let sub: Vec<Node> = match &nodes[i] {
            Node::If {
                cond,
                then,
                otherwise,
            } => {
                let mut r: Vec<Node> = shrink_nodes(then)
                    .into_iter()
                    .map(|t| Node::If {
                        cond: cond.clone(),
                        then: t,
                        otherwise: otherwise.clone(),
                    })
                    .collect();
                r.extend(shrink_nodes(otherwise).into_iter().map(|o| Node::If {
                    cond: cond.clone(),
                    then: then.clone(),
                    otherwise: o,
                }));
                r
            }
            Node::For {
                var,
                start,
                end,
                step,
                body,
            } => shrink_nodes(body)
                .into_iter()
                .map(|b| Node::For {
                    var: var.clone(),
                    start: start.clone(),
                    end: end.clone(),
                    step: step.clone(),
                    body: b,
                })
                .collect(),
            Node::Loop { body } => shrink_nodes(body)
                .into_iter()
                .map(|b| Node::Loop { body: b })
                .collect(),
            Node::Block(b) => shrink_nodes(b).into_iter().map(Node::Block).collect(),
            _ => vec![],
        };
        for s in sub {
            let mut v = nodes.to_vec();
            v[i] = s;
            out.push(v);
        }
    }
    out
}
