//! Compiles a [`Program`] into the interpreter's [internal form](super::form).
//!
//! Variables become numbered slots, buffers become indices into one memory
//! table (host buffers first, in binding order, then workgroup buffers), and
//! every operation is resolved by its operand type so evaluation never looks
//! at a name or a type again. Everything the program controls is checked
//! here, so evaluation cannot fail: an ill-typed or ill-scoped program is a
//! [`Error::BadInput`], never a panic.
//!
//! Nothing here recurses: expressions are compiled with a work stack
//! ([`super::expr`]) and statement lists with a stack of open lists.
//! Statement nesting is still capped at [`MAX_NODE_DEPTH`] (dropping the
//! compiled tree, like dropping the IR, recurses once per level).

use std::collections::HashMap;

use super::expr::{compile_expr, Scope};
use super::form::{Atom, CAtomic, CExpr, CNode, Compiled};
use crate::error::{Error, Result};
use crate::ir::{Access, AtomicOp, BufferDecl, DataType, Expr, Node, Program};

/// Deepest statement nesting accepted (compilation recurses on statements).
pub(crate) const MAX_NODE_DEPTH: usize = 256;
/// Most workgroup-buffer words one program may declare in all.
const MAX_WORKGROUP_WORDS: u64 = 1 << 24;
/// Most variable slots for all invocations of one workgroup together.
const MAX_SLOT_WORDS: u64 = 1 << 26;

#[derive(Clone, Copy)]
struct BufInfo {
    mem: u32,
    elem: DataType,
    access: Access,
}

impl BufInfo {
    /// Buffer `decl` at memory index `mem`.
    fn at(decl: &BufferDecl, mem: usize) -> BufInfo {
        BufInfo {
            mem: mem as u32,
            elem: decl.elem,
            access: decl.access,
        }
    }
}

#[derive(Clone, Copy)]
struct VarInfo {
    slot: u32,
    ty: DataType,
    read_only: bool,
}

struct Compiler<'p> {
    program: &'p Program,
    bufs: HashMap<&'p str, BufInfo>,
    vars: HashMap<&'p str, VarInfo>,
    scopes: Vec<Vec<&'p str>>,
    /// Where we are, for messages: (`body`/`then`/..., statement index).
    path: Vec<(&'static str, usize)>,
    n_slots: u32,
    loop_depth: u32,
    has_barrier: bool,
}

/// Compiles `program`, checking everything evaluation relies on.
pub(crate) fn compile(program: &Program) -> Result<Compiled> {
    let bad = |msg: String, fix: String| {
        Error::bad_input(format!("program `{}`: {msg}", program.name), fix)
    };
    if program.workgroup_size == 0 || program.workgroup_size > 1024 {
        return Err(bad(
            format!(
                "workgroup size {} is outside 1..=1024",
                program.workgroup_size
            ),
            "use a workgroup size between 1 and 1024".to_string(),
        ));
    }
    let mut bufs = HashMap::new();
    for (i, decl) in program.host_buffers().iter().enumerate() {
        bufs.insert(decl.name.as_str(), BufInfo::at(decl, i));
    }
    let n_host = bufs.len();
    let mut workgroup_lens = Vec::new();
    let mut workgroup_words = 0u64;
    for decl in program
        .buffers
        .iter()
        .filter(|b| b.access == Access::Workgroup)
    {
        let Some(len) = decl.len else {
            return Err(bad(
                format!("workgroup buffer `{}` has no fixed length", decl.name),
                "give it a length with BufferDecl::workgroup(name, elem, len)".to_string(),
            ));
        };
        workgroup_words += u64::from(len);
        if len == 0 || workgroup_words > MAX_WORKGROUP_WORDS {
            return Err(bad(
                format!(
                    "workgroup buffer `{}` has length {len} (total {workgroup_words} words)",
                    decl.name
                ),
                format!("use between 1 and {MAX_WORKGROUP_WORDS} words of workgroup memory"),
            ));
        }
        bufs.insert(
            decl.name.as_str(),
            BufInfo::at(decl, n_host + workgroup_lens.len()),
        );
        workgroup_lens.push(len);
    }
    // Constant tables: memories after the workgroup buffers, never zeroed
    // (nothing can write them).
    let mut constants = Vec::new();
    for decl in program
        .buffers
        .iter()
        .filter(|b| b.access == Access::Constant)
    {
        if decl.data.is_empty() || decl.len != Some(decl.data.len() as u32) {
            return Err(bad(
                format!(
                    "constant buffer `{}` holds {} words but is declared with {:?}",
                    decl.name,
                    decl.data.len(),
                    decl.len
                ),
                "build it with BufferDecl::constant".to_string(),
            ));
        }
        let mem = n_host + workgroup_lens.len() + constants.len();
        bufs.insert(decl.name.as_str(), BufInfo::at(decl, mem));
        constants.push(decl.data.clone());
    }
    if bufs.len() != program.buffers.len() {
        return Err(bad(
            "two buffers share a name".to_string(),
            "give every buffer a unique name".to_string(),
        ));
    }
    if let Some(decl) = program.buffers.iter().find(|b| b.elem == DataType::Bool) {
        return Err(bad(
            format!("buffer `{}` has element type bool", decl.name),
            "store bools as u32 (0 or 1)".to_string(),
        ));
    }
    let mut c = Compiler {
        program,
        bufs,
        vars: HashMap::new(),
        scopes: Vec::new(),
        path: Vec::new(),
        n_slots: 0,
        loop_depth: 0,
        has_barrier: false,
    };
    let body = c.body(&program.body)?;
    let n_slots = c.n_slots as usize;
    if c.has_barrier && (n_slots as u64) * u64::from(program.workgroup_size) > MAX_SLOT_WORDS {
        return Err(bad(
            format!(
                "{n_slots} variables times {} invocations is too much state to simulate",
                program.workgroup_size
            ),
            "use fewer variables".to_string(),
        ));
    }
    Ok(Compiled {
        body,
        n_slots,
        has_barrier: c.has_barrier,
        n_host,
        workgroup_lens,
        constants,
    })
}

