//! The stable text form of programs, used by snapshots, errors and debugging.
//!
//! ```text
//! program copy workgroup_size 64
//! buffer input: read u32[] @0
//! buffer output: read_write u32[] @1
//! {
//!   let i = @global_id
//!   if lt(i, len(input)) {
//!     output[i] = input[i]
//!   }
//! }
//! ```
//! Literals carry their type: `7u`, `-3i`, `1.5f`, `true`; floats that do not
//! print exactly are written as `f32bits(0x7fc00000)`. Builtins start with `@`.

use std::fmt::{self, Write};

use super::expr::{AtomicOp, Expr};
use super::node::{Node, Program};
use super::payload::Payload;
use super::types::{Access, BufferDecl, Literal};

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Literal::U32(v) => write!(f, "{v}u"),
            Literal::I32(v) => write!(f, "{v}i"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::F32(bits) => {
                let v = f32::from_bits(bits);
                if v.is_finite() {
                    write!(f, "{v:?}f")
                } else {
                    write!(f, "f32bits(0x{bits:08x})")
                }
            }
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Lit(l) => write!(f, "{l}"),
            Expr::Var(n) => f.write_str(n),
            Expr::Load { buffer, index } => write!(f, "{buffer}[{index}]"),
            Expr::Len(b) => write!(f, "len({b})"),
            Expr::Unary { op, arg } => write!(f, "{}({arg})", op.name()),
            Expr::Binary { op, lhs, rhs } => write!(f, "{}({lhs}, {rhs})", op.name()),
            Expr::Select {
                cond,
                on_true,
                on_false,
            } => write!(f, "select({cond}, {on_true}, {on_false})"),
            Expr::Cast { to, arg } => write!(f, "cast<{to}>({arg})"),
            Expr::Bitcast { to, arg } => write!(f, "bitcast<{to}>({arg})"),
            Expr::Atomic {
                op,
                buffer,
                index,
                value,
                expected,
            } => match (op, expected) {
                (AtomicOp::Load, _) => write!(f, "atomic_load({buffer}[{index}])"),
                (_, Some(exp)) => write!(f, "{}({buffer}[{index}], {exp}, {value})", op.name()),
                (_, None) => write!(f, "{}({buffer}[{index}], {value})", op.name()),
            },
            Expr::Builtin(b) => write!(f, "@{}", b.name()),
            Expr::UniformLoad { buffer, index } => write!(f, "uniform_load({buffer}[{index}])"),
        }
    }
}

impl fmt::Display for BufferDecl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let len = self.len.map(|n| n.to_string()).unwrap_or_default();
        write!(
            f,
            "buffer {}: {} {}[{}]",
            self.name,
            self.access.name(),
            self.elem,
            len
        )?;
        if self.access.is_bound() {
            write!(f, " @{}", self.binding)?;
        }
        if self.access == Access::Constant {
            write!(f, " = {}", WordList(&self.data))?;
        }
        Ok(())
    }
}

/// `[w, w, ...]`: the words of a constant buffer or table in the text form.
pub(crate) struct WordList<'a>(pub &'a [u32]);

impl fmt::Display for WordList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, w) in self.0.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{w}")?;
        }
        f.write_str("]")
    }
}

fn write_block(out: &mut String, nodes: &[Node], depth: usize) {
    for n in nodes {
        write_node(out, n, depth);
    }
}

fn write_node(out: &mut String, node: &Node, depth: usize) {
    let pad = "  ".repeat(depth);
    // Writing to a String cannot fail.
    let _ = match node {
        Node::Let { name, value } => writeln!(out, "{pad}let {name} = {value}"),
        Node::Assign { name, value } => writeln!(out, "{pad}{name} = {value}"),
        Node::Store {
            buffer,
            index,
            value,
        } => writeln!(out, "{pad}{buffer}[{index}] = {value}"),
        Node::Eval(e) => writeln!(out, "{pad}eval {e}"),
        Node::If {
            cond,
            then,
            otherwise,
        } => {
            let _ = writeln!(out, "{pad}if {cond} {{");
            write_block(out, then, depth + 1);
            if !otherwise.is_empty() {
                let _ = writeln!(out, "{pad}}} else {{");
                write_block(out, otherwise, depth + 1);
            }
            writeln!(out, "{pad}}}")
        }
        Node::For {
            var,
            start,
            end,
            step,
            body,
        } => {
            if *step == Expr::u32(1) {
                let _ = writeln!(out, "{pad}for {var} in {start}..{end} {{");
            } else {
                let _ = writeln!(out, "{pad}for {var} in {start}..{end} step {step} {{");
            }
            write_block(out, body, depth + 1);
            writeln!(out, "{pad}}}")
        }
        Node::Loop { body } => {
            let _ = writeln!(out, "{pad}loop {{");
            write_block(out, body, depth + 1);
            writeln!(out, "{pad}}}")
        }
        Node::Block(body) => {
            let _ = writeln!(out, "{pad}{{");
            write_block(out, body, depth + 1);
            writeln!(out, "{pad}}}")
        }
        Node::Break => writeln!(out, "{pad}break"),
        Node::Continue => writeln!(out, "{pad}continue"),
        Node::Barrier => writeln!(out, "{pad}barrier"),
        Node::Return => writeln!(out, "{pad}return"),
    };
}

/// The text form of a list of statements at indentation `depth`.
pub fn nodes_to_text(nodes: &[Node], depth: usize) -> String {
    let mut out = String::new();
    write_block(&mut out, nodes, depth);
    out
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(nodes_to_text(std::slice::from_ref(self), 0).trim_end())
    }
}

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "program {} workgroup_size {}",
            self.name, self.workgroup_size
        )?;
        for b in &self.buffers {
            writeln!(f, "{b}")?;
        }
        writeln!(f, "{{")?;
        f.write_str(&nodes_to_text(&self.body, 1))?;
        writeln!(f, "}}")
    }
}

impl fmt::Display for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "payload {} look_behind {}", self.name, self.look_behind)?;
        self.fmt_rest(f)?;
        if let Some(c) = &self.combine {
            writeln!(
                f,
                "combine {} identity {}",
                c.func.name,
                WordList(&c.identity)
            )?;
            c.func.fmt_rest(f)?;
        }
        Ok(())
    }
}

impl Payload {
    /// Parameters, tables and body, as `parse_payload` reads them.
    fn fmt_rest(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.params {
            write!(f, "param {}: {}", p.name, p.kind.name())?;
            if let Some(n) = p.len {
                write!(f, "[{n}]")?;
            }
            if p.reduce != crate::ir::Reduce::Sum {
                write!(f, " reduce {}", p.reduce.name())?;
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
