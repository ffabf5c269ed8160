//! The constant tables of fused payloads: all of them in one
//! [`Access::Constant`](crate::ir::Access::Constant) buffer of the
//! megakernel ([`TABLES`]), identical tables stored once.
//!
//! A payload reads table `T` as the buffer `T` ([`crate::ir::payload::table_load`]);
//! the embedding turns that into a read of `TABLES` at the table's offset,
//! confined to the table's words (past them a read gives 0, as the IR says
//! for any load out of range). On the GPU the whole buffer is copied into
//! workgroup memory when a workgroup starts, once per dispatch, not per slot.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::ir::payload::OUT_OF_RANGE;
use crate::ir::{BufferDecl, DataType, Expr, Payload};

/// The megakernel buffer holding every fused payload's tables.
pub const TABLES: &str = "tables";
/// Its binding: after the megakernel's eight host buffers.
pub const TABLES_BINDING: u32 = 8;

/// Where a payload's tables lie in [`TABLES`]: name → (first word, words).
pub type Placement = HashMap<String, (u32, u32)>;

/// Lays out the tables of `payloads` in one buffer; returns its declaration
/// (`None` without tables) and each payload's placement.
pub fn layout(payloads: &[Payload]) -> Result<(Option<BufferDecl>, Vec<Placement>)> {
    let mut words: Vec<u32> = Vec::new();
    let mut stored: Vec<(u32, &[u32])> = Vec::new();
    let mut placements = Vec::with_capacity(payloads.len());
    for p in payloads {
        check_tables(p)?;
        let mut placed = Placement::new();
        for t in &p.tables {
            let at = match stored.iter().find(|(_, w)| *w == t.words.as_slice()) {
                Some((at, _)) => *at,
                None => {
                    let at = u32::try_from(words.len()).unwrap_or(u32::MAX);
                    words.extend_from_slice(&t.words);
                    stored.push((at, &t.words));
                    at
                }
            };
            placed.insert(t.name.clone(), (at, t.words.len() as u32));
        }
        placements.push(placed);
    }
    let decl = (!words.is_empty())
        .then(|| BufferDecl::constant(TABLES, TABLES_BINDING, DataType::U32, words));
    Ok((decl, placements))
}

/// Checks that the kernel's workgroup memory (`buffers`: its workgroup
/// buffers and the table buffer) fits, naming the tables when it does not.
pub fn check_fits(buffers: &[BufferDecl], payloads: &[Payload]) -> Result<()> {
    let words: u64 = buffers
        .iter()
        .filter(|b| b.access.in_workgroup_memory())
        .map(|b| u64::from(b.len.unwrap_or(0)))
        .sum();
    let max = crate::validate::MAX_WORKGROUP_BYTES / 4;
    if words <= max {
        return Ok(());
    }
    let tables: Vec<String> = payloads
        .iter()
        .flat_map(|p| {
            p.tables
                .iter()
                .map(move |t| format!("`{}` of `{}` ({} words)", t.name, p.name, t.words.len()))
        })
        .collect();
    Err(Error::bad_input(format!("the fused payloads need {words} words of workgroup memory, more than the {max} (16 KiB) vyre allows; their constant tables: {}", if tables.is_empty() { "none".to_string() } else { tables.join(", ") }), "fuse fewer payloads with tables into one megakernel, or use smaller tables"))
}

/// Checks that the tables of `p` have words and names of their own.
pub fn check_tables(p: &Payload) -> Result<()> {
    for (i, t) in p.tables.iter().enumerate() {
        let bad = |why: String, fix: String| {
            Err(Error::bad_input(
                format!("table `{}` of payload `{}` {why}", t.name, p.name),
                fix,
            ))
        };
        if t.words.is_empty() {
            return bad(
                "has no words".to_string(),
                "give every table at least one word".to_string(),
            );
        }
        if u32::try_from(t.words.len()).is_err() {
            return bad(
                "has more than u32::MAX words".to_string(),
                "use a smaller table".to_string(),
            );
        }
        if p.params.iter().any(|q| q.name == t.name)
            || p.tables[..i].iter().any(|u| u.name == t.name)
        {
            return bad(
                "has the name of another parameter or table".to_string(),
                "give every table its own name".to_string(),
            );
        }
    }
    Ok(())
}

/// `index` into a table placed at `(at, len)`, as an index into [`TABLES`]:
/// `at + index` inside the table, [`OUT_OF_RANGE`] past it.
pub fn index(index: Expr, (at, len): (u32, u32)) -> Expr {
    Expr::select(
        Expr::lt(index.clone(), Expr::u32(len)),
        Expr::add(index, Expr::u32(at)),
        Expr::u32(OUT_OF_RANGE),
    )
}