impl<'p> Compiler<'p> {
    #[cold]
    #[inline(never)]
    fn err(&self, msg: String, fix: String) -> Error {
        Error::bad_input(msg, fix).with_prefix(&self.at())
    }

    /// `program `NAME`, at PATH: `, the start of every error message.
    #[cold]
    #[inline(never)]
    fn at(&self) -> String {
        let at: Vec<String> = self
            .path
            .iter()
            .map(|(label, i)| format!("{label}[{i}]"))
            .collect();
        format!("program `{}`, at {}: ", self.program.name, at.join("."))
    }

    #[inline(never)]
    fn buffer(&self, name: &str) -> Result<BufInfo> {
        self.bufs
            .get(name)
            .copied()
            .ok_or_else(|| undeclared_buffer(name).with_prefix(&self.at()))
    }

    // ---- statements: an explicit stack of open statement lists ----

    /// Compiles the program body. Nested statement lists are kept on an
    /// explicit stack, so nesting costs no native stack.
    fn body(&mut self, body: &'p [Node]) -> Result<Vec<CNode>> {
        let mut open: Vec<Open<'p>> = Vec::new();
        self.open_list(&mut open, "body", body, Pending::Root)?;
        loop {
            let Some(top) = open.last_mut() else {
                return Err(self.internal());
            };
            let nodes: &'p [Node] = top.nodes;
            if let Some(node) = nodes.get(top.next) {
                if let Some(at) = self.path.last_mut() {
                    at.1 = top.next;
                }
                top.next += 1;
                match node {
                    Node::If {
                        cond,
                        then,
                        otherwise,
                    } => {
                        let cond = self.typed(cond, DataType::Bool, "`if` condition")?;
                        self.open_list(&mut open, "then", then, Pending::Then { cond, otherwise })?;
                    }
                    Node::For {
                        var,
                        start,
                        end,
                        step,
                        body,
                    } => {
                        let (slot, start, end, step) = self.for_header(var, start, end, step)?;
                        self.loop_depth += 1;
                        self.open_list(
                            &mut open,
                            "body",
                            body,
                            Pending::For {
                                slot,
                                start,
                                end,
                                step,
                            },
                        )?;
                    }
                    Node::Loop { body } => {
                        self.loop_depth += 1;
                        self.open_list(&mut open, "body", body, Pending::Loop)?;
                    }
                    Node::Block(body) => {
                        self.open_list(&mut open, "block", body, Pending::Block)?
                    }
                    _ => {
                        let compiled = self.simple_node(node)?;
                        top.out.push(compiled);
                    }
                }
                continue;
            }
            // The list is complete: close its scope and build its statement.
            let Some(done) = open.pop() else {
                return Err(self.internal());
            };
            self.end_scope();
            self.path.pop();
            let compiled = match done.pending {
                Pending::Root => return Ok(done.out),
                Pending::Then { cond, otherwise } => {
                    let pending = Pending::Otherwise {
                        cond,
                        then: done.out,
                    };
                    self.open_list(&mut open, "otherwise", otherwise, pending)?;
                    continue;
                }
                Pending::Otherwise { cond, then } => CNode::If {
                    cond,
                    then,
                    otherwise: done.out,
                },
                Pending::For {
                    slot,
                    start,
                    end,
                    step,
                } => {
                    self.loop_depth -= 1;
                    // The counter's scope, opened by for_header.
                    self.end_scope();
                    CNode::For {
                        slot,
                        start,
                        end,
                        step,
                        body: done.out,
                    }
                }
                Pending::Loop => {
                    self.loop_depth -= 1;
                    CNode::Loop { body: done.out }
                }
                Pending::Block => CNode::Block(done.out),
            };
            match open.last_mut() {
                Some(parent) => parent.out.push(compiled),
                None => return Err(self.internal()),
            }
        }
    }

