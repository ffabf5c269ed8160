//! The `vyre` command line.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use vyre::scan::{open_devices, scan_devices, shared_gpu, Device, ScanConfig};
use vyre::Result;

#[derive(Parser)]
#[command(
    name = "vyre",
    version,
    about = "Many analyses of many files in one GPU pass"
)]
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
        /// Run a payload loaded at run time (text IR `.vyre` or `.vir0`; repeatable).
        #[arg(long = "payload", value_name = "FILE")]
        payload_files: Vec<PathBuf>,
        /// Compile --payload payloads into the kernel (one pipeline compile
        /// per new payload set) instead of running them on the interpreter.
        #[arg(long)]
        fused: bool,
        /// One JSON object per file, then a summary object.
        #[arg(long)]
        json: bool,
        /// Where payloads run.
        #[arg(long, value_enum, default_value_t = BackendArg::Gpu)]
        backend: BackendArg,
        /// Adapter name (substring) or `cpu` for a software adapter; default: VYRE_ADAPTER or the fastest GPU.
        #[arg(long)]
        adapter: Option<String>,
        /// Scan on several devices at once: `all` (every GPU), adapter name
        /// substrings and `cpu` (the CPU reference interpreter), comma-separated.
        #[arg(long, value_name = "LIST", conflicts_with_all = ["adapter", "backend"])]
        adapters: Option<String>,
        /// Bytes per chunk (multiple of 4).
        #[arg(long, default_value_t = 256 << 10)]
        chunk_size: u32,
        /// Bytes of file data per GPU batch.
        #[arg(long, default_value_t = 64 << 20)]
        batch_bytes: usize,
        /// Read with pread instead of io_uring (on the reader threads).
        #[arg(long)]
        no_uring: bool,
        /// Read on N threads with an io_uring ring each (default: the host's
        /// cores, at most 8); 0 reads with one ring on the scan's own thread.
        /// Page-cache reads are memory copies done by the thread that submits
        /// them, so several rings on several threads ingest faster than one.
        #[arg(long, value_name = "N")]
        read_threads: Option<u32>,
        /// Batches in flight per GPU (default 2): one is copied to the GPU
        /// while another runs.
        #[arg(long, default_value_t = 2, value_name = "N")]
        in_flight: u32,
        /// Read files into host memory and copy them into GPU staging memory
        /// (two host copies), instead of straight into GPU-visible upload
        /// buffers (the default on one GPU; several devices always copy).
        #[arg(long)]
        no_zero_copy: bool,
        /// Accepted for old scripts: zero-copy is the default now.
        #[arg(long, hide = true, conflicts_with = "no_zero_copy")]
        zero_copy: bool,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Compile a text-IR file (`.vyre`) or a built-in payload to VIR0 bytecode.
    Compile {
        /// Text IR file: a payload (`payload NAME ...`) or a program (`program NAME ...`).
        #[arg(required_unless_present = "payload", conflicts_with = "payload")]
        input: Option<PathBuf>,
        /// Export a built-in payload instead of reading a file.
        #[arg(long, value_name = "NAME", value_parser = clap::builder::PossibleValuesParser::new(BUILTIN_PAYLOADS.iter().map(|(n, _)| *n)))]
        payload: Option<String>,
        /// Where to write the bytecode (`.vir0`).
        #[arg(short, long, value_name = "OUT")]
        output: PathBuf,
    },
    /// Print a VIR0 (or text-IR) file in the text form, with its digest.
    Disasm {
        /// The file.
        file: PathBuf,
        /// Also list the interpreter bytecode a payload loads as.
        #[arg(long)]
        bytecode: bool,
    },
}

/// A built-in payload: its name and the function that builds its IR.
type BuiltinPayload = (&'static str, fn() -> vyre::Payload);

/// The payloads `vyre compile --payload NAME` exports.
const BUILTIN_PAYLOADS: &[BuiltinPayload] = &[
    ("line_count", vyre::payloads::line_count::payload),
    ("byte_histogram", vyre::payloads::byte_histogram::payload),
    ("count_needle", vyre::payloads::count_needle::payload),
    ("crc32", vyre::payloads::crc32::payload),
    ("non_ascii_count", vyre::payloads::non_ascii_count::payload),
    ("crc32_blocks", vyre::scan::crc::crc32_blocks::payload),
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `vyre compile`: text or built-in → validated → VIR0, checked to decode back to the same IR.
fn compile(input: Option<PathBuf>, payload: Option<String>, output: PathBuf) -> Result<()> {
    use vyre::vir0::{decode, load_file, Module};
    let module = match (&input, &payload) {
        (Some(path), _) => load_file(path)?,
        (None, Some(name)) => {
            let make = BUILTIN_PAYLOADS.iter().find(|(n, _)| n == name).map(|(_, f)| *f).ok_or_else(|| {
                vyre::Error::BadInput(format!("no built-in payload `{name}`. Fix: use one of the names `vyre compile --help` lists"))
            })?;
            let m = Module::Payload(make());
            m.validate().map_err(|problems| vyre::Error::Invalid {
                program: m.name().to_string(),
                problems,
            })?;
            m
        }
        (None, None) => {
            return Err(vyre::Error::BadInput(
                "nothing to compile. Fix: give an INPUT file or --payload NAME".into(),
            ))
        }
    };
    let bytes = module.encode();
    if decode(&bytes)? != module {
        return Err(vyre::Error::BadInput(format!(
            "internal error: `{}` does not decode back to itself. Fix: report this bug with the input",
            module.name()
        )));
    }
    std::fs::write(&output, &bytes).map_err(|source| vyre::Error::Io {
        path: output.display().to_string(),
        source,
    })?;
    eprintln!(
        "vyre: wrote {} {} `{}` ({} bytes, digest blake3:{})",
        output.display(),
        module.kind(),
        module.name(),
        bytes.len(),
        hex(&module.digest())
    );
    Ok(())
}

/// `vyre disasm`: the text form, after a comment line with kind, size and digest (so it parses again).
fn disasm(file: PathBuf, bytecode: bool) -> Result<()> {
    let module = vyre::vir0::load_file(&file)?;
    if bytecode {
        let p = vyre::vir0::load_payload_file(&file)?;
        let bc = vyre::interp::compile(&p)?;
        println!(
            "// interpreter bytecode of `{}`: {} instructions, {} registers per lane, {}",
            p.name,
            bc.words.len() / vyre::interp::INSTR_WORDS as usize,
            bc.regs,
            if bc.all_lanes { "all lanes" } else { "lane 0" }
        );
        print!("{}", bc.disassemble());
        return Ok(());
    }
    let size = module.encode().len();
    print!(
        "// {} `{}`: {size} bytes of VIR0, digest blake3:{}\n{module}",
        module.kind(),
        module.name(),
        hex(&module.digest())
    );
    Ok(())
}

fn report(result: Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vyre: {e}");
            ExitCode::from(2)
        }
    }
}

