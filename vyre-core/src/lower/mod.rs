//! WGSL lowering: the one translation of vyre IR into WGSL.
//!
//! [`to_wgsl`] turns a [`Program`] into a WGSL compute shader that gives
//! exactly the results the [specification](crate::ir) describes, then checks
//! the text with naga's WGSL front end and validator.
//!
//! # Conventions of the generated code
//! * Names are mangled so IR names never clash with WGSL keywords or with
//!   each other: variables `v_<name>`, buffers `b_<name>`, temporaries
//!   `t_<n>`, per-buffer helpers `ld_<name>` / `st_<name>` /
//!   `at_<op>_<name>`, generic helpers `vy_*`. A name that is not an ASCII
//!   identifier is spelled in hex (`vx<hex>`, `bx<hex>`, ...).
//! * Every IR `let` becomes a WGSL `var` (IR variables are mutable).
//! * Host buffers are `@group(0) @binding(n)` storage (`read` / `read_write`)
//!   or uniform buffers; uniform buffers are `array<vec4<u32>, N/4>` indexed
//!   `[i / 4][i % 4]`. Workgroup buffers are `var<workgroup>` arrays. A
//!   buffer that is the target of any atomic is declared with atomic elements
//!   and every plain access to it becomes `atomicLoad` / `atomicStore`.
//! * Every load, store and atomic goes through a bounds-checked helper: out of
//!   range loads (and atomics) give 0, out of range stores do nothing.
//! * Every case WGSL leaves undefined or implementation-defined is spelled out:
//!   integer division and remainder by 0 and `i32::MIN / -1`, shift amounts
//!   (`& 31`), rotates, f32 → integer casts (saturating, NaN → 0), integer →
//!   f32 casts (round to nearest even, computed exactly), f32 `min`/`max`
//!   with NaN and signed zeros, f32 remainder.
//! * naga evaluates expressions made only of constants while parsing and
//!   rejects overflow, division by zero and non-finite results there. So an
//!   operation whose operands are all constants routes its first operand
//!   through an opaque identity function (`vy_rt_*`), which makes it a
//!   run-time operation with the wrapping run-time semantics.
//! * The output is deterministic (same program, same text) and indented.

mod expr;
mod helpers;

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::error::{Error, Result};
use crate::ir::{Access, BufferDecl, DataType, Expr, Node, Program};
use crate::validate::Diagnostic;
use helpers::Helper;

/// Lowers `program` to WGSL and checks the result with naga.
///
/// Returns [`Error::Invalid`] for programs the lowering cannot express (unknown
/// names, type errors, atomics in the wrong place: the
/// [validator](crate::validate) rejects all of these first), and
/// [`Error::Internal`] if naga rejects the generated WGSL (a lowering bug).
pub fn to_wgsl(program: &Program) -> Result<String> {
    let wgsl = Lowerer::new(program)?.finish()?;
    check_with_naga(program, &wgsl)?;
    Ok(wgsl)
}

/// Parses and validates `wgsl` with naga, as [`to_wgsl`] does.
fn check_with_naga(program: &Program, wgsl: &str) -> Result<()> {
    let bug = |msg: String| {
        Error::internal(format!(
            "the WGSL generated for program `{}` was rejected by naga (a lowering bug; report it with the program text):\n{msg}\n--- WGSL ---\n{wgsl}\n--- program ---\n{program}",
            program.name
        ))
    };
    let module = naga::front::wgsl::parse_str(wgsl).map_err(|e| bug(e.emit_to_string(wgsl)))?;
    let mut validator = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::empty(),
    );
    validator
        .validate(&module)
        .map_err(|e| bug(e.emit_to_string(wgsl)))?;
    Ok(())
}

/// True for `[A-Za-z_][A-Za-z0-9_]*`.
fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `<prefix>_<name>`, or `<prefix>x<hex of name>` when `name` is not an
/// identifier: injective, and never a WGSL keyword.
pub(crate) fn mangle(prefix: &str, name: &str) -> String {
    if is_ident(name) {
        format!("{prefix}_{name}")
    } else {
        let mut s = format!("{prefix}x");
        for b in name.bytes() {
            let _ = write!(s, "{b:02x}");
        }
        s
    }
}

