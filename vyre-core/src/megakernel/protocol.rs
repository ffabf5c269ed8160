//! The ring protocol: slot layout, statuses, control words, fault reasons.
//!
//! This is the one definition shared by the host runtime
//! ([`super::Megakernel`]) and the kernel builder (`megakernel/kernel.rs`); both
//! import these constants, nothing else spells the layout out.
//!
//! # Buffers of a megakernel (host-visible, binding order)
//! | binding | name      | contents                                                    |
//! |---------|-----------|-------------------------------------------------------------|
//! | 0       | `control` | [`CONTROL_WORDS`] control words (atomic)                    |
//! | 1       | `ring`    | `slots * SLOT_WORDS` slot words (atomic)                    |
//! | 2       | `arena`   | input bytes, 4 per word, little-endian (read only)          |
//! | 3       | `results` | result words; each slot owns `[out_off, out_off+out_len)` (atomic) |
//! | 4       | `debug`   | word 0 counts records requested, then from [`DEBUG_HEADER_WORDS`] records of [`DEBUG_RECORD_WORDS`] words: slot, opcode, two values (atomic) |
//! | 5       | `io`      | read requests posted by payloads: word 0 counts them, then [`IO_REQ_WORDS`] words each (atomic) |
//! | 6       | `code`    | programs loaded into the interpreter: [`CODE_HEADER_WORDS`] header words, then per program its constant tables, their word count and its bytecode (read only) |
//! | 7       | `regs`    | interpreter registers: [`CTRL_REG_FRAME`] words per invocation (never uploaded or read back) |
//!
//! # Slot lifecycle
//! The host writes a slot's fields and sets it [`PUBLISHED`]. A workgroup
//! claims it with a compare-exchange `PUBLISHED → CLAIMED` (so no slot is run
//! twice), checks that the slot's tenant may run the slot's opcode (else
//! [`FAULT`] with [`FAULT_UNAUTHORIZED`]), runs the payload with all its
//! lanes, bumps [`CTRL_DONE_COUNT`] and stores [`DONE`].

/// Layout version; bump on any change to the constants below.
pub const PROTOCOL_VERSION: u32 = 5;

/// Words per slot.
pub const SLOT_WORDS: u32 = 24;
/// Slot word: status (`EMPTY`, `PUBLISHED`, `CLAIMED`, `DONE`, `FAULT`).
pub const SLOT_STATUS: u32 = 0;
/// Slot word: opcode (built-in handler or payload index).
pub const SLOT_OPCODE: u32 = 1;
/// Slot word: tenant id.
pub const SLOT_TENANT: u32 = 2;
/// Slot word: word offset of the slot's bytes in `arena`.
pub const SLOT_DATA_OFF: u32 = 3;
/// Slot word: number of bytes (look-behind included).
pub const SLOT_DATA_LEN: u32 = 4;
/// Slot word: index of the first byte the slot owns (look-behind length).
pub const SLOT_START: u32 = 5;
/// Slot word: word offset of the slot's result region in `results`.
pub const SLOT_OUT_OFF: u32 = 6;
/// Slot word: length in words of the slot's result region.
pub const SLOT_OUT_LEN: u32 = 7;
/// Slot word: fault reason (one of the `FAULT_*` codes), 0 if none.
pub const SLOT_FAULT_REASON: u32 = 8;
/// Slot word: the file offset of the slot's first owned byte, low 32 bits
/// (0 for work that is not a chunk of a file).
pub const SLOT_CHUNK_OFF_LO: u32 = 10;
/// Slot word: the file offset's high 32 bits.
pub const SLOT_CHUNK_OFF_HI: u32 = 11;
/// Slot word: the length of the slot's file, low 32 bits.
pub const SLOT_FILE_LEN_LO: u32 = 12;
/// Slot word: the file length's high 32 bits.
pub const SLOT_FILE_LEN_HI: u32 = 13;
/// Slot word: the chunk's index in its file.
pub const SLOT_CHUNK_INDEX: u32 = 14;
/// Slot word: first of [`SLOT_ARG_COUNT`] scalar arguments.
pub const SLOT_ARGS: u32 = 16;
/// Number of scalar argument words per slot.
pub const SLOT_ARG_COUNT: u32 = SLOT_WORDS - SLOT_ARGS;