/// The devices of `--adapters`, or the one of `--backend`/`--adapter`.
fn make_devices(
    kind: BackendArg,
    adapter: Option<&str>,
    adapters: Option<&str>,
    in_flight: u32,
) -> Result<Vec<Device>> {
    if let Some(list) = adapters {
        return open_devices(list, in_flight);
    }
    Ok(match kind {
        BackendArg::Cpu => vec![Box::new(vyre::cpu::CpuBackend::new())],
        BackendArg::Gpu => {
            let choice = match adapter {
                None => vyre::gpu::AdapterChoice::Default,
                Some(a) if a.eq_ignore_ascii_case("cpu") => vyre::gpu::AdapterChoice::Cpu,
                Some(a) => vyre::gpu::AdapterChoice::Named(a.to_string()),
            };
            shared_gpu(vyre::gpu::WgpuBackend::with_adapter(choice)?, in_flight)
        }
    })
}

fn main() -> ExitCode {
    let started = std::time::Instant::now();
    let cli = Cli::parse();
    match cli.command {
        Command::Scan {
            paths,
            lines,
            histogram,
            patterns,
            crc32,
            payload_files,
            fused,
            json,
            backend,
            adapter,
            adapters,
            chunk_size,
            batch_bytes,
            no_uring,
            read_threads,
            in_flight,
            no_zero_copy,
            zero_copy: _,
            quiet,
        } => {
            let mut payloads = Vec::new();
            for f in &payload_files {
                match vyre::vir0::load_payload_file(f) {
                    Ok(p) => payloads.push(p),
                    Err(e) => {
                        eprintln!("vyre: {e}");
                        return ExitCode::from(2);
                    }
                }
            }
            let none = !lines && !histogram && !crc32 && patterns.is_empty() && payloads.is_empty();
            let cfg = ScanConfig {
                payloads,
                fused_payloads: fused,
                lines: lines || none,
                histogram,
                crc32: crc32 || none,
                patterns: patterns.iter().map(|p| p.as_bytes().to_vec()).collect(),
                chunk_size,
                batch_bytes,
                force_fallback: no_uring,
                zero_copy: !no_zero_copy,
                read_threads: read_threads.unwrap_or_else(vyre::scan::default_read_threads),
                ..ScanConfig::default()
            };
            let devices =
                match make_devices(backend, adapter.as_deref(), adapters.as_deref(), in_flight) {
                    Ok(b) => {
                        if std::env::var_os("VYRE_TIMING").is_some() {
                            eprintln!(
                                "vyre timing: process start to devices open {:.3} s",
                                started.elapsed().as_secs_f64()
                            );
                        }
                        b
                    }
                    Err(e) => {
                        eprintln!("vyre: {e}");
                        return ExitCode::from(2);
                    }
                };
            if !json {
                let names: Vec<String> = devices.iter().map(|d| d.name()).collect();
                eprintln!("vyre: scanning on {}", names.join(", "));
            }
            let bar = if quiet || json {
                indicatif::ProgressBar::hidden()
            } else {
                let b = indicatif::ProgressBar::new(0);
                b.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                b
            };
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            let mut write_err = None;
            let result = scan_devices(
                devices,
                &paths,
                &cfg,
                |r| {
                    let line = if json {
                        r.to_json().to_string()
                    } else {
                        r.to_text()
                    };
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
                    let line = if json {
                        summary.to_json().to_string()
                    } else {
                        summary.to_text()
                    };
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
        Command::Compile {
            input,
            payload,
            output,
        } => report(compile(input, payload, output)),
        Command::Disasm { file, bytecode } => report(disasm(file, bytecode)),
    }
}