    /// Starts compiling a statement list in a new scope.
    fn open_list(
        &mut self,
        open: &mut Vec<Open<'p>>,
        label: &'static str,
        nodes: &'p [Node],
        pending: Pending<'p>,
    ) -> Result<()> {
        if open.len() > MAX_NODE_DEPTH {
            return Err(self.nesting_err());
        }
        self.path.push((label, 0));
        self.scopes.push(Vec::new());
        open.push(Open {
            nodes,
            next: 0,
            out: Vec::with_capacity(nodes.len()),
            pending,
        });
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn internal(&self) -> Error {
        Error::internal("the CPU reference's statement stack is out of step")
            .with_prefix(&self.at())
    }

    #[cold]
    #[inline(never)]
    fn nesting_err(&self) -> Error {
        self.err(
            format!("statements are nested more than {MAX_NODE_DEPTH} deep"),
            "flatten the program".to_string(),
        )
    }

    fn end_scope(&mut self) {
        if let Some(names) = self.scopes.pop() {
            for name in names {
                self.vars.remove(name);
            }
        }
    }

    /// Compiles a `for` header and opens a scope holding only the counter;
    /// the caller closes it after the body.
    #[inline(never)]
    fn for_header(
        &mut self,
        var: &'p str,
        start: &'p Expr,
        end: &'p Expr,
        step: &'p Expr,
    ) -> Result<(u32, CExpr, CExpr, CExpr)> {
        let start = self.typed(start, DataType::U32, "`for` start")?;
        let end = self.typed(end, DataType::U32, "`for` end")?;
        let step = self.typed(step, DataType::U32, "`for` step")?;
        self.scopes.push(Vec::new());
        match self.declare(var, DataType::U32, true) {
            Ok(slot) => Ok((slot, start, end, step)),
            Err(e) => {
                self.end_scope();
                Err(e)
            }
        }
    }

    #[inline(never)]
    fn declare(&mut self, name: &'p str, ty: DataType, read_only: bool) -> Result<u32> {
        if self.vars.contains_key(name) {
            return Err(self.err(
                format!("`{name}` is declared while a variable of that name is in scope"),
                "rename one of them (shadowing is not allowed)".to_string(),
            ));
        }
        let slot = self.n_slots;
        self.n_slots = slot
            .checked_add(1)
            .ok_or_else(|| self.err("too many variables".to_string(), "use fewer".to_string()))?;
        self.vars.insert(
            name,
            VarInfo {
                slot,
                ty,
                read_only,
            },
        );
        if let Some(scope) = self.scopes.last_mut() {
            scope.push(name);
        }
        Ok(slot)
    }
}

impl Scope for Compiler<'_> {
    fn var(&self, name: &str) -> Option<(u32, DataType)> {
        self.vars.get(name).map(|v| (v.slot, v.ty))
    }

    fn buffer(&self, name: &str) -> std::result::Result<(u32, DataType), Error> {
        match self.bufs.get(name) {
            Some(b) => Ok((b.mem, b.elem)),
            None => Err(undeclared_buffer(name)),
        }
    }
}

fn undeclared_buffer(name: &str) -> Error {
    Error::bad_input(
        format!("buffer `{name}` is not declared"),
        format!("add a BufferDecl named `{name}` to the program"),
    )
}

/// A statement list being compiled.
struct Open<'p> {
    nodes: &'p [Node],
    /// Index of the next statement to compile.
    next: usize,
    /// The statements compiled so far.
    out: Vec<CNode>,
    /// What the list becomes when complete.
    pending: Pending<'p>,
}

/// The statement a list belongs to, with the parts compiled before it.
enum Pending<'p> {
    Root,
    Then {
        cond: CExpr,
        otherwise: &'p [Node],
    },
    Otherwise {
        cond: CExpr,
        then: Vec<CNode>,
    },
    For {
        slot: u32,
        start: CExpr,
        end: CExpr,
        step: CExpr,
    },
    Loop,
    Block,
}

mod values;
