//! IR → VIR0 bytes. Encoding is total (every IR value has exactly one
//! encoding) and deterministic: strings are numbered in order of first use.

use std::collections::HashMap;

use super::codes::{expr as op, node as nop, section, PARAM_REDUCE_FLAG};
use super::{DIGEST_LEN, KIND_PAYLOAD, KIND_PROGRAM, MAGIC, VERSION};
use crate::ir::{Access, Expr, Literal, Node, Payload, Program, Reduce};

/// Appends `v` as an unsigned LEB128 varint (the shortest form).
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Words of a constant table, 4 little-endian bytes each.
fn put_words(out: &mut Vec<u8>, words: &[u32]) {
    for w in words {
        out.extend_from_slice(&w.to_le_bytes());
    }
}

/// `None` → 0, `Some(n)` → n + 1.
fn put_opt_len(out: &mut Vec<u8>, len: Option<u32>) {
    put_varint(out, len.map_or(0, |n| u64::from(n) + 1));
}

/// Zigzag: small magnitudes of either sign get short varints.
pub(crate) fn zigzag(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

struct Encoder<'p> {
    strings: Vec<&'p str>,
    index: HashMap<&'p str, u64>,
    nodes: u64,
    exprs: u64,
}

impl<'p> Encoder<'p> {
    fn new() -> Self {
        Encoder {
            strings: Vec::new(),
            index: HashMap::new(),
            nodes: 0,
            exprs: 0,
        }
    }

    /// Writes the string-table index of `s`, adding it on first use.
    fn name(&mut self, out: &mut Vec<u8>, s: &'p str) {
        let next = self.strings.len() as u64;
        let i = *self.index.entry(s).or_insert(next);
        if i == next {
            self.strings.push(s);
        }
        put_varint(out, i);
    }

    fn block(&mut self, out: &mut Vec<u8>, nodes: &'p [Node]) {
        put_varint(out, nodes.len() as u64);
        for n in nodes {
            self.node(out, n);
        }
    }

    fn node(&mut self, out: &mut Vec<u8>, n: &'p Node) {
        self.nodes += 1;
        match n {
            Node::Let { name, value } | Node::Assign { name, value } => {
                out.push(if matches!(n, Node::Let { .. }) {
                    nop::LET
                } else {
                    nop::ASSIGN
                });
                self.name(out, name);
                self.expr(out, value);
            }
            Node::Store {
                buffer,
                index,
                value,
            } => {
                out.push(nop::STORE);
                self.name(out, buffer);
                self.expr(out, index);
                self.expr(out, value);
            }
            Node::Eval(e) => {
                out.push(nop::EVAL);
                self.expr(out, e);
            }
            Node::If {
                cond,
                then,
                otherwise,
            } => {
                out.push(nop::IF);
                self.expr(out, cond);
                self.block(out, then);
                self.block(out, otherwise);
            }
            Node::For {
                var,
                start,
                end,
                step,
                body,
            } => {
                out.push(nop::FOR);
                self.name(out, var);
                self.expr(out, start);
                self.expr(out, end);
                self.expr(out, step);
                self.block(out, body);
            }
            Node::Loop { body } | Node::Block(body) => {
                out.push(if matches!(n, Node::Loop { .. }) {
                    nop::LOOP
                } else {
                    nop::BLOCK
                });
                self.block(out, body);
            }
            Node::Break => out.push(nop::BREAK),
            Node::Continue => out.push(nop::CONTINUE),
            Node::Barrier => out.push(nop::BARRIER),
            Node::Return => out.push(nop::RETURN),
        }
    }

    fn expr(&mut self, out: &mut Vec<u8>, e: &'p Expr) {
        self.exprs += 1;
        match e {
            Expr::Lit(Literal::U32(v)) => {
                out.push(op::LIT_U32);
                put_varint(out, u64::from(*v));
            }
            Expr::Lit(Literal::I32(v)) => {
                out.push(op::LIT_I32);
                put_varint(out, u64::from(zigzag(*v)));
            }
            Expr::Lit(Literal::F32(bits)) => {
                out.push(op::LIT_F32);
                out.extend_from_slice(&bits.to_le_bytes());
            }
            Expr::Lit(Literal::Bool(b)) => out.push(if *b { op::LIT_TRUE } else { op::LIT_FALSE }),
            Expr::Var(name) => {
                out.push(op::VAR);
                self.name(out, name);
            }
            Expr::Load { buffer, index } | Expr::UniformLoad { buffer, index } => {
                out.push(if matches!(e, Expr::Load { .. }) {
                    op::LOAD
                } else {
                    op::UNIFORM_LOAD
                });
                self.name(out, buffer);
                self.expr(out, index);
            }
            Expr::Len(buffer) => {
                out.push(op::LEN);
                self.name(out, buffer);
            }
            Expr::Unary { op: u, arg } => {
                out.push(op::UNARY + u.code());
                self.expr(out, arg);
            }
            Expr::Binary { op: b, lhs, rhs } => {
                out.push(op::BINARY + b.code());
                self.expr(out, lhs);
                self.expr(out, rhs);
            }
            Expr::Select {
                cond,
                on_true,
                on_false,
            } => {
                out.push(op::SELECT);
                self.expr(out, cond);
                self.expr(out, on_true);
                self.expr(out, on_false);
            }
            Expr::Cast { to, arg } | Expr::Bitcast { to, arg } => {
                out.push(if matches!(e, Expr::Cast { .. }) {
                    op::CAST
                } else {
                    op::BITCAST
                });
                out.push(to.code());
                self.expr(out, arg);
            }
            Expr::Atomic {
                op: a,
                buffer,
                index,
                value,
                expected,
            } => {
                let base = if expected.is_some() {
                    op::ATOMIC_EXPECTED
                } else {
                    op::ATOMIC
                };
                out.push(base + a.code());
                self.name(out, buffer);
                self.expr(out, index);
                self.expr(out, value);
                if let Some(x) = expected {
                    self.expr(out, x);
                }
            }
            Expr::Builtin(b) => out.push(op::BUILTIN + b.code()),
        }
    }

