//! The `vyre` command line.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use vyre::scan::{scan, ScanConfig};
use vyre::{Backend, Result};

#[derive(Parser)]
#[command(name = "vyre", version, about = "Many analyses of many files in one GPU pass")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum BackendArg {
    /// wgpu on the best adapter (software Vulkan when there is no GPU).
    Gpu,
    /// The CPU reference interpreter.
    Cpu,
}

#[derive(Subcommand)]
enum Command {
    /// Scan files and directories (recursively).
    Scan {
        /// Files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Count lines (`\n` bytes, like `wc -l`).
        #[arg(long)]
        lines: bool,
        /// 256-bin byte histogram.
        #[arg(long)]
        histogram: bool,
        /// Count overlapping occurrences of a literal pattern (repeatable).
        #[arg(short = 'e', long = "pattern", value_name = "PATTERN")]
        patterns: Vec<String>,
        /// CRC-32/IEEE of each file.
        #[arg(long)]
        crc32: bool,
        /// One JSON object per file, then a summary object.
        #[arg(long)]
        json: bool,
        /// Where payloads run.
        #[arg(long, value_enum, default_value_t = BackendArg::Gpu)]
        backend: BackendArg,
        /// Adapter name (substring) or `cpu` for a software adapter; default: VYRE_ADAPTER or the fastest GPU.
        #[arg(long)]
        adapter: Option<String>,
        /// Bytes per chunk (multiple of 4).
        #[arg(long, default_value_t = 1 << 20)]
        chunk_size: u32,
        /// Bytes of file data per GPU batch.
        #[arg(long, default_value_t = 16 << 20)]
        batch_bytes: usize,
        /// Read with plain pread instead of io_uring.
        #[arg(long)]
        no_uring: bool,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
}

fn make_backend(kind: BackendArg, adapter: Option<&str>) -> Result<Box<dyn Backend>> {
    Ok(match kind {
        BackendArg::Cpu => Box::new(vyre::cpu::CpuBackend::new()),
        BackendArg::Gpu => {
            let choice = match adapter {
                None => vyre::gpu::AdapterChoice::Default,
                Some(a) if a.eq_ignore_ascii_case("cpu") => vyre::gpu::AdapterChoice::Cpu,
                Some(a) => vyre::gpu::AdapterChoice::Named(a.to_string()),
            };
            Box::new(vyre::gpu::WgpuBackend::with_adapter(choice)?)
        }
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Scan {
            paths,
            lines,
            histogram,
            patterns,
            crc32,
            json,
            backend,
            adapter,
            chunk_size,
            batch_bytes,
            no_uring,
            quiet,
        } => {
            let none = !lines && !histogram && !crc32 && patterns.is_empty();
            let cfg = ScanConfig {
                lines: lines || none,
                histogram,
                crc32: crc32 || none,
                patterns: patterns.iter().map(|p| p.as_bytes().to_vec()).collect(),
                chunk_size,
                batch_bytes,
                force_fallback: no_uring,
                ..ScanConfig::default()
            };
            let backend = match make_backend(backend, adapter.as_deref()) {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("vyre: {e}");
                    return ExitCode::from(2);
                }
            };
            if !json {
                eprintln!("vyre: scanning on {}", backend.name());
            }
            let bar = if quiet || json {
                indicatif::ProgressBar::hidden()
            } else {
                let b = indicatif::ProgressBar::new(0);
                b.set_style(
                    indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                b
            };
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            let mut write_err = None;
            let result = scan(
                backend,
                &paths,
                &cfg,
                |r| {
                    let line = if json { r.to_json().to_string() } else { r.to_text() };
                    if let Err(e) = bar.suspend(|| writeln!(out, "{line}")) {
                        write_err.get_or_insert(e);
                    }
                },
                |done, total| {
                    bar.set_length(total);
                    bar.set_position(done);
                },
            );
            bar.finish_and_clear();
            match result {
                Ok(summary) => {
                    let line = if json { summary.to_json().to_string() } else { summary.to_text() };
                    let _ = writeln!(out, "{line}");
                    if let Some(e) = write_err {
                        eprintln!("vyre: writing results failed: {e}");
                        return ExitCode::from(2);
                    }
                    if summary.failed > 0 {
                        ExitCode::from(1)
                    } else {
                        ExitCode::SUCCESS
                    }
                }
                Err(e) => {
                    eprintln!("vyre: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}
