//! A secret-scanning-like literal rule set (`examples/patterns/secrets.txt`:
//! private key headers, cloud and chat token prefixes, `password=` ...) run
//! over a tree with the host Aho-Corasick engine, case-insensitively; prints
//! each file with hits and which rules hit it.
//!
//! `cargo run --release --example secret_scan -- DIR...` (the same as
//! `vyre scan -i -f examples/patterns/secrets.txt DIR...`).

fn main() -> Result<(), vyre::Error> {
    let rules_path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/patterns/secrets.txt");
    let text = std::fs::read(rules_path).map_err(|e| {
        vyre::Error::bad_input(
            format!("cannot read {rules_path}: {e}"),
            "run from a checkout of vyre",
        )
    })?;
    let rules = vyre::scan::parse_pattern_file(&text, rules_path)?;
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        return Err(vyre::Error::bad_input(
            "no path given",
            "pass directories or files to scan, e.g. `-- /etc`",
        ));
    }
    let scan = vyre::scan::Scan::new(&paths)
        .patterns(&rules)
        .ignore_case(true);
    let (mut files, mut flagged) = (0u64, 0u64);
    for file in scan.run()? {
        files += 1;
        if let Some(why) = file.error() {
            eprintln!("{}: {why}", file.path().display());
            continue;
        }
        let hits: Vec<String> = file
            .report()
            .matches
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(rule, n)| format!("{n} x \"{rule}\""))
            .collect();
        if !hits.is_empty() {
            flagged += 1;
            println!("{}: {}", file.path().display(), hits.join(", "));
        }
    }
    eprintln!("{flagged} of {files} files have hits");
    Ok(())
}