/// A variable in scope.
struct Var {
    name: String,
    ty: DataType,
    read_only: bool,
}

/// State of one lowering.
pub(crate) struct Lowerer<'p> {
    program: &'p Program,
    /// Per buffer (index into `program.buffers`): target of any atomic.
    atomic: Vec<bool>,
    helpers: BTreeSet<Helper>,
    scopes: Vec<Vec<Var>>,
    temps: u32,
    loops: u32,
    path: Vec<String>,
    body: String,
}

impl<'p> Lowerer<'p> {
    fn new(program: &'p Program) -> Result<Self> {
        let mut l = Lowerer {
            program,
            atomic: vec![false; program.buffers.len()],
            helpers: BTreeSet::new(),
            scopes: Vec::new(),
            temps: 0,
            loops: 0,
            path: vec!["program".to_string()],
            body: String::new(),
        };
        l.check_decls()?;
        // The names of buffers that are targets of atomics, in program order.
        let mut targets: Vec<String> = Vec::new();
        crate::ir::walk_exprs(&program.body, &mut |e| {
            if let Expr::Atomic { buffer, .. } = e {
                if !targets.contains(buffer) {
                    targets.push(buffer.clone());
                }
            }
        });
        for t in targets {
            let (i, decl) = l.buffer(&t)?;
            if !decl.access.allows_atomics() || !decl.elem.is_integer() {
                return Err(l.invalid(format!(
                    "buffer `{t}` ({} {}) is the target of an atomic. Fix: atomics need a read_write or workgroup buffer of u32 or i32",
                    decl.access.name(),
                    decl.elem
                )));
            }
            l.atomic[i] = true;
        }
        Ok(l)
    }

    /// An [`Error::Invalid`] at the current location.
    fn invalid(&self, message: String) -> Error {
        Error::Invalid {
            program: self.program.name.clone(),
            problems: vec![Diagnostic {
                location: self.path.join("."),
                message,
            }],
        }
    }

