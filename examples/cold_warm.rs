//! Pipeline cold vs warm start, across processes: how long a process takes
//! to build the scan-like megakernel's pipeline (4 payloads + built-ins)
//! with no cache, with vyre's on-disk pipeline cache, with the driver's own
//! shader cache, and with both. Each case runs two fresh processes one after
//! the other on fresh, empty cache directories: the first is cold, the
//! second shows what the cache saves.
//!
//! `cargo run --release --example cold_warm`
//!
//! Driver caches are steered by their documented variables (NVIDIA:
//! `__GL_SHADER_DISK_CACHE`, `__GL_SHADER_DISK_CACHE_PATH`; Mesa:
//! `MESA_SHADER_CACHE_DISABLE`, `MESA_SHADER_CACHE_DIR`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use vyre::gpu::{AdapterChoice, PipelineCacheLocation, WgpuBackend};
use vyre::megakernel::Megakernel;
use vyre::payloads::{byte_histogram, count_needle, line_count};
use vyre::scan::crc::crc32_blocks;
use vyre::Backend;

fn kernel() -> vyre::Result<vyre::Program> {
    let mk = Megakernel::builder()
        .payload(line_count::payload())
        .payload(byte_histogram::payload())
        .payload(count_needle::payload())
        .payload(crc32_blocks::payload())
        .build(vyre::cpu::CpuBackend::new())?;
    Ok(mk.program().clone())
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// One process: open the device (with the cache `VYRE_PIPELINE_CACHE`
/// names), build the pipeline, build it again from memory; print one line.
fn child() -> vyre::Result<()> {
    let program = kernel()?;
    let t = Instant::now();
    let gpu = WgpuBackend::with_adapter_and_cache(
        AdapterChoice::Default,
        PipelineCacheLocation::Default,
    )?;
    let open = ms(t);
    let t = Instant::now();
    gpu.compile(&program)?;
    let compile = ms(t);
    let t = Instant::now();
    gpu.compile(&program)?;
    let memory = ms(t);
    let info = gpu.pipeline_cache_info().unwrap_or_default();
    println!(
        "adapter={} open_ms={open:.1} compile_ms={compile:.1} memory_ms={memory:.3} loaded={} accepted={} saved={}",
        gpu.name(),
        info.loaded_bytes,
        info.accepted_bytes,
        info.saves
    );
    Ok(())
}

/// Runs this example as a child with vyre's cache in `vyre_dir` (or off)
/// and the driver's cache in `driver_dir` (or off); returns its line.
fn spawn(vyre_dir: Option<&Path>, driver_dir: Option<&Path>) -> Result<String, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(exe);
    cmd.arg("--child");
    match vyre_dir {
        Some(d) => cmd.env("VYRE_PIPELINE_CACHE", d),
        None => cmd.env("VYRE_PIPELINE_CACHE", "off"),
    };
    match driver_dir {
        Some(d) => cmd
            .env("__GL_SHADER_DISK_CACHE", "1")
            .env("__GL_SHADER_DISK_CACHE_PATH", d)
            .env("__GL_SHADER_DISK_CACHE_SKIP_CLEANUP", "1")
            .env_remove("MESA_SHADER_CACHE_DISABLE")
            .env("MESA_SHADER_CACHE_DIR", d),
        None => cmd
            .env("__GL_SHADER_DISK_CACHE", "0")
            .env("MESA_SHADER_CACHE_DISABLE", "true"),
    };
    let out = cmd.output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.starts_with("adapter="))
        .map(str::to_string)
        .ok_or_else(|| format!("the child printed no result: {text}"))
}

fn main() {
    if std::env::args().any(|a| a == "--child") {
        if let Err(e) = child() {
            eprintln!("{e}");
            std::process::exit(1);
        }
        return;
    }
    let root: PathBuf = std::env::temp_dir().join(format!("vyre-cold-warm-{}", std::process::id()));
    let cases: [(&str, bool, bool); 4] = [
        ("no cache", false, false),
        ("vyre pipeline cache only", true, false),
        ("driver shader cache only", false, true),
        ("both", true, true),
    ];
    let mut failed = false;
    for (k, (name, vyre_on, driver_on)) in cases.into_iter().enumerate() {
        let vyre_dir = root.join(format!("{k}-vyre"));
        let driver_dir = root.join(format!("{k}-driver"));
        for d in [&vyre_dir, &driver_dir] {
            if let Err(e) = std::fs::create_dir_all(d) {
                eprintln!("cannot create {}: {e}", d.display());
                std::process::exit(1);
            }
        }
        for process in 1..=2 {
            let v = vyre_on.then_some(vyre_dir.as_path());
            let d = driver_on.then_some(driver_dir.as_path());
            match spawn(v, d) {
                Ok(line) => println!("{name}, process {process}: {line}"),
                Err(e) => {
                    eprintln!("{name}, process {process} failed: {e}");
                    failed = true;
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&root);
    if failed {
        std::process::exit(1);
    }
}
