//! Runs six user payloads, one per kind of reduction (sum, min, max, and,
//! xor, and a combine), over real files with the library scan API, and
//! checks every file's results against plain Rust, and against `wc -w` and
//! `wc -L` where those apply (ASCII files without tabs).
//!
//! ```sh
//! cargo run --release --example user_payloads -- [--cpu] [PATHS...]
//! ```
//! (default paths: /usr/share/common-licenses; `--cpu` runs on the CPU
//! reference instead of the default GPU).

#[path = "user_payloads/payloads.rs"]
mod payloads;

use payloads::*;
use std::process::Command;
use vyre::scan::Scan;

fn wc(flag: &str, path: &std::path::Path) -> Option<u64> {
    let out = Command::new("wc").arg(flag).arg(path).output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let cpu = args.iter().any(|a| a == "--cpu");
    args.retain(|a| a != "--cpu");
    if args.is_empty() {
        args.push("/usr/share/common-licenses".into());
    }
    let mut scan = Scan::new(&args)
        .payload(word_count::payload())
        .payload_with_args(first_byte::payload(), &[("needle", b'\n' as u32)])?
        .payload(max_byte::payload())
        .payload(all_ascii::payload())
        .payload(xor_words::payload())
        .payload(longest_line::payload())
        .on_progress(|done, total| eprint!("\r{done}/{total} bytes"));
    if cpu {
        scan = scan.on_cpu_reference();
    }
    let (mut files, mut wc_checked, mut bad) = (0, 0, 0);
    let started = std::time::Instant::now();
    for f in scan.run()? {
        if let Some(why) = f.error() {
            eprintln!("\n{}: {why}", f.path().display());
            continue;
        }
        let d = std::fs::read(f.path())?;
        let ll: LongestLine = f.get("longest_line").ok_or("no longest_line result")?;
        let got = (
            f.get::<u64>("word_count"),
            f.get::<u64>("first_byte"),
            f.get::<u64>("max_byte"),
            f.get::<bool>("all_ascii"),
            f.get::<u64>("xor_words"),
            ll.longest(),
        );
        let want = (
            Some(reference::word_count(&d)),
            Some(reference::first_byte(&d, b'\n')),
            Some(reference::max_byte(&d)),
            Some(reference::all_ascii(&d)),
            Some(reference::xor_words(&d)),
            reference::longest_line(&d),
        );
        files += 1;
        if got != want {
            bad += 1;
            eprintln!("\n{}: got {got:?}, want {want:?}", f.path().display());
        }
        // wc -w and wc -L agree with bytes only for plain ASCII without tabs.
        if d.is_ascii() && !d.contains(&b'\t') && wc_checked < 50 {
            wc_checked += 1;
            if wc("-w", f.path()) != got.0 || wc("-L", f.path()) != Some(u64::from(got.5)) {
                bad += 1;
                eprintln!("\n{}: differs from wc -w / wc -L", f.path().display());
            }
        }
    }
    eprintln!(
        "\n{files} files, 6 payloads each, in {:.2} s: {bad} differences (plain Rust on every file, wc -w and wc -L on {wc_checked})",
        started.elapsed().as_secs_f64()
    );
    if bad > 0 {
        return Err("results differ".into());
    }
    Ok(())
}