/// Status: nothing here.
pub const EMPTY: u32 = 0;
/// Status: ready to be claimed.
pub const PUBLISHED: u32 = 1;
/// Status: a workgroup is running it.
pub const CLAIMED: u32 = 2;
/// Status: finished.
pub const DONE: u32 = 3;
/// Status: refused or failed; see [`SLOT_FAULT_REASON`].
pub const FAULT: u32 = 4;

/// Fault: the slot's tenant may not run its opcode.
pub const FAULT_UNAUTHORIZED: u32 = 1;
/// Fault: no handler or payload has this opcode.
pub const FAULT_BAD_OPCODE: u32 = 2;
/// Fault: the payload exceeded its iteration budget.
pub const FAULT_BUDGET: u32 = 3;
/// Fault (on a continuation slot): the read request named a file, offset or
/// length outside what the host allows; nothing was read.
pub const FAULT_BAD_IO: u32 = 4;
/// Fault (on a continuation slot): the read itself failed.
pub const FAULT_IO_ERROR: u32 = 5;

/// Fault: an interpreted payload ran more interpreter steps than the device
/// allows one invocation (`CTRL_STEP_LIMIT`, set from the device's loop
/// limit); nothing was cut short silently.
pub const FAULT_STEPS: u32 = 6;

/// Fault: the device ended one of the slot's loops early on its own
/// (Mesa's llvmpipe stops loops after 65535 iterations without a word);
/// seen by the canary loop every lane runs after the slot's payload
/// ([`CTRL_CANARY`]). [`super::Megakernel::run`] runs such a slot again
/// alone; it keeps this fault only when even then the device cut it, i.e.
/// the payload needs more loop iterations than the device runs.
pub const FAULT_LOOP_CUT: u32 = 7;

/// Words before the first request in the `io` buffer (word 0: requests posted,
/// including those dropped because the queue was full).
pub const IO_HEADER_WORDS: u32 = 8;
/// Words per read request.
pub const IO_REQ_WORDS: u32 = 8;
/// Request word: index of the slot that posted it.
pub const IO_REQ_SLOT: u32 = 0;
/// Request word: file index in the host's file table.
pub const IO_REQ_FILE: u32 = 1;
/// Request word: byte offset, low 32 bits.
pub const IO_REQ_OFF_LO: u32 = 2;
/// Request word: byte offset, high 32 bits.
pub const IO_REQ_OFF_HI: u32 = 3;
/// Request word: bytes to read.
pub const IO_REQ_LEN: u32 = 4;
/// Request word: opcode of the continuation payload that gets the bytes.
pub const IO_REQ_CONT: u32 = 5;

