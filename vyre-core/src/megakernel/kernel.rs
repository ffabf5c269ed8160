//! Builds the megakernel as vyre IR (so the CPU reference runs it too).
//!
//! Each workgroup loops: lane 0 claims the next PUBLISHED slot (cursor +
//! compare-exchange), checks the tenant's authorization and the opcode, and
//! shares the slot index through workgroup memory; all lanes then run the
//! slot's handler or payload together; lane 0 bumps the done count and marks
//! the slot DONE. The loop ends when no slot is left, on shutdown, or when the
//! workgroup has run its budget of slots for this dispatch.

use crate::error::Result;
use crate::ir::{BufferDecl, DataType, Expr, Node, Payload, Program};

use super::abi::{self, ARENA, CODE, CONTROL, DEBUG, RESULTS, RING};
use super::embed::embed;
use super::privatize::{private_words, LOCAL_ACC};
use super::protocol::*;

/// Workgroup buffer through which lane 0 hands the claimed slot (word 0)
/// and its opcode (word 1) to its lanes: read with `uniform_load`, both are
/// workgroup-uniform, so opcode branches may hold barriers.
const CLAIM: &str = "claim";

/// Workgroup word counting the lanes that passed the slot's canary
/// ([`canary`]); the slot is DONE only when every lane did.
const CANARY_OK: &str = "canary_ok";

fn ctrl(word: u32) -> Expr {
    Expr::load(CONTROL, Expr::u32(word))
}

fn slot_word(idx: &str, word: u32) -> Expr {
    Expr::add(
        Expr::mul(Expr::var(idx), Expr::u32(SLOT_WORDS)),
        Expr::u32(word),
    )
}

/// Lane-0 code that marks slot `idx` as FAULT with `reason`.
fn fault(idx: &str, reason: u32) -> Vec<Node> {
    vec![
        Node::eval(Expr::atomic_store(
            RING,
            slot_word(idx, SLOT_FAULT_REASON),
            Expr::u32(reason),
        )),
        Node::eval(Expr::atomic_add(
            CONTROL,
            Expr::u32(CTRL_FAULT_COUNT),
            Expr::u32(1),
        )),
        Node::eval(Expr::atomic_store(
            RING,
            slot_word(idx, SLOT_STATUS),
            Expr::u32(FAULT),
        )),
    ]
}

/// The claim loop run by lane 0: leaves the claimed slot (or NO_SLOT) in `claim[0]`.
fn claim_code(payload_count: u32, interpreter: bool) -> Vec<Node> {
    // Fused payloads, then (with the interpreter) the programs loaded so far.
    let last = Expr::add(
        Expr::u32(FIRST_PAYLOAD_OPCODE + payload_count),
        if interpreter {
            Expr::load(CODE, Expr::u32(CODE_COUNT))
        } else {
            Expr::u32(0)
        },
    );
    let known = Expr::or(
        Expr::lt(Expr::var("c_op"), Expr::u32(BUILTIN_NAMES.len() as u32)),
        Expr::and(
            Expr::ge(Expr::var("c_op"), Expr::u32(FIRST_PAYLOAD_OPCODE)),
            Expr::lt(Expr::var("c_op"), last),
        ),
    );
    let mask_index = Expr::select(
        Expr::lt(Expr::var("c_tenant"), Expr::u32(MAX_TENANTS)),
        Expr::add(Expr::u32(CTRL_TENANT_MASKS), Expr::var("c_tenant")),
        Expr::u32(u32::MAX),
    );
    let allowed = Expr::and(
        Expr::lt(Expr::var("c_op"), Expr::u32(MAX_OPCODES)),
        Expr::eq(
            Expr::bitand(
                Expr::shr(Expr::var("c_mask"), Expr::var("c_op")),
                Expr::u32(1),
            ),
            Expr::u32(1),
        ),
    );
    let on_claimed = vec![
        Node::let_bind("c_op", Expr::load(RING, slot_word("c_idx", SLOT_OPCODE))),
        Node::let_bind(
            "c_tenant",
            Expr::load(RING, slot_word("c_idx", SLOT_TENANT)),
        ),
        Node::let_bind("c_mask", Expr::load(CONTROL, mask_index)),
        Node::if_else(
            Expr::not(known),
            fault("c_idx", FAULT_BAD_OPCODE),
            vec![Node::if_else(
                Expr::not(allowed),
                fault("c_idx", FAULT_UNAUTHORIZED),
                vec![
                    Node::assign("c_slot", Expr::var("c_idx")),
                    Node::assign("c_slot_op", Expr::var("c_op")),
                    Node::Break,
                ],
            )],
        ),
    ];
    let scan = Node::loop_(vec![
        Node::let_bind(
            "c_idx",
            Expr::atomic_add(CONTROL, Expr::u32(CTRL_CURSOR), Expr::u32(1)),
        ),
        Node::if_then(
            Expr::ge(Expr::var("c_idx"), Expr::var("c_count")),
            vec![Node::Break],
        ),
        Node::let_bind(
            "c_old",
            Expr::atomic_compare_exchange(
                RING,
                slot_word("c_idx", SLOT_STATUS),
                Expr::u32(PUBLISHED),
                Expr::u32(CLAIMED),
            ),
        ),
        Node::if_then(
            Expr::eq(Expr::var("c_old"), Expr::u32(PUBLISHED)),
            on_claimed,
        ),
    ]);
    vec![Node::if_then(
        Expr::eq(Expr::local_id(), Expr::u32(0)),
        vec![
            Node::let_bind("c_slot", Expr::u32(NO_SLOT)),
            Node::let_bind("c_slot_op", Expr::u32(0)),
            Node::let_bind("c_shutdown", ctrl(CTRL_SHUTDOWN)),
            Node::let_bind("c_budget", ctrl(CTRL_BUDGET)),
            Node::let_bind("c_count", ctrl(CTRL_SLOT_COUNT)),
            Node::if_then(
                Expr::and(
                    Expr::eq(Expr::var("c_shutdown"), Expr::u32(0)),
                    Expr::lt(Expr::var("ran"), Expr::var("c_budget")),
                ),
                vec![scan],
            ),
            Node::store(CLAIM, Expr::u32(0), Expr::var("c_slot")),
            Node::store(CLAIM, Expr::u32(1), Expr::var("c_slot_op")),
            Node::eval(Expr::atomic_store(CANARY_OK, Expr::u32(0), Expr::u32(0))),
        ],
    )]
}