    fn check_decls(&self) -> Result<()> {
        let p = self.program;
        if p.workgroup_size == 0 {
            return Err(self.invalid(
                "workgroup_size is 0. Fix: use 1..=1024 invocations per workgroup".into(),
            ));
        }
        let mut bindings = BTreeSet::new();
        for (i, b) in p.buffers.iter().enumerate() {
            if p.buffers[..i].iter().any(|o| o.name == b.name) {
                return Err(self.invalid(format!(
                    "buffer `{}` is declared twice. Fix: give each buffer its own name",
                    b.name
                )));
            }
            if b.elem == DataType::Bool {
                return Err(self.invalid(format!(
                    "buffer `{}` has element type bool. Fix: store bools as u32 0/1",
                    b.name
                )));
            }
            if b.access.is_bound() && !bindings.insert(b.binding) {
                return Err(self.invalid(format!(
                    "binding {} is used by more than one buffer (`{}`). Fix: give each host or constant buffer its own binding",
                    b.binding, b.name
                )));
            }
            match (b.access, b.len) {
                (Access::Workgroup | Access::Uniform | Access::Constant, None | Some(0)) => {
                    return Err(self.invalid(format!(
                        "{} buffer `{}` needs a fixed, non-zero length. Fix: declare it with a length",
                        b.access.name(),
                        b.name
                    )))
                }
                (Access::Uniform, Some(n)) if n % 4 != 0 => {
                    return Err(self.invalid(format!(
                        "uniform buffer `{}` has {n} elements, not a multiple of 4. Fix: round its length up to a multiple of 4",
                        b.name
                    )))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The buffer called `name` and its index.
    fn buffer(&self, name: &str) -> Result<(usize, &'p BufferDecl)> {
        self.program
            .buffers
            .iter()
            .enumerate()
            .find(|(_, b)| b.name == name)
            .ok_or_else(|| {
                self.invalid(format!(
                    "unknown buffer `{name}`. Fix: declare it in the program's buffers"
                ))
            })
    }

    fn lookup(&self, name: &str) -> Option<&Var> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter())
            .find(|v| v.name == name)
    }

    fn declare(&mut self, name: &str, ty: DataType, read_only: bool) -> Result<String> {
        if self.lookup(name).is_some() {
            return Err(self.invalid(format!(
                "`{name}` is already declared in an enclosing scope. Fix: use a different name (no shadowing)"
            )));
        }
        if let Some(scope) = self.scopes.last_mut() {
            scope.push(Var {
                name: name.to_string(),
                ty,
                read_only,
            });
        }
        Ok(mangle("v", name))
    }

    fn temp(&mut self) -> String {
        self.temps += 1;
        format!("t_{}", self.temps)
    }

    fn line(&mut self, depth: usize, text: &str) {
        for _ in 0..depth {
            self.body.push_str("    ");
        }
        self.body.push_str(text);
        self.body.push('\n');
    }

    fn block(&mut self, nodes: &[Node], depth: usize, field: &str) -> Result<()> {
        self.scopes.push(Vec::new());
        for (i, n) in nodes.iter().enumerate() {
            self.path.push(format!("{field}[{i}]"));
            self.node(n, depth)?;
            self.path.pop();
        }
        self.scopes.pop();
        Ok(())
    }

    fn node(&mut self, node: &Node, d: usize) -> Result<()> {
        match node {
            Node::Let { name, value } => {
                let (code, ty) = self.top_value(value, d)?;
                let v = self.declare(name, ty, false)?;
                // Declared, then assigned: naga (wgpu 30) may hoist a constant
                // initializer to function entry, so a `var` inside a loop would
                // not be re-initialized on each iteration.
                self.line(d, &format!("var {v}: {};", wgsl_type(ty)));
                self.line(d, &format!("{v} = {code};"));
            }
            Node::Assign { name, value } => {
                let (code, ty) = self.top_value(value, d)?;
                let var = self
                    .lookup(name)
                    .ok_or_else(|| self.invalid(format!("assignment to undeclared variable `{name}`. Fix: declare it with `let` first")))?;
                if var.read_only {
                    return Err(self.invalid(format!(
                        "`{name}` is a `for` variable and read-only. Fix: copy it into a `let`"
                    )));
                }
                if var.ty != ty {
                    return Err(self.invalid(format!(
                        "assigning a {ty} value to `{name}` of type {}. Fix: cast the value",
                        var.ty
                    )));
                }
                self.line(d, &format!("{} = {code};", mangle("v", name)));
            }
            Node::Store {
                buffer,
                index,
                value,
            } => {
                let (bi, decl) = self.buffer(buffer)?;
                if !decl.access.is_writable() {
                    return Err(self.invalid(format!(
                        "store into {} buffer `{buffer}`. Fix: declare it read_write (or workgroup)",
                        decl.access.name()
                    )));
                }
                let i = self.expr_of(index, DataType::U32, "store index")?;
                let v = self.expr_of(value, decl.elem, "stored value")?;
                self.helpers.insert(Helper::Store(bi));
                self.line(
                    d,
                    &format!("{}({}, {});", mangle("st", buffer), i.code, v.code),
                );
            }
            Node::Eval(e) => {
                let (code, _) = self.top_value(e, d)?;
                self.line(d, &format!("_ = {code};"));
            }
            Node::If {
                cond,
                then,
                otherwise,
            } => {
                let c = self.expr_of(cond, DataType::Bool, "if condition")?;
                self.line(d, &format!("if ({}) {{", c.code));
                self.block(then, d + 1, "then")?;
                if !otherwise.is_empty() {
                    self.line(d, "} else {");
                    self.block(otherwise, d + 1, "otherwise")?;
                }
                self.line(d, "}");
            }
            Node::For {
                var,
                start,
                end,
                step,
                body,
            } => self.for_loop(var, start, end, step, body, d)?,
            Node::Loop { body } => {
                self.line(d, "loop {");
                self.loops += 1;
                self.block(body, d + 1, "body")?;
                self.loops -= 1;
                self.line(d, "}");
            }
            Node::Break | Node::Continue => {
                if self.loops == 0 {
                    return Err(self.invalid(
                        "`break`/`continue` outside a loop. Fix: put it inside a `for` or `loop`"
                            .into(),
                    ));
                }
                self.line(
                    d,
                    if matches!(node, Node::Break) {
                        "break;"
                    } else {
                        "continue;"
                    },
                );
            }
            Node::Block(body) => {
                self.line(d, "{");
                self.block(body, d + 1, "body")?;
                self.line(d, "}");
            }
            Node::Barrier => {
                self.line(d, "workgroupBarrier();");
                self.line(d, "storageBarrier();");
            }
            Node::Return => self.line(d, "return;"),
        }
        Ok(())
    }

    /// `for var in start..end step s`: evaluated once, step 0 counts as 1,
    /// the counter stops at `end` instead of wrapping.
    fn for_loop(
        &mut self,
        var: &str,
        start: &Expr,
        end: &Expr,
        step: &Expr,
        body: &[Node],
        d: usize,
    ) -> Result<()> {
        let s = self.expr_of(start, DataType::U32, "for start")?;
        let e = self.expr_of(end, DataType::U32, "for end")?;
        let st = self.expr_of(step, DataType::U32, "for step")?;
        // `max` cannot fail when folded, so constant steps need no laundering.
        let st = expr::Lowered::constant(&format!("max({}, 1u)", st.code), DataType::U32);
        let (te, ts) = (self.temp(), self.temp());
        self.line(d, "{");
        self.scopes.push(Vec::new());
        let v = self.declare(var, DataType::U32, true)?;
        self.line(d + 1, &format!("var {v}: u32;"));
        self.line(d + 1, &format!("{v} = {};", s.code));
        self.line(d + 1, &format!("let {te}: u32 = {};", e.code));
        self.line(d + 1, &format!("let {ts}: u32 = {};", st.code));
        self.line(d + 1, "loop {");
        self.line(d + 2, &format!("if ({v} >= {te}) {{ break; }}"));
        self.loops += 1;
        self.block(body, d + 2, "body")?;
        self.loops -= 1;
        self.line(d + 2, "continuing {");
        self.line(
            d + 3,
            &format!("if (({te} - {v}) <= {ts}) {{ {v} = {te}; }} else {{ {v} = {v} + {ts}; }}"),
        );
        self.line(d + 2, "}");
        self.line(d + 1, "}");
        self.scopes.pop();
        self.line(d, "}");
        Ok(())
    }

    /// The value of a `let`, an assignment or an `eval`: the only places an
    /// atomic or a uniform load may appear.
    fn top_value(&mut self, e: &Expr, d: usize) -> Result<(String, DataType)> {
        match e {
            Expr::Atomic {
                op,
                buffer,
                index,
                value,
                expected,
            } => self.atomic(*op, buffer, index, value, expected.as_deref()),
            Expr::UniformLoad { buffer, index } => {
                let (_, decl) = self.buffer(buffer)?;
                let n = match (decl.access, decl.len) {
                    (Access::Workgroup, Some(n)) => n,
                    _ => {
                        return Err(self.invalid(format!(
                            "uniform_load of {} buffer `{buffer}`. Fix: uniform_load reads workgroup buffers only",
                            decl.access.name()
                        )))
                    }
                };
                let (bi, _) = self.buffer(buffer)?;
                if self.atomic[bi] {
                    return Err(self.invalid(format!(
                        "uniform_load of `{buffer}`, which is the target of atomics. Fix: use a separate, non-atomic workgroup buffer"
                    )));
                }
                let i = self.expr_of(index, DataType::U32, "uniform_load index")?;
                let t = self.temp();
                self.line(d, &format!("let {t}: u32 = {};", i.code));
                let code = format!(
                    "select({}, workgroupUniformLoad(&{}[min({t}, {}u)]), {t} < {n}u)",
                    zero(decl.elem),
                    mangle("b", buffer),
                    n - 1
                );
                Ok((code, decl.elem))
            }
            _ => {
                let l = self.expr(e)?;
                Ok((l.code, l.ty))
            }
        }
    }

    /// Assembles the module: buffers, helpers, entry point.
    fn finish(mut self) -> Result<String> {
        let program = self.program;
        self.scopes.push(Vec::new());
        self.path = vec![];
        let mut main_body = constant_prologue(program);
        for (i, n) in program.body.iter().enumerate() {
            self.path = vec![format!("body[{i}]")];
            self.node(n, 1)?;
            main_body.push_str(&std::mem::take(&mut self.body));
        }
        let mut out = String::new();
        let name: String = program
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() || c == ' ' {
                    c
                } else {
                    '?'
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "// vyre program `{name}`: generated by vyre::lower::to_wgsl, do not edit."
        );
        out.push('\n');
        let mut any_buffer = false;
        for (i, b) in program.buffers.iter().enumerate() {
            out.push_str(&buffer_decl(b, self.atomic[i]));
            any_buffer = true;
        }
        if any_buffer {
            out.push('\n');
        }
        for h in helpers::with_dependencies(&self.helpers) {
            out.push_str(&helpers::text(h, program, &self.atomic));
            out.push('\n');
        }
        let _ = writeln!(out, "@compute @workgroup_size({})", program.workgroup_size);
        out.push_str(
            "fn main(\n    @builtin(global_invocation_id) vy_gid: vec3<u32>,\n    @builtin(local_invocation_id) vy_lid: vec3<u32>,\n    \
             @builtin(workgroup_id) vy_wid: vec3<u32>,\n    @builtin(num_workgroups) vy_nwg: vec3<u32>,\n) {\n",
        );
        out.push_str(&main_body);
        out.push_str("}\n");
        Ok(out)
    }
}

/// The WGSL spelling of a scalar type.
pub(crate) fn wgsl_type(ty: DataType) -> &'static str {
    match ty {
        DataType::U32 => "u32",
        DataType::I32 => "i32",
        DataType::F32 => "f32",
        DataType::Bool => "bool",
    }
}

/// The zero of a type.
pub(crate) fn zero(ty: DataType) -> &'static str {
    match ty {
        DataType::U32 => "0u",
        DataType::I32 => "0i",
        DataType::F32 => "0.0f",
        DataType::Bool => "false",
    }
}

