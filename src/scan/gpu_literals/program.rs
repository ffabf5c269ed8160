//! The device literal program ([`program`]): the IR that walks the DFA
//! over segments and records matches (see the [parent](super) module for
//! the engine that runs it).

use vyre_core::ir::{BufferDecl, DataType, Expr, Node, Program};

use super::{HIT_HEADER, HIT_WORDS, TABLE_MODE, WORKGROUP};
use crate::scan::literal_dfa::OUTPUT_FLAG;

/// The device program: buffers `lit_params` (segments, classes, hit
/// capacity, canary trips, recording mode, output states), `lit_data` (the
/// arena), `lit_segs` (per segment: chunk — or, recording to the table,
/// the table row —, warm-up start word, segment start word, end byte),
/// `lit_classes` (256 words), `lit_trans` (the DFA), `lit_hits` (header and
/// records), `lit_out_index` (per state, its output-state index) and
/// `lit_table` (the count table).
pub fn program(name: &str) -> Program {
    let buffers = vec![
        BufferDecl::read("lit_params", 0, DataType::U32),
        BufferDecl::read("lit_data", 1, DataType::U32),
        BufferDecl::read("lit_segs", 2, DataType::U32),
        BufferDecl::read("lit_classes", 3, DataType::U32),
        BufferDecl::read("lit_trans", 4, DataType::U32),
        BufferDecl::read_write("lit_hits", 5, DataType::U32),
        BufferDecl::read("lit_out_index", 6, DataType::U32),
        BufferDecl::read_write("lit_table", 7, DataType::U32),
        BufferDecl::workgroup("lit_cls", DataType::U32, 256),
    ];
    let v = Expr::var;
    let u = Expr::u32;
    // One DFA step over byte `k` of `word`; `t{k}` is the transition word.
    let step = |k: u32| -> (String, Node) {
        let t = format!("t{k}");
        let byte = Expr::bitand(Expr::shr(v("word"), u(8 * k)), u(255));
        let next = Expr::load(
            "lit_trans",
            Expr::add(Expr::mul(v("st"), v("ncls")), Expr::load("lit_cls", byte)),
        );
        (t.clone(), Node::let_bind(&t, next))
    };
    let mut warm = vec![
        Node::if_then(Expr::ge(v("wa"), v("ws")), vec![Node::Break]),
        Node::let_bind("word", Expr::load("lit_data", v("wa"))),
    ];
    for k in 0..4 {
        let (t, n) = step(k);
        warm.push(n);
        warm.push(Node::assign("st", Expr::bitand(v(&t), u(!OUTPUT_FLAG))));
    }
    warm.push(Node::assign("wa", Expr::add(v("wa"), u(1))));
    let mut main = vec![
        Node::if_then(Expr::ge(v("w"), v("we")), vec![Node::Break]),
        Node::let_bind("word", Expr::load("lit_data", v("w"))),
    ];
    for k in 0..4 {
        let (t, n) = step(k);
        let pos = format!("pos{k}");
        let hit = format!("n{k}");
        let at = format!("at{k}");
        main.push(Node::let_bind(
            &pos,
            Expr::add(Expr::mul(v("w"), u(4)), u(k)),
        ));
        main.push(Node::if_then(
            Expr::lt(v(&pos), v("end")),
            vec![
                n,
                Node::assign("st", Expr::bitand(v(&t), u(!OUTPUT_FLAG))),
                Node::if_then(
                    Expr::ge(v(&t), u(OUTPUT_FLAG)),
                    vec![Node::if_else(
                        Expr::eq(v("mode"), u(TABLE_MODE)),
                        vec![Node::eval(Expr::atomic_add(
                            "lit_table",
                            Expr::add(
                                Expr::mul(v("chunk"), v("nout")),
                                Expr::load("lit_out_index", v("st")),
                            ),
                            u(1),
                        ))],
                        vec![
                            Node::let_bind(&hit, Expr::atomic_add("lit_hits", u(0), u(1))),
                            Node::if_then(
                                Expr::lt(v(&hit), v("cap")),
                                vec![
                                    Node::let_bind(
                                        &at,
                                        Expr::add(u(HIT_HEADER), Expr::mul(v(&hit), u(HIT_WORDS))),
                                    ),
                                    Node::store("lit_hits", v(&at), v("chunk")),
                                    Node::store("lit_hits", Expr::add(v(&at), u(1)), v("st")),
                                    Node::store("lit_hits", Expr::add(v(&at), u(2)), v(&pos)),
                                ],
                            ),
                        ],
                    )],
                ),
            ],
        ));
    }
    main.push(Node::assign("w", Expr::add(v("w"), u(1))));
    let seg = |i: u32| Expr::load("lit_segs", Expr::add(v("sb"), u(i)));
    let work = vec![
        Node::let_bind("ncls", Expr::load("lit_params", u(1))),
        Node::let_bind("cap", Expr::load("lit_params", u(2))),
        Node::let_bind("trips_want", Expr::load("lit_params", u(3))),
        Node::let_bind("mode", Expr::load("lit_params", u(4))),
        Node::let_bind("nout", Expr::load("lit_params", u(5))),
        Node::let_bind("sb", Expr::mul(v("g"), u(4))),
        Node::let_bind("chunk", seg(0)),
        Node::let_bind("wa", seg(1)),
        Node::let_bind("ws", seg(2)),
        Node::let_bind("end", seg(3)),
        Node::let_bind("we", Expr::div(Expr::add(v("end"), u(3)), u(4))),
        Node::let_bind("st", u(0)),
        Node::loop_(warm),
        Node::let_bind("w", v("ws")),
        Node::loop_(main),
        Node::let_bind("trips", u(0)),
        Node::for_range(
            "i",
            u(0),
            v("trips_want"),
            vec![Node::assign("trips", Expr::add(v("trips"), u(1)))],
        ),
        Node::if_then(
            Expr::and(
                Expr::and(Expr::eq(v("wa"), v("ws")), Expr::eq(v("w"), v("we"))),
                Expr::eq(v("trips"), v("trips_want")),
            ),
            vec![Node::eval(Expr::atomic_add("lit_hits", u(1), u(1)))],
        ),
    ];
    let body = vec![
        Node::for_step(
            "ci",
            Expr::local_id(),
            u(256),
            Expr::workgroup_size(),
            vec![Node::store(
                "lit_cls",
                v("ci"),
                Expr::load("lit_classes", v("ci")),
            )],
        ),
        Node::Barrier,
        Node::let_bind("g", Expr::global_id()),
        Node::if_then(Expr::lt(v("g"), Expr::load("lit_params", u(0))), work),
    ];
    Program::new(name, buffers, WORKGROUP, body)
}
