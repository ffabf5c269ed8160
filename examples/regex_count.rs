//! The `regex` crate alone, as a baseline for `vyre scan -r`: counts each
//! regex of a regex file per file the way `vyre scan --regex-file` does
//! (every line searched on its own, leftmost-first, non-overlapping), on
//! all cores (rayon, one file per task), and prints the totals per regex
//! and the wall time. The counts must equal vyre's (BENCHMARKS.md).
//!
//! `cargo run --release --example regex_count -- examples/patterns/secrets-regex.txt DIR`

use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        out.push(dir.to_path_buf());
        return;
    };
    for e in entries.flatten() {
        let ty = e.file_type().expect("file type");
        if ty.is_dir() {
            files(&e.path(), out);
        } else if ty.is_file() {
            out.push(e.path());
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [rules, dir] = args.as_slice() else {
        return Err("usage: regex_count REGEX_FILE DIR".into());
    };
    let text = std::fs::read(rules)?;
    let patterns = vyre::scan::regex::parse_regex_file(&text, rules)?;
    let res = patterns
        .iter()
        .map(|p| regex::bytes::Regex::new(p))
        .collect::<Result<Vec<_>, _>>()?;
    let t0 = Instant::now();
    let mut paths = Vec::new();
    files(Path::new(dir), &mut paths);
    let (bytes, totals) = paths
        .par_iter()
        .map(|p| {
            let data = std::fs::read(p).unwrap_or_default();
            let body = data.strip_suffix(b"\n").unwrap_or(&data);
            let mut counts = vec![0u64; res.len()];
            if !data.is_empty() {
                for line in body.split(|&b| b == b'\n') {
                    for (c, re) in counts.iter_mut().zip(&res) {
                        *c += re.find_iter(line).count() as u64;
                    }
                }
            }
            (data.len() as u64, counts)
        })
        .reduce(
            || (0, vec![0u64; res.len()]),
            |(b1, c1), (b2, c2)| (b1 + b2, c1.iter().zip(&c2).map(|(x, y)| x + y).collect()),
        );
    let secs = t0.elapsed().as_secs_f64();
    for (p, n) in patterns.iter().zip(&totals) {
        println!("{n}\t{p}");
    }
    println!(
        "{} files, {bytes} bytes in {secs:.3} s ({:.3} GB/s), {} threads",
        paths.len(),
        bytes as f64 / secs / 1e9,
        rayon::current_num_threads()
    );
    Ok(())
}
