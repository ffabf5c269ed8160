//! The program of README.md's "Run your own payloads over files", kept
//! verbatim (`tests/user_payloads.rs` checks that README shows exactly this
//! file's code): `cargo run --release --example readme_scan`.

use std::sync::atomic::{AtomicU32, Ordering};
use vyre::Lanes;

/// Largest byte value: every chunk's word starts at 0 (max's identity).
#[vyre::payload]
fn max_byte(data: &[u8], #[vyre(len = 1, reduce = max)] top: &[AtomicU32], lanes: Lanes) {
    let mut m = 0;
    for i in lanes.range(0..data.len() as u32) {
        m = m.max(data[i as usize] as u32);
    }
    top[0].fetch_max(m, Ordering::Relaxed);
}

/// File offset of the first `needle` byte (u32::MAX if none): a scalar
/// fixed when the scan is set up, and the chunk's offset in its file.
#[vyre::payload]
fn first_byte(
    data: &[u8],
    needle: u32,
    #[vyre(chunk_offset)] offset: u32,
    #[vyre(len = 1, reduce = min)] first: &[AtomicU32],
    lanes: Lanes,
) {
    let mut best = u32::MAX;
    for i in lanes.range(0..data.len() as u32) {
        if data[i as usize] as u32 == needle && i < best {
            best = i;
        }
    }
    if best != u32::MAX {
        first[0].fetch_min(offset + best, Ordering::Relaxed);
    }
}

fn main() -> Result<(), vyre::Error> {
    let scan = vyre::scan::Scan::new(["/usr/share/common-licenses"])
        .payload(max_byte::payload())
        .payload_with_args(first_byte::payload(), &[("needle", b'\n' as u32)])?
        .on_progress(|done, total| eprintln!("{done}/{total} bytes"));
    // .on_cpu_reference() runs it on the CPU reference; .devices("all") on every GPU.
    // Any thread may stop the scan: here a watchdog after 10 seconds.
    let cancel = scan.cancel_token();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(10));
        cancel.cancel();
    });
    let mut files = scan.run()?;
    for file in &mut files {
        match file.error() {
            Some(why) => eprintln!("{}: {why}", file.path().display()),
            None => println!(
                "{}: max byte {}, first newline at {}",
                file.path().display(),
                file.get::<u64>("max_byte").unwrap(),
                file.get::<u64>("first_byte").unwrap(),
            ),
        }
    }
    match files.finish() {
        Ok(summary) => eprintln!("{} files, {} bytes", summary.files, summary.bytes),
        Err(vyre::Error::Cancelled) => eprintln!("stopped after 10 s"),
        Err(e) => return Err(e),
    }
    Ok(())
}