    /// Header, the three sections (strings, `decls`, body), no digest.
    fn finish(self, kind: u8, decls: Vec<u8>, body: Vec<u8>) -> Vec<u8> {
        let mut strings = Vec::new();
        put_varint(&mut strings, self.strings.len() as u64);
        for s in &self.strings {
            put_varint(&mut strings, s.len() as u64);
            strings.extend_from_slice(s.as_bytes());
        }
        let mut counted = Vec::new();
        put_varint(&mut counted, self.nodes);
        put_varint(&mut counted, self.exprs);
        counted.extend_from_slice(&body);
        let mut out = Vec::with_capacity(strings.len() + decls.len() + counted.len() + 64);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.push(kind);
        out.push(0);
        for (tag, content) in [
            (section::STRINGS, strings),
            (section::DECLS, decls),
            (section::BODY, counted),
        ] {
            out.push(tag);
            put_varint(&mut out, content.len() as u64);
            out.extend_from_slice(&content);
        }
        out
    }
}

/// The encoding of a program, without the trailing digest.
pub(crate) fn program_unsigned(p: &Program) -> Vec<u8> {
    let mut e = Encoder::new();
    let mut decls = Vec::new();
    e.name(&mut decls, &p.name);
    put_varint(&mut decls, u64::from(p.workgroup_size));
    put_varint(&mut decls, p.buffers.len() as u64);
    for b in &p.buffers {
        e.name(&mut decls, &b.name);
        decls.push(b.access.code());
        decls.push(b.elem.code());
        put_varint(&mut decls, u64::from(b.binding));
        put_opt_len(&mut decls, b.len);
        if b.access == Access::Constant {
            put_words(&mut decls, &b.data);
        }
    }
    let mut body = Vec::new();
    e.block(&mut body, &p.body);
    e.finish(KIND_PROGRAM, decls, body)
}

/// The encoding of a payload, without the trailing digest.
pub(crate) fn payload_unsigned(p: &Payload) -> Vec<u8> {
    let mut e = Encoder::new();
    let mut decls = Vec::new();
    e.name(&mut decls, &p.name);
    put_varint(&mut decls, u64::from(p.look_behind));
    put_varint(&mut decls, p.params.len() as u64);
    for param in &p.params {
        e.name(&mut decls, &param.name);
        if param.reduce == Reduce::Sum {
            decls.push(param.kind.code());
        } else {
            decls.push(param.kind.code() | PARAM_REDUCE_FLAG);
            decls.push(param.reduce.code());
        }
        put_opt_len(&mut decls, param.len);
    }
    // Written only when there are tables, so payloads without them encode
    // as before.
    if !p.tables.is_empty() {
        put_varint(&mut decls, p.tables.len() as u64);
        for t in &p.tables {
            e.name(&mut decls, &t.name);
            put_varint(&mut decls, t.words.len() as u64);
            put_words(&mut decls, &t.words);
        }
    }
    let mut body = Vec::new();
    e.block(&mut body, &p.body);
    let mut out = e.finish(KIND_PAYLOAD, decls, body);
    // The combine, only when there is one: its identity, then its function
    // as a complete (signed) payload file.
    if let Some(c) = &p.combine {
        let mut content = Vec::new();
        put_varint(&mut content, c.identity.len() as u64);
        put_words(&mut content, &c.identity);
        let func = sign(payload_unsigned(&c.func));
        put_varint(&mut content, func.len() as u64);
        content.extend_from_slice(&func);
        out.push(section::COMBINE);
        put_varint(&mut out, content.len() as u64);
        out.extend_from_slice(&content);
    }
    out
}

/// blake3 of `unsigned`.
pub(crate) fn hash(unsigned: &[u8]) -> [u8; DIGEST_LEN] {
    *blake3::hash(unsigned).as_bytes()
}

/// Appends the digest.
pub(crate) fn sign(mut unsigned: Vec<u8>) -> Vec<u8> {
    let d = hash(&unsigned);
    unsigned.extend_from_slice(&d);
    unsigned
}