/// Lane-0-only built-in handler body.
fn lane0(body: Vec<Node>) -> Node {
    Node::if_then(Expr::eq(Expr::local_id(), Expr::u32(0)), body)
}

fn field(word: u32) -> Expr {
    Expr::load(RING, Expr::add(Expr::var("base"), Expr::u32(word)))
}

fn out_index(offset: Expr) -> Expr {
    // In the slot's region or nowhere.
    Expr::select(
        Expr::lt(offset.clone(), field(SLOT_OUT_LEN)),
        Expr::add(field(SLOT_OUT_OFF), offset),
        Expr::u32(u32::MAX),
    )
}

fn builtin_handlers() -> Vec<(u32, Vec<Node>)> {
    let arg = |k: u32| field(SLOT_ARGS + k);
    vec![
        (OP_NOP, vec![]),
        (
            OP_STORE_WORD,
            vec![lane0(vec![Node::eval(Expr::atomic_store(
                RESULTS,
                out_index(arg(0)),
                arg(1),
            ))])],
        ),
        (
            OP_ATOMIC_ADD,
            vec![lane0(vec![Node::eval(Expr::atomic_add(
                RESULTS,
                out_index(arg(0)),
                arg(1),
            ))])],
        ),
        (
            OP_COPY,
            // Lanes copy the slot's data words cooperatively.
            vec![
                Node::let_bind(
                    "cp_words",
                    Expr::shr(Expr::add(field(SLOT_DATA_LEN), Expr::u32(3)), Expr::u32(2)),
                ),
                Node::for_step(
                    "cp_i",
                    Expr::local_id(),
                    Expr::min(Expr::var("cp_words"), field(SLOT_OUT_LEN)),
                    Expr::workgroup_size(),
                    vec![Node::eval(Expr::atomic_store(
                        RESULTS,
                        out_index(Expr::var("cp_i")),
                        Expr::load(ARENA, Expr::add(field(SLOT_DATA_OFF), Expr::var("cp_i"))),
                    ))],
                ),
            ],
        ),
        (
            OP_FENCE,
            vec![lane0(vec![Node::eval(Expr::atomic_max(
                CONTROL,
                Expr::u32(CTRL_EPOCH),
                arg(0),
            ))])],
        ),
        (
            OP_SHUTDOWN,
            vec![lane0(vec![Node::eval(Expr::atomic_store(
                CONTROL,
                Expr::u32(CTRL_SHUTDOWN),
                Expr::u32(1),
            ))])],
        ),
        (
            OP_DEBUG,
            vec![lane0(vec![
                Node::let_bind("dbg_n", Expr::atomic_add(DEBUG, Expr::u32(0), Expr::u32(1))),
                Node::let_bind(
                    "dbg_at",
                    Expr::select(
                        Expr::lt(Expr::var("dbg_n"), ctrl(CTRL_DEBUG_CAP)),
                        Expr::add(
                            Expr::u32(DEBUG_HEADER_WORDS),
                            Expr::mul(Expr::var("dbg_n"), Expr::u32(DEBUG_RECORD_WORDS)),
                        ),
                        Expr::u32(u32::MAX - 8),
                    ),
                ),
                // Records past the buffer's end are dropped by the bounds rule and
                // counted by debug[0] exceeding the capacity (CTRL_DEBUG_CAP).
                Node::eval(Expr::atomic_store(
                    DEBUG,
                    Expr::var("dbg_at"),
                    Expr::var("slot"),
                )),
                Node::eval(Expr::atomic_store(
                    DEBUG,
                    Expr::add(Expr::var("dbg_at"), Expr::u32(1)),
                    Expr::var("op"),
                )),
                Node::eval(Expr::atomic_store(
                    DEBUG,
                    Expr::add(Expr::var("dbg_at"), Expr::u32(2)),
                    arg(0),
                )),
                Node::eval(Expr::atomic_store(
                    DEBUG,
                    Expr::add(Expr::var("dbg_at"), Expr::u32(3)),
                    arg(1),
                )),
            ])],
        ),
    ]
}

