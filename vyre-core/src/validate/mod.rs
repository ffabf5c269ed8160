//! The validator: every rule a [`Program`] must follow before a backend runs
//! it, checked in one place, separately from the backends (like naga's
//! `valid` module).
//!
//! [`validate`] returns **all** problems found, not just the first. Each
//! [`Diagnostic`] names the program and a path to the offending item that a
//! human can follow, such as ``program `sum`, body[2].then[0] (let x)`` (the
//! third top-level node is an `if`; the first node of its `then` block is
//! `let x`). Path segments are `body` (the program body and the bodies of
//! `for` and `loop`), `then`, `else` and `block`. Every message says what is
//! wrong and ends with `Fix: <what to do>`.
//!
//! The validator never panics, whatever the input. Before it recurses into a
//! program it measures it with recursion that stops at the [`Limits`], so
//! absurdly deep or huge programs give diagnostics, not stack overflows.
//! (Dropping, cloning or printing such a program is the caller's business:
//! those are recursive in Rust.)
//!
//! # Rules
//!
//! ## Structure ([`Limits`])
//! * Statements nest at most `max_node_depth` levels deep (default 64; a
//!   top-level statement is at level 1).
//! * Each expression tree is at most `max_expr_depth` levels deep (default 64).
//! * At most `max_nodes` statements (default 1 000 000) and `max_exprs`
//!   expression nodes (default 4 000 000) in all.
//!
//! When one of these is exceeded only the structural diagnostics (and the
//! buffer checks) are reported: the other checks need to recurse.
//! At most `max_diagnostics` diagnostics are listed (default 1000); one more
//! says how many were left out.
//!
//! ## Program and buffers
//! * `workgroup_size` is in `1..=256`. 256 is vyre's portable limit: it is
//!   WebGPU's default `maxComputeInvocationsPerWorkgroup`, so every adapter
//!   runs it.
//! * Buffer names are identifiers (`[A-Za-z_][A-Za-z0-9_]*`) that do not
//!   start with `__` (reserved), and are unique.
//! * Host-visible buffers (all but workgroup ones) have unique bindings.
//! * The element type is `u32`, `i32` or `f32`, never `bool`.
//! * Workgroup and uniform buffers need a fixed `len`; every fixed `len` is
//!   greater than 0.
//! * Uniform buffers: `len` is a multiple of 4 (they are `vec4` arrays) and
//!   at most 16384 elements (64 KiB, WebGPU's default
//!   `maxUniformBufferBindingSize`).
//! * All workgroup buffers together hold at most 16 KiB (WebGPU's default
//!   `maxComputeWorkgroupStorageSize`).
//!
//! ## Variables and scope
//! * A variable must be declared (`let` or `for`) in an enclosing scope
//!   before it is used; `let x = x` uses an outer `x`, so it is an error when
//!   there is none.
//! * A name may not be declared while a variable of that name is in scope
//!   (no shadowing, including `for` variables); sibling blocks may reuse
//!   names. Variable names follow the same identifier rule as buffer names.
//! * Only declared `let` variables may be assigned: not unknown names, not
//!   `for` variables (read-only), and only with a value of the declared type
//!   (the type of the `let`'s value).
//!
//! ## Types (see the [IR specification](crate::ir))
//! * No implicit conversions: binary operands have the same type, except that
//!   shift and rotate amounts (`shl`, `shr`, `rotl`, `rotr`) are `u32` and
//!   their left operand is an integer.
//! * `add`, `sub`, `mul`, `div`, `rem`, `min`, `max`, `neg`: integers or f32.
//! * `bitand`, `bitor`, `bitxor`, `bitnot`, `clz`, `ctz`, `popcount`:
//!   integers only (for bools use `and`, `or`, `not`).
//! * `lt`, `le`, `gt`, `ge`: two operands of the same non-bool type; `eq`,
//!   `ne`: any same type. All return `bool`.
//! * `and`, `or`, `not`: bools only.
//! * `select(c, a, b)`: `c` is bool, `a` and `b` have the same type.
//! * `cast` may target any type; `bitcast` only converts between `u32`, `i32`
//!   and `f32`.
//! * Conditions of `if` are bool; `for` start, end and step are `u32`;
//!   builtins and `len` are `u32`.
//!
//! ## Memory
//! * Every buffer named by a load, store, atomic, `uniform_load` or `len`
//!   must be declared. Indices are `u32`; a stored value has the buffer's
//!   element type.
//! * Stores need a `read_write` or `workgroup` buffer.
//! * `len` only applies to host-visible buffers.
//! * Atomics need a `read_write` or `workgroup` buffer of `u32` or `i32`;
//!   their value (except for `atomic_load`, which ignores it) and the
//!   `expected` value of `atomic_compare_exchange` have the element type;
//!   only `atomic_compare_exchange` has an `expected` value, and it must.
//! * An atomic may only be the whole value of a `let`, an assignment or an
//!   `eval`. `uniform_load` may only be the whole value of a `let` or an
//!   assignment, and only reads a `workgroup` buffer that is not the target
//!   of any atomic.
//! * `eval` of anything but an atomic is an error: it would have no effect.
//!
//! ## Control flow
//! * `break` and `continue` must be inside a `for` or `loop`.
//!
//! ## Uniformity (only for programs with `barrier` or `uniform_load`)
//! A `barrier` and a `uniform_load` must be reached by every invocation of
//! the workgroup together ("uniform control flow"), and the index of a
//! `uniform_load` must be uniform. The validator decides this with a sound,
//! conservative analysis:
//!
//! * **Uniform values**: literals, `workgroup_id`, `num_workgroups`,
//!   `workgroup_size`, `len(b)`, results of `uniform_load`, loads from
//!   `uniform` buffers at a uniform index, and any operator, `select`, cast
//!   or bitcast of uniform values. `global_id`, `local_id`, loads from any
//!   other buffer and atomics are non-uniform.
//! * A **variable** is uniform when its `let` value and every value assigned
//!   to it (anywhere in the program) are uniform and none of those happen in
//!   non-uniform control flow. A `for` variable is uniform when its loop's
//!   body is in uniform control flow (below).
//! * **Control flow** is uniform at the start of the program. It stays
//!   uniform inside an `if` whose condition is uniform, and inside a `for`
//!   whose start, end and step are uniform.
//! * A `return`, `break` or `continue` reached in non-uniform control flow
//!   makes the code after the statement that contains it non-uniform (in
//!   that block and in every enclosing block up to the loop it leaves or
//!   continues; up to the end of the program for `return`), and makes the
//!   **whole body** of the enclosing `for`/`loop` non-uniform (some
//!   invocations run fewer iterations). So a `loop` may contain a barrier
//!   only if all its `break`s, `continue`s and `return`s are reached in
//!   uniform control flow. Code after a loop is uniform again if it was
//!   before the loop (every invocation leaves the loop eventually).
//!
//! The diagnostic for a violation explains the chain of dependencies that
//! makes the barrier non-uniform, down to the non-uniform source.
//!
//! This analysis follows the intent of WGSL's uniformity rules but is not
//! identical to them (WGSL tracks some cases more precisely; this one is
//! stricter about `uniform_load` indices than naga, which does not check
//! them). On the GPU, naga's and the driver's analyses are the final word;
//! a program this validator accepts is meant to be accepted by them too.

