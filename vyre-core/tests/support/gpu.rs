//! Small GPU programs and the default adapter, shared by the wgpu tests.

use vyre_core::gpu::WgpuBackend;
use vyre_core::{Backend, BufferDecl, DataType, Expr, Node, Program};

/// The default adapter (llvmpipe in CI); says which in the test output.
pub fn backend() -> WgpuBackend {
    let g = WgpuBackend::new()
        .expect("a wgpu adapter (install mesa-vulkan-drivers for the software one)");
    eprintln!("adapter: {}", g.name());
    g
}

/// Invocation `i` of 64 runs `body` with `i` bound, when `i < 64`.
fn over_64(name: &str, buffers: Vec<BufferDecl>, body: Vec<Node>) -> Program {
    Program::new(
        name,
        buffers,
        64,
        vec![
            Node::let_bind("i", Expr::global_id()),
            Node::if_then(Expr::lt(Expr::var("i"), Expr::u32(64)), body),
        ],
    )
}

/// `out[i] = data[i] * k + 1` over 64 words (`data` read-only, `out`
/// read-write, both of fixed length 64).
pub fn affine(name: &str, k: u32) -> Program {
    let i = || Expr::var("i");
    over_64(
        name,
        vec![
            BufferDecl::read("data", 0, DataType::U32).with_len(64),
            BufferDecl::read_write("out", 1, DataType::U32).with_len(64),
        ],
        vec![Node::store(
            "out",
            i(),
            Expr::add(
                Expr::mul(Expr::load("data", i()), Expr::u32(k)),
                Expr::u32(1),
            ),
        )],
    )
}

/// What [`affine`] computes, in Rust.
pub fn affine_expected(data: &[u32], k: u32) -> Vec<u32> {
    data.iter()
        .map(|d| d.wrapping_mul(k).wrapping_add(1))
        .collect()
}

/// `data[i] = f(data[i])` over the first 64 words of one read-write buffer
/// (no `len()`, so it may keep resident buffers).
pub fn in_place(name: &str, f: fn(Expr) -> Expr) -> Program {
    let i = || Expr::var("i");
    over_64(
        name,
        vec![BufferDecl::read_write("data", 0, DataType::U32)],
        vec![Node::store("data", i(), f(Expr::load("data", i())))],
    )
}

/// `data[global_id] = k` (dropped past the buffer's end).
pub fn fill(name: &str, k: u32) -> Program {
    Program::new(
        name,
        vec![BufferDecl::read_write("data", 0, DataType::U32)],
        64,
        vec![Node::store("data", Expr::global_id(), Expr::u32(k))],
    )
}