/// The canary every lane runs after a slot's payload: a loop of
/// [`CTRL_CANARY`] trips (a count read from the control buffer, so no
/// compiler unrolls it away). A device that silently ends loops (llvmpipe,
/// after 65535 iterations counted over everything an invocation ran) ends
/// this one early too once its count is spent, and then every loop before
/// it may have been cut: the slot ends FAULT([`FAULT_LOOP_CUT`]) instead of
/// DONE with a plausible wrong result. Costs two iterations per slot.
fn canary() -> Vec<Node> {
    vec![
        Node::let_bind("cn_trips", ctrl(CTRL_CANARY)),
        Node::let_bind("cn_ran", Expr::u32(0)),
        Node::loop_(vec![
            Node::assign("cn_ran", Expr::add(Expr::var("cn_ran"), Expr::u32(1))),
            Node::if_then(
                Expr::ge(Expr::var("cn_ran"), Expr::var("cn_trips")),
                vec![Node::Break],
            ),
        ]),
        Node::if_else(
            Expr::lt(Expr::var("cn_ran"), Expr::var("cn_trips")),
            vec![Node::store(
                RING,
                Expr::add(Expr::var("base"), Expr::u32(SLOT_FAULT_REASON)),
                Expr::u32(FAULT_LOOP_CUT),
            )],
            vec![Node::eval(Expr::atomic_add(
                CANARY_OK,
                Expr::u32(0),
                Expr::u32(1),
            ))],
        ),
    ]
}