/// Control word: non-zero stops all workgroups at their next claim.
pub const CTRL_SHUTDOWN: u32 = 0;
/// Control word: slots finished (DONE).
pub const CTRL_DONE_COUNT: u32 = 1;
/// Control word: epoch, raised by the fence handler (atomic max).
pub const CTRL_EPOCH: u32 = 2;
/// Control word: claim cursor, the next slot index to try (reset per dispatch).
pub const CTRL_CURSOR: u32 = 3;
/// Control word: slots that ended in FAULT.
pub const CTRL_FAULT_COUNT: u32 = 4;
/// Control word: claims stop at this slot index (the host sets one past the
/// last PUBLISHED slot; the claim cursor starts at the first).
pub const CTRL_SLOT_COUNT: u32 = 5;
/// Control word: most slots one workgroup may run in one dispatch.
pub const CTRL_BUDGET: u32 = 6;
/// Control word: how many debug records the `debug` buffer holds; records
/// past it are counted in `debug[0]` and dropped.
pub const CTRL_DEBUG_CAP: u32 = 7;
/// Control word: protocol version the host wrote ([`PROTOCOL_VERSION`]).
pub const CTRL_VERSION: u32 = 8;
/// Control word: claims made in this dispatch (an observable).
pub const CTRL_CLAIMS: u32 = 9;
/// Control word: dispatches that found work (an observable, host-incremented).
pub const CTRL_DISPATCHES: u32 = 10;
/// Control word: how many read requests the `io` queue holds.
pub const CTRL_IO_CAP: u32 = 11;
/// Control word: most loop iterations one lane of a payload may run on one
/// slot; past it the slot ends FAULT(`FAULT_BUDGET`).
pub const CTRL_ITER_BUDGET: u32 = 12;
/// Control word: registers per invocation in `regs` (the largest frame of the
/// loaded programs).
pub const CTRL_REG_FRAME: u32 = 13;
/// Control word: most interpreter steps one invocation runs per dispatch.
pub const CTRL_STEP_LIMIT: u32 = 14;
/// Control word: iterations of the canary loop every lane runs after a
/// slot's payload ([`CANARY_TRIPS`], written by the host, so no compiler
/// can count it in advance). Fewer means the device cut a loop.
pub const CTRL_CANARY: u32 = 15;
/// Iterations of the canary loop.
pub const CANARY_TRIPS: u32 = 2;
/// Control words: first tenant authorization mask. Tenant `t` may run opcode
/// `o` iff bit `o` of word `CTRL_TENANT_MASKS + t` is set.
pub const CTRL_TENANT_MASKS: u32 = 16;
/// Most tenants.
pub const MAX_TENANTS: u32 = 32;
/// Most opcodes (one bit each in a tenant mask).
pub const MAX_OPCODES: u32 = 32;
/// Total control words.
pub const CONTROL_WORDS: u32 = CTRL_TENANT_MASKS + MAX_TENANTS;

/// Words per debug record: slot, opcode, then the values.
pub const DEBUG_RECORD_WORDS: u32 = 4;
/// Words before the first debug record (word 0: records requested,
/// including dropped ones).
pub const DEBUG_HEADER_WORDS: u32 = 4;

/// Built-in opcode: does nothing.
pub const OP_NOP: u32 = 0;
/// Built-in opcode: `results[out_off + arg0] = arg1`.
pub const OP_STORE_WORD: u32 = 1;
/// Built-in opcode: `results[out_off + arg0] += arg1` (atomic).
pub const OP_ATOMIC_ADD: u32 = 2;
/// Built-in opcode: copy the slot's owned bytes' words into its result region.
pub const OP_COPY: u32 = 3;
/// Built-in opcode: `epoch = max(epoch, arg0)`.
pub const OP_FENCE: u32 = 4;
/// Built-in opcode: set the shutdown flag.
pub const OP_SHUTDOWN: u32 = 5;
/// Built-in opcode: emit a debug record with `arg0..arg1`.
pub const OP_DEBUG: u32 = 6;
/// First opcode available to payloads.
pub const FIRST_PAYLOAD_OPCODE: u32 = 8;

/// Most programs the interpreter holds (the opcodes left after built-ins).
pub const MAX_LOADED: u32 = MAX_OPCODES - FIRST_PAYLOAD_OPCODE;
/// Code word: number of loaded programs.
pub const CODE_COUNT: u32 = 0;
/// Code words: word offset in `code` of loaded program `i` at `CODE_ENTRY + i`.
pub const CODE_ENTRY: u32 = 1;
/// Code words: flags of loaded program `i` at `CODE_FLAGS + i`.
pub const CODE_FLAGS: u32 = CODE_ENTRY + MAX_LOADED;
/// Flag: every lane of the workgroup runs the program (else lane 0 alone).
pub const CODE_FLAG_ALL_LANES: u32 = 1;
/// Words of the `code` header; bytecode starts here.
pub const CODE_HEADER_WORDS: u32 = CODE_FLAGS + MAX_LOADED;

/// The sentinel "no slot" in the workgroup claim word.
pub const NO_SLOT: u32 = u32::MAX;

/// Names of the built-in opcodes, for the text form and errors.
pub const BUILTIN_NAMES: [(u32, &str); 7] = [
    (OP_NOP, "nop"),
    (OP_STORE_WORD, "store_word"),
    (OP_ATOMIC_ADD, "atomic_add"),
    (OP_COPY, "copy"),
    (OP_FENCE, "fence"),
    (OP_SHUTDOWN, "shutdown"),
    (OP_DEBUG, "debug"),
];