/// The declaration of one buffer.
fn buffer_decl(b: &BufferDecl, atomic: bool) -> String {
    let elem = if atomic {
        format!("atomic<{}>", wgsl_type(b.elem))
    } else {
        wgsl_type(b.elem).to_string()
    };
    let name = mangle("b", &b.name);
    let len = b.len.unwrap_or(0);
    match b.access {
        Access::ReadOnly => format!(
            "@group(0) @binding({}) var<storage, read> {name}: array<{elem}>;\n",
            b.binding
        ),
        Access::ReadWrite => format!(
            "@group(0) @binding({}) var<storage, read_write> {name}: array<{elem}>;\n",
            b.binding
        ),
        Access::Uniform => {
            format!(
                "@group(0) @binding({}) var<uniform> {name}: array<vec4<u32>, {}>;\n",
                b.binding,
                len / 4
            )
        }
        Access::Workgroup => format!("var<workgroup> {name}: array<{elem}, {len}>;\n"),
        // The table's words come from a uniform buffer the backend fills
        // (uniform bindings have their own, separate limit); the program
        // reads the workgroup copy (`constant_prologue`).
        Access::Constant => format!(
            "@group(0) @binding({}) var<uniform> {}: array<vec4<u32>, {}>;\nvar<workgroup> {name}: array<{elem}, {len}>;\n",
            b.binding,
            mangle("c", &b.name),
            len.div_ceil(4)
        ),
    }
}

/// The start of `main` when the program has constant tables: every
/// invocation copies its share of each table from its uniform buffer into
/// workgroup memory, then one barrier (uniform: nothing has run yet).
fn constant_prologue(program: &Program) -> String {
    let mut out = String::new();
    let tables: Vec<&BufferDecl> = program
        .buffers
        .iter()
        .filter(|b| b.access == Access::Constant)
        .collect();
    if tables.is_empty() {
        return out;
    }
    for b in &tables {
        let len = b.len.unwrap_or(0);
        let _ = writeln!(
            out,
            "    for (var vy_k: u32 = vy_lid.x; vy_k < {len}u; vy_k += {}u) {{ {}[vy_k] = bitcast<{}>({}[vy_k / 4u][vy_k % 4u]); }}",
            program.workgroup_size,
            mangle("b", &b.name),
            wgsl_type(b.elem),
            mangle("c", &b.name)
        );
    }
    out.push_str("    workgroupBarrier();\n");
    out
}