mod buffers;
mod scan;
mod scope;
mod types;
mod uniformity;

use std::fmt::{self, Write};

use crate::error::{Error, Result};
use crate::ir::{Expr, Node, Program};
pub(crate) use buffers::MAX_WORKGROUP_BYTES;

/// One problem found by the validator (defined with the error type, which
/// carries a list of them; see [`crate::error::Diagnostic`]).
pub use crate::error::Diagnostic;

/// Size limits the validator enforces before it recurses into a program.
///
/// The validator recurses about `max_node_depth + max_expr_depth` frames
/// deep, so raising the depth limits far above the defaults can exhaust the
/// stack; lowering them is always safe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Deepest statement nesting (a top-level statement is at depth 1).
    pub max_node_depth: u32,
    /// Deepest expression tree (a lone literal has depth 1).
    pub max_expr_depth: u32,
    /// Most statements in the whole program.
    pub max_nodes: u64,
    /// Most expression nodes in the whole program.
    pub max_exprs: u64,
    /// Most diagnostics listed (one more tells how many were left out).
    pub max_diagnostics: usize,
}

impl Limits {
    /// The limits [`validate`] uses.
    pub const DEFAULT: Limits = Limits {
        max_node_depth: crate::ir::MAX_NODE_DEPTH,
        max_expr_depth: crate::ir::MAX_EXPR_DEPTH,
        max_nodes: 1_000_000,
        max_exprs: 4_000_000,
        max_diagnostics: 1000,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// Checks `program` against every rule in the [module docs](self) and
/// returns all problems found (empty list never: `Ok` when there are none).
pub fn validate(program: &Program) -> std::result::Result<(), Vec<Diagnostic>> {
    validate_with_limits(program, &Limits::DEFAULT)
}

/// [`validate`] with other size [`Limits`] (e.g. smaller ones for tests or
/// untrusted input).
pub fn validate_with_limits(
    program: &Program,
    limits: &Limits,
) -> std::result::Result<(), Vec<Diagnostic>> {
    let mut diags = Diags::new(program, limits.max_diagnostics);
    let buffers = buffers::check(program, &mut diags);
    let Some(shape) = scan::scan(program, limits, &mut diags) else {
        return diags.finish();
    };
    let shared = Shared {
        program,
        buffers,
        atomic_targets: shape.atomic_targets,
        max_expr_depth: limits.max_expr_depth,
    };
    scope::check(&shared, &mut diags);
    if shape.needs_uniformity {
        uniformity::check(&shared, &mut diags);
    }
    diags.finish()
}

/// [`validate`], with the problems wrapped in [`Error::Invalid`].
pub fn validate_or_error(program: &Program) -> Result<()> {
    validate(program).map_err(|problems| Error::Invalid {
        program: program.name.clone(),
        problems,
    })
}

/// What every pass needs to know about the program.
pub(crate) struct Shared<'p> {
    pub(crate) program: &'p Program,
    /// The first declaration of each buffer name.
    pub(crate) buffers: std::collections::HashMap<&'p str, &'p crate::ir::BufferDecl>,
    /// Buffers that are the target of some atomic.
    pub(crate) atomic_targets: std::collections::HashSet<&'p str>,
    /// Recursion guard for expression walks (the scan already enforced it).
    pub(crate) max_expr_depth: u32,
}

/// Collects diagnostics, up to a maximum.
pub(crate) struct Diags {
    program: String,
    list: Vec<Diagnostic>,
    max: usize,
    dropped: u64,
}

impl Diags {
    fn new(program: &Program, max: usize) -> Self {
        Diags {
            program: show(&program.name),
            list: Vec::new(),
            max,
            dropped: 0,
        }
    }

