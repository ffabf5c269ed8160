//! The GPU interpreter: payloads loaded at run time, executed from a code
//! buffer by a megakernel that is compiled once.
//!
//! The fused megakernel ([`crate::megakernel`]) embeds each payload's IR in
//! its shader, so a new payload set means a new pipeline (a shader compile,
//! tens to hundreds of milliseconds cold). The interpreter instead compiles a
//! payload on the host into *bytecode* ([`compile`]: a few microseconds, no
//! shader compiler involved), appends it to the megakernel's `code` buffer and
//! gives it an opcode; the already-built pipeline runs it. A megakernel built
//! with [`MegakernelBuilder::interpreter`](crate::megakernel::MegakernelBuilder::interpreter)
//! contains the interpreter loop ([`kernel`]), itself vyre IR, so the CPU
//! reference runs the very same interpreter and every result is checked
//! against it.
//!
//! Payloads arrive as IR (from `#[vyre::payload]`, text IR or a VIR0 file:
//! [`crate::vir0`] is the interchange format and the pipeline-cache key); the
//! bytecode is the loaded, executable form of one payload inside one
//! megakernel.
//!
//! # Bytecode
//! A program is a sequence of instructions of [`INSTR_WORDS`] `u32` words:
//! `op | d << 8 | a << 16 | b << 24`, then `c` ([`encode`]). `d` is the
//! destination register; `a`, `b` are operand registers; `c` is a third
//! operand register for [`op::SEL`] and the compare-exchanges, and an
//! immediate everywhere else (constants, slot words, jump targets, atomic
//! kinds). Registers are 32-bit words in a
//! per-lane frame of the `regs` buffer; bools are 0 or 1; f32 values are their
//! bits. Each op computes exactly what the IR op it comes from computes (the
//! interpreter is built from those IR ops), so overflow, division by zero,
//! shifts, casts and out-of-bounds accesses follow the [IR spec](crate::ir).
//! Jump targets are word offsets from the start of the program; the
//! interpreter adds the program's base. An op code the interpreter does not
//! know, and a `pc` outside the code buffer (which loads 0 = [`op::RET`]),
//! end the payload.
//!
//! Memory ops reach only the slot's own regions: the interpreter confines
//! every arena and results index to the slot, whatever the bytecode says
//! (the same guard the fused kernel puts on embedded payloads).
//!
//! # Constant tables
//! A payload's tables ([`Payload::tables`](crate::ir::Payload::tables)) are
//! part of its bytecode ([`Bytecode::tables`], laid out as the fused kernel
//! lays them out, identical tables once).
//! [`Megakernel::load_payload`](crate::megakernel::Megakernel::load_payload)
//! puts them in the `code` buffer just before the program, followed by one
//! word holding their count; a read of table `T` at `i` is one [`op::LDT`]
//! carrying the table's first word and length, so it gives word `i` of `T`,
//! or 0 when `i` is past its end, exactly as fused. The interpreter confines
//! every table read to the running program's own table words, whatever
//! the instruction says: never another program's tables or code. `len(T)`
//! of a table is its length, a constant.
//!
//! # Not supported (rejected at load with a `Fix:`)
//! `barrier`, `uniform_load` (a barrier inside the interpreter loop is not in
//! uniform control flow) and `len()` of a parameter (device buffers may be
//! larger than the data). Such payloads run fused.

mod compile;
#[doc(hidden)]
pub mod kernel;
mod select;

pub use compile::compile;

use crate::error::{Error, Result};

/// Words per instruction: `op | d << 8 | a << 16 | b << 24`, then `c`.
pub const INSTR_WORDS: u32 = 2;

/// Packs one instruction.
pub fn encode(o: u32, d: u32, a: u32, b: u32, c: u32) -> [u32; 2] {
    [
        (o & 255) | (d & 255) << 8 | (a & 255) << 16 | (b & 255) << 24,
        c,
    ]
}

/// Unpacks one instruction into `(op, d, a, b, c)`.
pub fn decode(w: [u32; 2]) -> [u32; 5] {
    [
        w[0] & 255,
        (w[0] >> 8) & 255,
        (w[0] >> 16) & 255,
        w[0] >> 24,
        w[1],
    ]
}