/// Builds the megakernel program for `payloads` (opcodes
/// `FIRST_PAYLOAD_OPCODE + i`) with `workgroup_size` lanes per workgroup;
/// with `interpreter`, the opcodes after them run programs loaded into the
/// `code` buffer ([`crate::megakernel::interp`]).
pub fn build_kernel(
    name: &str,
    payloads: &[Payload],
    workgroup_size: u32,
    interpreter: bool,
) -> Result<Program> {
    // The host buffers, from the one buffer table (abi::BUFFERS).
    let mut buffers: Vec<BufferDecl> = abi::BUFFERS
        .iter()
        .enumerate()
        .map(|(i, (name, access))| {
            let decl = match access {
                abi::BufferAccess::Read => BufferDecl::read(name, i as u32, DataType::U32),
                abi::BufferAccess::ReadWrite => {
                    BufferDecl::read_write(name, i as u32, DataType::U32)
                }
            };
            if *name == CONTROL {
                decl.with_len(CONTROL_WORDS)
            } else {
                decl
            }
        })
        .collect();
    buffers.push(BufferDecl::workgroup(CLAIM, DataType::U32, 2));
    buffers.push(BufferDecl::workgroup(CANARY_OK, DataType::U32, 1));
    let private = payloads.iter().map(private_words).max().unwrap_or(0);
    if private > 0 {
        buffers.push(BufferDecl::workgroup(LOCAL_ACC, DataType::U32, private));
    }
    let (table_buffer, placements) = super::tables::layout(payloads)?;
    buffers.extend(table_buffer);
    super::tables::check_fits(&buffers, payloads)?;
    let mut cases: Vec<(u32, Vec<Node>)> = builtin_handlers();
    for (i, (p, placed)) in payloads.iter().zip(&placements).enumerate() {
        cases.push((
            FIRST_PAYLOAD_OPCODE + i as u32,
            embed(p, &format!("p{i}_"), "base", placed)?,
        ));
    }
    // An if/else chain over the opcode, built from the last case outwards;
    // the claim let only known opcodes through, so what is left after the
    // fused payloads is a loaded program.
    let mut dispatch: Vec<Node> = if interpreter {
        crate::megakernel::interp::kernel::interpreter(FIRST_PAYLOAD_OPCODE + payloads.len() as u32)
    } else {
        Vec::new()
    };
    for (op, body) in cases.into_iter().rev() {
        dispatch = vec![Node::if_else(
            Expr::eq(Expr::var("op"), Expr::u32(op)),
            body,
            dispatch,
        )];
    }
    let mut iteration = claim_code(payloads.len() as u32, interpreter);
    iteration.extend([
        Node::let_bind("slot", Expr::uniform_load(CLAIM, Expr::u32(0))),
        Node::if_then(
            Expr::eq(Expr::var("slot"), Expr::u32(NO_SLOT)),
            vec![Node::Break],
        ),
        Node::assign("ran", Expr::add(Expr::var("ran"), Expr::u32(1))),
        Node::let_bind("base", Expr::mul(Expr::var("slot"), Expr::u32(SLOT_WORDS))),
        Node::let_bind("op", Expr::uniform_load(CLAIM, Expr::u32(1))),
    ]);
    iteration.extend(dispatch);
    iteration.extend(canary());
    iteration.push(Node::Barrier);
    // After the barrier every lane's fault report is visible: a slot whose
    // payload ran out of its iteration budget ends FAULT, the others DONE.
    iteration.push(lane0(vec![
        Node::eval(Expr::atomic_add(
            CONTROL,
            Expr::u32(CTRL_CLAIMS),
            Expr::u32(1),
        )),
        Node::let_bind(
            "end_reason",
            Expr::load(
                RING,
                Expr::add(Expr::var("base"), Expr::u32(SLOT_FAULT_REASON)),
            ),
        ),
        // A lane that did not pass the canary (its group of lanes left the
        // kernel's loop early, cut) did not run this slot whole.
        Node::let_bind("end_ok", Expr::atomic_load(CANARY_OK, Expr::u32(0))),
        Node::if_then(
            Expr::and(
                Expr::eq(Expr::var("end_reason"), Expr::u32(0)),
                Expr::ne(Expr::var("end_ok"), Expr::workgroup_size()),
            ),
            vec![
                Node::store(
                    RING,
                    Expr::add(Expr::var("base"), Expr::u32(SLOT_FAULT_REASON)),
                    Expr::u32(FAULT_LOOP_CUT),
                ),
                Node::assign("end_reason", Expr::u32(FAULT_LOOP_CUT)),
            ],
        ),
        Node::if_else(
            Expr::eq(Expr::var("end_reason"), Expr::u32(0)),
            vec![
                Node::eval(Expr::atomic_add(
                    CONTROL,
                    Expr::u32(CTRL_DONE_COUNT),
                    Expr::u32(1),
                )),
                Node::eval(Expr::atomic_store(
                    RING,
                    Expr::add(Expr::var("base"), Expr::u32(SLOT_STATUS)),
                    Expr::u32(DONE),
                )),
            ],
            vec![
                Node::eval(Expr::atomic_add(
                    CONTROL,
                    Expr::u32(CTRL_FAULT_COUNT),
                    Expr::u32(1),
                )),
                Node::eval(Expr::atomic_store(
                    RING,
                    Expr::add(Expr::var("base"), Expr::u32(SLOT_STATUS)),
                    Expr::u32(FAULT),
                )),
            ],
        ),
        // Lanes that reach the next claim without lane 0 (its group of
        // lanes left the loop, cut) see no slot instead of this one again.
        Node::store(CLAIM, Expr::u32(0), Expr::u32(NO_SLOT)),
    ]));
    let mut body = vec![Node::let_bind("ran", Expr::u32(0))];
    if interpreter {
        body.extend(crate::megakernel::interp::kernel::prelude());
    }
    body.push(Node::loop_(iteration));
    Ok(Program::new(name, buffers, workgroup_size, body))
}