    /// Records a problem at `place` (e.g. `body[1] (if)`).
    pub(crate) fn push(&mut self, place: &str, message: String) {
        if self.list.len() < self.max {
            self.list.push(Diagnostic {
                location: format!("program {}, {place}", self.program),
                message,
            });
        } else {
            self.dropped = self.dropped.saturating_add(1);
        }
    }

    fn finish(mut self) -> std::result::Result<(), Vec<Diagnostic>> {
        if self.dropped > 0 {
            let message = format!(
                "{} more problem(s) were found but not listed. Fix: correct the problems above and validate again",
                self.dropped
            );
            self.list.push(Diagnostic {
                location: format!("program {}", self.program),
                message,
            });
        }
        if self.list.is_empty() {
            Ok(())
        } else {
            Err(self.list)
        }
    }
}

/// A path to a statement: `(segment, index, node)` per level.
pub(crate) type Path<'p> = Vec<(&'static str, usize, &'p Node)>;

/// Renders a path as `body[2].then[0] (let x)`.
pub(crate) fn render_path(path: &[(&'static str, usize, &Node)]) -> String {
    let mut s = String::new();
    for (i, (seg, idx, _)) in path.iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        let _ = write!(s, "{seg}[{idx}]");
    }
    if let Some((_, _, node)) = path.last() {
        let _ = write!(s, " ({})", describe(node));
    }
    s
}

/// A short description of a statement: `let x`, `if`, `for i`, ...
pub(crate) fn describe(node: &Node) -> String {
    match node {
        Node::Let { name, .. } => format!("let {}", short(name)),
        Node::Assign { name, .. } => format!("assign {}", short(name)),
        Node::Store { buffer, .. } => format!("store {}", short(buffer)),
        Node::Eval(_) => "eval".into(),
        Node::If { .. } => "if".into(),
        Node::For { var, .. } => format!("for {}", short(var)),
        Node::Loop { .. } => "loop".into(),
        Node::Break => "break".into(),
        Node::Continue => "continue".into(),
        Node::Block(_) => "block".into(),
        Node::Barrier => "barrier".into(),
        Node::Return => "return".into(),
    }
}

const SHOW_MAX: usize = 48;

/// A name for a message: at most [`SHOW_MAX`] characters, control characters
/// escaped, no backticks.
pub(crate) fn short(name: &str) -> String {
    let mut s = String::new();
    for (i, c) in name.chars().enumerate() {
        if i == SHOW_MAX {
            s.push('…');
            break;
        }
        if c.is_control() {
            s.extend(c.escape_debug());
        } else {
            s.push(c);
        }
    }
    if name.is_empty() {
        s.push_str("<empty>");
    }
    s
}

/// [`short`] in backticks.
pub(crate) fn show(name: &str) -> String {
    format!("`{}`", short(name))
}

/// An expression in its text form, in backticks, cut after about 60
/// characters (printing stops there, so huge expressions cost nothing).
pub(crate) fn show_expr(e: &Expr) -> String {
    struct Capped {
        s: String,
        left: usize,
    }
    impl Write for Capped {
        fn write_str(&mut self, text: &str) -> fmt::Result {
            for c in text.chars() {
                if self.left == 0 {
                    return Err(fmt::Error);
                }
                self.left -= 1;
                if c.is_control() {
                    self.s.extend(c.escape_debug());
                } else {
                    self.s.push(c);
                }
            }
            Ok(())
        }
    }
    let mut w = Capped {
        s: String::new(),
        left: 60,
    };
    let cut = write!(w, "{e}").is_err();
    if cut {
        w.s.push('…');
    }
    format!("`{}`", w.s)
}

/// Why `name` is not a valid identifier, if it is not.
pub(crate) fn identifier_problem(name: &str) -> Option<&'static str> {
    let mut chars = name.chars();
    match chars.next() {
        None => return Some("is empty"),
        Some(c) if !(c.is_ascii_alphabetic() || c == '_') => {
            return Some("does not start with an ASCII letter or `_`")
        }
        _ => {}
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Some("contains a character other than ASCII letters, digits and `_`");
    }
    if name.starts_with("__") {
        return Some("starts with `__`, which is reserved for vyre");
    }
    None
}