/// Most registers one payload may use per lane.
pub const MAX_REGS: u32 = 256;

/// Most instructions in one program.
pub const MAX_INSTRS: u32 = 1 << 16;

macro_rules! ops {
    ($($(#[$doc:meta])* $name:ident = $code:expr;)*) => {
        /// Instruction op codes (word 0 of an instruction).
        pub mod op {
            $($(#[$doc])* pub const $name: u32 = $code;)*
            /// Every op code with its mnemonic (for disassembly and checks).
            pub const ALL: &[(u32, &str)] = &[$(($name, stringify!($name))),*];
        }
    };
}

ops! {
    /// End the payload (also what op word 0 — a `pc` past the code — means).
    RET = 0;
    /// `d = a` (register copy; also every same-bits cast and bitcast).
    MOV = 1;
    /// `d = c` where `c` is an immediate word.
    CONST = 2;
    /// Wrapping integer add (u32 and i32 alike).
    ADD = 3;
    /// Wrapping integer subtract.
    SUB = 4;
    /// Wrapping integer multiply.
    MUL = 5;
    /// u32 divide (`x / 0 == 0`).
    UDIV = 6;
    /// u32 remainder (`x % 0 == x`).
    UREM = 7;
    /// i32 divide (truncating, `x / 0 == 0`, `MIN / -1 == MIN`).
    IDIV = 8;
    /// i32 remainder (sign of the dividend).
    IREM = 9;
    /// Bitwise and (also bool `and`).
    AND = 10;
    /// Bitwise or (also bool `or`).
    OR = 11;
    /// Bitwise xor.
    XOR = 12;
    /// Shift left by `b & 31`.
    SHL = 13;
    /// Logical shift right by `b & 31`.
    USHR = 14;
    /// Arithmetic shift right by `b & 31`.
    ISHR = 15;
    /// Rotate left by `b & 31`.
    ROTL = 16;
    /// Rotate right by `b & 31`.
    ROTR = 17;
    /// u32 minimum.
    UMIN = 18;
    /// u32 maximum.
    UMAX = 19;
    /// i32 minimum.
    IMIN = 20;
    /// i32 maximum.
    IMAX = 21;
    /// Bits equal (integers, bools).
    EQ = 22;
    /// Bits differ.
    NE = 23;
    /// u32 `<`.
    ULT = 24;
    /// u32 `<=`.
    ULE = 25;
    /// i32 `<`.
    ILT = 26;
    /// i32 `<=`.
    ILE = 27;
    /// Wrapping negation of an integer.
    NEG = 28;
    /// Bitwise complement.
    BITNOT = 29;
    /// Logical not of a bool.
    NOT = 30;
    /// Leading zeros.
    CLZ = 31;
    /// Trailing zeros.
    CTZ = 32;
    /// One bits.
    POPCNT = 33;
    /// `d = a ? b : c`.
    SEL = 34;
    /// f32 add.
    FADD = 35;
    /// f32 subtract.
    FSUB = 36;
    /// f32 multiply.
    FMUL = 37;
    /// f32 divide.
    FDIV = 38;
    /// f32 remainder.
    FREM = 39;
    /// f32 minimum.
    FMIN = 40;
    /// f32 maximum.
    FMAX = 41;
    /// f32 `==`.
    FEQ = 42;
    /// f32 `!=`.
    FNE = 43;
    /// f32 `<`.
    FLT = 44;
    /// f32 `<=`.
    FLE = 45;
    /// f32 negation.
    FNEG = 46;
    /// u32 → f32.
    CVT_UF = 47;
    /// i32 → f32.
    CVT_IF = 48;
    /// f32 → u32 (truncating, saturating, NaN → 0).
    CVT_FU = 49;
    /// f32 → i32.
    CVT_FI = 50;
    /// bool → f32.
    CVT_BF = 51;
    /// integer → bool (`!= 0`).
    CVT_XB = 52;
    /// f32 → bool (`!= 0.0`).
    CVT_FB = 53;
    /// `d = arena[a]` (a word of the slot's bytes; confined to the slot).
    LDA = 54;
    /// `d = results[a]` (confined to the slot's result region).
    LDR = 55;
    /// `d = io[a]` (the read-request queue).
    LDQ = 56;
    /// `results[a] = b` (confined to the slot's result region).
    STR = 57;
    /// `io[a] = b`.
    STQ = 58;
    /// `d = atomic(c)(results[a], b)`; `c` is an immediate atomic kind
    /// (`atomic_kind`); compare-exchange is [`CASR`].
    ATR = 59;
    /// `d = atomic(c)(io[a], b)`.
    ATQ = 60;
    /// `d = atomic_compare_exchange(results[a], expected = b, value = c)`.
    CASR = 61;
    /// `d = atomic_compare_exchange(io[a], expected = b, value = c)`.
    CASQ = 62;
    /// `d = ` built-in value number `c` (immediate, see `builtin_code`).
    BUILTIN = 63;
    /// `d = ` word `c` (immediate, `< SLOT_WORDS`) of the slot.
    SLOTW = 64;
    /// `d = ` the slot's index in the ring.
    SLOTIX = 65;
        /// `d = control[c]` for `c` one of `CTRL_IO_CAP`, `CTRL_DEBUG_CAP`
    /// (the queue and log capacities); 0 for any other word.
    CTRLW = 66;
    /// `pc = c` (immediate).
    JMP = 67;
    /// `if a == 0 { pc = c }` (`c` immediate).
    JZ = 68;
    /// One loop iteration: past the iteration budget the payload ends and
    /// the slot faults with `FAULT_BUDGET`.
    ITER = 69;
    /// Bottom of a counted loop: `next = d + b`; if it did not wrap and
    /// `next < a`, then `d = next`, count an iteration (as [`ITER`]) and
    /// `pc = c`; else fall through (the loop ends).
        FORNEXT = 70;
    /// `d = debug[a]` (the debug log).
    LDG = 71;
    /// `debug[a] = b`.
    STG = 72;
    /// `d = atomic(c)(debug[a], b)`.
    ATG = 73;
    /// `d = atomic_compare_exchange(debug[a], expected = b, value = c)`.
    CASG = 74;
    /// `d = ` word `a` of the constant table that starts at word `c`
    /// (immediate) of the program's tables
    /// ([`Bytecode::tables`](crate::interp::Bytecode::tables)) and holds
    /// `b` words (`b` a register): 0 when `a >= b`, as the IR's load of a
    /// table past its end. Confined to the program's own table words
    /// whatever `c` and `b` say (0 outside them).
    LDT = 75;
}

/// Number of op codes; codes at or above it end the payload.
pub const OP_COUNT: u32 = op::LDT + 1;

/// The atomic kinds [`op::ATR`], [`op::ATQ`] and [`op::ATG`] take: the
/// immediate `c` is the index in this table.
pub const ATOMIC_KINDS: [crate::ir::AtomicOp; 10] = {
    use crate::ir::AtomicOp::*;
    [Load, Store, Add, Sub, Max, Min, And, Or, Xor, Exchange]
};

/// The immediate `c` of the atomic ops for `a` (its index in
/// [`ATOMIC_KINDS`]; compare-exchange, which has its own instructions, gets
/// `ATOMIC_KINDS.len()`, which no atomic op accepts).
pub fn atomic_kind(a: crate::ir::AtomicOp) -> u32 {
    ATOMIC_KINDS
        .iter()
        .position(|k| *k == a)
        .unwrap_or(ATOMIC_KINDS.len()) as u32
}

/// The built-in values [`op::BUILTIN`] gives: the immediate `c` is the index
/// in this table.
pub const BUILTINS: [crate::ir::Builtin; 5] = {
    use crate::ir::Builtin::*;
    [GlobalId, LocalId, WorkgroupId, NumWorkgroups, WorkgroupSize]
};

/// The immediate `c` of [`op::BUILTIN`] for `b` (its index in [`BUILTINS`]).
pub fn builtin_code(b: crate::ir::Builtin) -> u32 {
    BUILTINS
        .iter()
        .position(|k| *k == b)
        .unwrap_or(BUILTINS.len()) as u32
}

/// One payload compiled for the interpreter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bytecode {
    /// Payload name.
    pub name: String,
    /// The instructions, [`INSTR_WORDS`] words each.
    pub words: Vec<u32>,
    /// Registers per lane the program uses.
    pub regs: u32,
    /// True when every lane of the workgroup runs the payload (it takes
    /// `Lanes`); otherwise lane 0 runs it alone.
    pub all_lanes: bool,
    /// Words of the result region the payload needs per slot.
    pub result_words: u32,
    /// The payload's constant tables, one after the other (identical tables
    /// once), read by [`op::LDT`]. Loaded, they lie in the `code` buffer
    /// just before the program, followed by one word holding their count.
    pub tables: Vec<u32>,
    /// Where each table lies in [`Bytecode::tables`]: name, first word,
    /// words (for listings; an [`op::LDT`] carries the first word as `c` and
    /// the length in register `b`).
    pub table_layout: Vec<(String, u32, u32)>,
}

impl Bytecode {
    /// Checks the structural rules the interpreter relies on: whole
    /// instructions, known op codes, registers inside the frame, jump targets
    /// on instruction boundaries inside the program, table reads starting
    /// inside the program's tables. [`compile`] only makes
    /// programs that pass; the interpreter stays confined even for ones that
    /// do not (it clamps registers and memory indices).
    pub fn check(&self) -> Result<()> {
        let bad = |at: usize, what: String| {
            Err(Error::bad_input(
                format!("bytecode of `{}`: instruction {at}: {what}", self.name),
                "load payloads through interp::compile",
            ))
        };
        if self.words.len() % INSTR_WORDS as usize != 0 {
            return bad(
                self.words.len() / INSTR_WORDS as usize,
                "truncated instruction".into(),
            );
        }
        if self.regs > MAX_REGS {
            return bad(0, format!("{} registers, most {MAX_REGS}", self.regs));
        }
        if u32::try_from(self.tables.len()).is_err() {
            return bad(0, format!("{} table words", self.tables.len()));
        }
        let len = self.words.len() as u32;
        for (i, ins) in self.words.chunks_exact(INSTR_WORDS as usize).enumerate() {
            let [o, d, a, b, c] = decode([ins[0], ins[1]]);
            let reg = |r: u32| r < self.regs;
            let target = |t: u32| t % INSTR_WORDS == 0 && t <= len;
            let regs_ok = select::reg_fields(o)
                .iter()
                .zip([d, a, b, c])
                .all(|(is_reg, r)| !is_reg || reg(r));
            let ok = regs_ok
                && match o {
                    op::JMP | op::JZ | op::FORNEXT => target(c),
                    op::SLOTW => c < crate::megakernel::protocol::SLOT_WORDS,
                    op::ATR | op::ATQ | op::ATG => c < ATOMIC_KINDS.len() as u32,
                    op::BUILTIN => c < BUILTINS.len() as u32,
                    op::LDT => (c as usize) < self.tables.len(),
                    x => x < OP_COUNT,
                };
            if o >= OP_COUNT {
                return bad(i, format!("unknown op code {o}"));
            }
            if !ok {
                return bad(
                    i,
                    format!(
                        "operands out of range: {o} {d} {a} {b} {c} (frame {})",
                        self.regs
                    ),
                );
            }
        }
        Ok(())
    }

    /// A readable listing, one instruction per line (table reads name
    /// their table), then the tables' places.
    pub fn disassemble(&self) -> String {
        let mut s = String::new();
        for (i, ins) in self.words.chunks_exact(INSTR_WORDS as usize).enumerate() {
            let [o, d, a, b, c] = decode([ins[0], ins[1]]);
            let name = op::ALL
                .iter()
                .find(|(k, _)| *k == o)
                .map(|(_, n)| *n)
                .unwrap_or("?");
            s.push_str(&format!(
                "{:5}: {name:7} d={d} a={a} b={b} c={c}",
                i * INSTR_WORDS as usize
            ));
            if o == op::LDT {
                for (t, _, _) in self.table_layout.iter().filter(|t| t.1 == c) {
                    s.push_str(&format!("  ; table `{t}`"));
                }
            }
            s.push('\n');
        }
        for (t, at, len) in &self.table_layout {
            s.push_str(&format!("table `{t}`: {len} words at c={at}\n"));
        }
        s
    }
}
