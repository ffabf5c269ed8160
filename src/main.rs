//! The `vyre` command line.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use vyre::scan::{
    open_engines, parse_pattern, scan_engines, shared_gpu, validate_in_flight, Engine, ScanConfig,
    DEFAULT_ITERATION_BUDGET,
};
use vyre::Result;

mod exit;
mod usage;
mod vir0_commands;
use exit::{end, warn, write_failed};
use usage::whole;
use vir0_commands::{compile, disasm, BUILTIN_PAYLOADS};

#[derive(Parser)]
#[command(
    name = "vyre",
    version,
    about = "Many analyses of many files in one GPU pass"
)]
struct Cli {
    /// More messages on stderr: -v progress notes, -vv timing of each phase
    /// (as VYRE_TIMING=1), -vvv everything. RUST_LOG overrides it.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

/// Sends the library's log events (`tracing`) to stderr, each line prefixed
/// `vyre: ` (timing lines `vyre timing: `): warnings by default, more with
/// `-v`, `VYRE_TIMING=1` or `RUST_LOG` (e.g. `RUST_LOG=vyre::timing=debug`).
fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let level = ["warn", "info", "warn,vyre::timing=debug", "debug"][usize::from(verbose.min(3))];
    let mut filter = match std::env::var("RUST_LOG") {
        Ok(spec) => EnvFilter::try_new(spec).unwrap_or_else(|_| EnvFilter::new(level)),
        Err(_) => EnvFilter::new(level),
    };
    if std::env::var_os("VYRE_TIMING").is_some() {
        if let Ok(d) = "vyre::timing=debug".parse() {
            filter = filter.add_directive(d);
        }
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time()
        .with_level(false)
        .with_target(false)
        .event_format(VyreFormat)
        .try_init();
}

/// `vyre: MESSAGE`, or `vyre timing: MESSAGE` for timing events.
struct VyreFormat;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for VyreFormat
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let timing = event.metadata().target() == "vyre::timing";
        write!(
            writer,
            "{}",
            if timing { "vyre timing: " } else { "vyre: " }
        )?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum BackendArg {
    /// wgpu on the best adapter (software Vulkan when there is no GPU).
    Gpu,
    /// The CPU reference interpreter.
    Cpu,
    /// The payloads' native code (compiled by rustc) on every core; payloads
    /// loaded with --payload run as JIT code.
    Native,
    /// Native code on every core at once, and the GPU (--adapter, else the
    /// default one) joining on the same batch queue as soon as it opened
    /// (same as `--adapters gpu,native`).
    #[value(name = "gpu+native")]
    GpuNative,
}

// Parsed once per process: the size of the `scan` variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Scan files and directories (recursively).
    ///
    /// Exit status: 0 every path was scanned; 1 some path failed (each is
    /// reported with its reason, the others are scanned); 2 bad usage, or the
    /// scan could not run. A closed output (e.g. `| head`) ends the scan
    /// quietly with status 0.
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
        /// Count overlapping occurrences of a literal byte pattern
        /// (repeatable; each pattern once). Escapes: \xHH (a byte), \n, \r,
        /// \t, \0, \\ (a backslash); other bytes, UTF-8 or not, stand for
        /// themselves. 1 to 256 bytes.
        #[arg(
            short = 'e',
            long = "pattern",
            value_name = "PATTERN",
            allow_hyphen_values = true
        )]
        patterns: Vec<OsString>,
        /// Read literal patterns from FILE, one per line, with -e's escapes
        /// (repeatable; up to 1048576 patterns with -e). Empty lines are
        /// refused; a \r before a line's \n is dropped.
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        pattern_files: Vec<PathBuf>,
        /// Match -e/-f patterns ASCII case-insensitively (a-z equal A-Z).
        #[arg(short = 'i', long = "ignore-case")]
        ignore_case: bool,
        /// Count matches of a regex (Rust syntax; repeatable) like `rg -c -o`:
        /// leftmost-first, non-overlapping, within lines.
        #[arg(
            short = 'r',
            long = "regex",
            value_name = "REGEX",
            allow_hyphen_values = true
        )]
        regexes: Vec<String>,
        /// Read regexes from FILE, one per line (repeatable).
        #[arg(long = "regex-file", value_name = "FILE")]
        regex_files: Vec<PathBuf>,
        /// Print each match of -r/-e/-f (`PATH:LINE:COLUMN:LINE`, or JSON
        /// objects with "type":"match") before its file's report.
        #[arg(long)]
        matches: bool,
        /// With --matches: print at most N (1 to 1048576) per file.
        #[arg(long, value_name = "N", default_value_t = vyre::scan::matches::DEFAULT_MAX_MATCHES, requires = "matches", allow_negative_numbers = true, value_parser = whole::<usize>)]
        max_matches_per_file: usize,
        /// CRC-32/IEEE of each file.
        #[arg(long)]
        crc32: bool,
        /// Run a payload loaded at run time (text IR `.vyre` or `.vir0`;
        /// repeatable; each file, and each payload name, once).
        #[arg(long = "payload", value_name = "FILE")]
        payload_files: Vec<PathBuf>,
        /// Fix a scalar parameter of a --payload payload: `NAME.PARAM=VALUE`
        /// (VALUE decimal or 0x hex, e.g. `first_byte.needle=0x0a`;
        /// repeatable).
        #[arg(long = "arg", value_name = "PAYLOAD.PARAM=VALUE")]
        args: Vec<String>,
        /// Compile --payload payloads into the kernel (one pipeline compile
        /// per new payload set) instead of running them on the interpreter.
        #[arg(long)]
        fused: bool,
        /// One JSON object per file, then a summary object.
        #[arg(long)]
        json: bool,
        /// Where payloads run (default: gpu, or native when the only GPU
        /// adapter is a software one such as llvmpipe and --adapter and
        /// VYRE_ADAPTER are not given).
        #[arg(long, value_enum)]
        backend: Option<BackendArg>,
        /// Adapter name (substring) or `cpu` for a software adapter; default: VYRE_ADAPTER or the fastest GPU.
        #[arg(long)]
        adapter: Option<String>,
        /// Scan on several devices at once: `all` (every GPU), adapter name
        /// substrings, `cpu` (the CPU reference interpreter) and `native`, comma-separated.
        #[arg(long, value_name = "LIST", conflicts_with_all = ["adapter", "backend"])]
        adapters: Option<String>,
        /// Bytes per chunk: a multiple of 4 from 4 to 67108864 (64 MiB).
        #[arg(long, default_value_t = 256 << 10, value_name = "N", allow_negative_numbers = true, value_parser = whole::<u32>)]
        chunk_size: u32,
        /// Bytes of file data per batch: at least one chunk, at most
        /// 1073741824 (1 GiB).
        #[arg(long, default_value_t = 64 << 20, value_name = "N", allow_negative_numbers = true, value_parser = whole::<usize>)]
        batch_bytes: usize,
        /// Loop iterations a payload lane may run per chunk (1 to 268435456); a
        /// chunk past it fails its file, the other files are still scanned.
        #[arg(long, default_value_t = DEFAULT_ITERATION_BUDGET, value_name = "N", allow_negative_numbers = true, value_parser = whole::<u32>)]
        iteration_budget: u32,
        /// Follow symbolic links while walking directories; paths given
        /// explicitly are always followed.
        #[arg(short = 'L', long)]
        follow: bool,
        /// Read with pread instead of io_uring (on the reader threads).
        #[arg(long)]
        no_uring: bool,
        /// Read on N threads with an io_uring ring each, 0 to 64 (default:
        /// the host's cores, at most 8); 0 reads with one ring on the scan's
        /// own thread; more than 64 is refused. Page-cache reads are memory
        /// copies done by the thread that submits them, so several rings on
        /// several threads ingest faster than one.
        #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole::<u32>)]
        read_threads: Option<u32>,
        /// Threads of the native backend, 1 to 1024, or 0 (the default) for
        /// one per core; refused when no native backend runs.
        #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole::<usize>)]
        threads: Option<usize>,
        /// Batches in flight per GPU, 1 to 16 (default 2): one is copied to
        /// the GPU while another runs; each takes a batch of memory.
        #[arg(long, default_value_t = 2, value_name = "N", allow_negative_numbers = true, value_parser = whole::<u32>)]
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

/// Writes `text` to stdout; a closed pipe (`| head`) ends the process
/// quietly with status 0, as ripgrep does.
fn print_out(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) => write_failed(e),
    }
}

fn report(result: Result<()>) -> u8 {
    match result {
        Ok(()) => 0,
        Err(e) => fail(e),
    }
}

/// Reports an error that stops the command: exit status 2.
fn fail(e: impl std::fmt::Display) -> u8 {
    warn(format_args!("vyre: {e}"));
    2
}

/// The byte patterns of `-e`, escapes parsed ([`parse_pattern`]).
fn patterns_of(args: &[OsString]) -> Result<Vec<Vec<u8>>> {
    args.iter()
        .map(|a| {
            #[cfg(unix)]
            let bytes = std::os::unix::ffi::OsStrExt::as_bytes(a.as_os_str()).to_vec();
            #[cfg(not(unix))]
            let bytes = a
                .to_str()
                .ok_or_else(|| {
                    vyre::Error::bad_input(
                        format!("pattern {a:?} is not valid Unicode"),
                        "write its bytes as \\xHH escapes",
                    )
                })?
                .as_bytes()
                .to_vec();
            parse_pattern(&bytes)
        })
        .collect()
}

/// The patterns of the `-f` files, in order ([`vyre::scan::parse_pattern_file`]).
fn pattern_files_of(files: &[PathBuf]) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for f in files {
        let name = vyre::scan::escape_bytes(f.to_string_lossy().as_bytes());
        let text = std::fs::read(f).map_err(|e| {
            vyre::Error::bad_input(
                format!("cannot read pattern file {name}: {e}"),
                "give a readable file with one pattern per line",
            )
        })?;
        out.extend(vyre::scan::parse_pattern_file(&text, &name)?);
    }
    Ok(out)
}

/// The devices of `--adapters`, or the one of `--backend`/`--adapter`.
fn make_devices(
    kind: Option<BackendArg>,
    adapter: Option<&str>,
    adapters: Option<&str>,
    in_flight: u32,
) -> Result<Vec<Engine>> {
    if let Some(list) = adapters {
        return open_engines(list, in_flight);
    }
    let kind = kind.unwrap_or_else(|| {
        // Software Vulkan is slower than the payloads' native code.
        if adapter.is_none() && vyre::scan::auto_is_native() {
            BackendArg::Native
        } else {
            BackendArg::Gpu
        }
    });
    Ok(match kind {
        BackendArg::Cpu => vec![Engine::Device(Box::new(vyre::scan::scan_cpu_backend()))],
        BackendArg::GpuNative => match adapter {
            Some(a) if a.eq_ignore_ascii_case("cpu") => {
                return Err(vyre::Error::bad_input(
                    "`--backend gpu+native --adapter cpu` is ambiguous",
                    "name the software adapter (e.g. `--adapter llvmpipe`), or use `--adapters cpu,native` for the CPU reference next to native code",
                ))
            }
            a => open_engines(&format!("{},native", a.unwrap_or("gpu")), in_flight)?,
        },
        BackendArg::Native => vec![Engine::Native {
            threads: vyre::scan::default_native_threads(),
        }],
        BackendArg::Gpu => {
            let choice = match adapter {
                None => vyre::gpu::AdapterChoice::Default,
                Some(a) if a.eq_ignore_ascii_case("cpu") => vyre::gpu::AdapterChoice::Cpu,
                Some(a) => vyre::gpu::AdapterChoice::Named(a.to_string()),
            };
            shared_gpu(vyre::gpu::WgpuBackend::with_adapter(choice)?, in_flight)
                .into_iter()
                .map(Engine::Device)
                .collect()
        }
    })
}

fn main() {
    let code = run();
    end(code)
}

/// The command line's command; the exit status.
fn run() -> u8 {
    let started = std::time::Instant::now();
    // Before any thread starts: it may set XDG_RUNTIME_DIR for Mesa.
    vyre::gpu::give_mesa_a_runtime_dir();
    let cli = usage::parse::<Cli>();
    init_logging(cli.verbose);
    match cli.command {
        Command::Scan {
            paths,
            lines,
            histogram,
            patterns,
            pattern_files,
            ignore_case,
            regexes,
            regex_files,
            matches,
            max_matches_per_file,
            crc32,
            payload_files,
            args,
            fused,
            json,
            backend,
            adapter,
            adapters,
            chunk_size,
            batch_bytes,
            iteration_budget,
            follow,
            no_uring,
            read_threads,
            threads,
            in_flight,
            no_zero_copy,
            zero_copy: _,
            quiet,
        } => {
            let patterns = match patterns_of(&patterns).and_then(|mut p| {
                p.extend(pattern_files_of(&pattern_files)?);
                Ok(p)
            }) {
                Ok(p) => p,
                Err(e) => return fail(e),
            };
            let regexes = match vyre::scan::regex::with_regex_files(regexes, &regex_files) {
                Ok(r) => r,
                Err(e) => return fail(e),
            };
            let payloads = match vyre::scan::load_payload_files(&payload_files)
                .and_then(|p| vyre::scan::bind_args(p, &args))
            {
                Ok(p) => p,
                Err(e) => return fail(e),
            };
            let none = !lines
                && !histogram
                && !crc32
                && patterns.is_empty()
                && regexes.is_empty()
                && payloads.is_empty();
            let cfg = ScanConfig {
                payloads,
                fused_payloads: fused,
                lines: lines || none,
                histogram,
                crc32: crc32 || none,
                patterns,
                ignore_case,
                regexes,
                match_locations: matches.then_some(max_matches_per_file),
                chunk_size,
                batch_bytes,
                iteration_budget,
                follow_links: follow,
                force_fallback: no_uring,
                zero_copy: !no_zero_copy,
                read_threads: read_threads.unwrap_or_else(vyre::scan::default_read_threads),
                native_threads: threads.unwrap_or(0),
                ..ScanConfig::default()
            };
            // Every limit is checked before a device is opened, the same way
            // on every backend (scan_devices checks the limits again); the
            // JSON and text forms key results by pattern and payload name,
            // so repeats are refused too.
            if let Err(e) = cfg
                .validate()
                .and_then(|()| cfg.validate_distinct())
                .and_then(|()| match cfg.regexes.is_empty() {
                    true => Ok(()),
                    // Compiled again by the scan: refused before devices open.
                    false => vyre::scan::regex::Regexes::new(&cfg.regexes).map(drop),
                })
                .and_then(|()| validate_in_flight(in_flight))
            {
                return fail(e);
            }
            let devices =
                match make_devices(backend, adapter.as_deref(), adapters.as_deref(), in_flight) {
                    Ok(b) => {
                        tracing::debug!(
                            target: "vyre::timing",
                            "process start to devices open {:.3} s",
                            started.elapsed().as_secs_f64()
                        );
                        b
                    }
                    Err(e) => return fail(e),
                };
            if !json {
                let names: Vec<String> = devices
                    .iter()
                    .map(|d| match d {
                        Engine::Device(d) => d.name(),
                        Engine::Native { threads } => {
                            vyre::scan::native_name(match cfg.native_threads {
                                0 => *threads,
                                n => n,
                            })
                        }
                        Engine::Later { .. } => "a GPU (opening while the scan runs)".to_string(),
                    })
                    .collect();
                let auto = backend.is_none() && adapter.is_none() && adapters.is_none();
                let why = match (auto, devices.as_slice()) {
                    (true, [Engine::Native { .. }]) => {
                        " (no hardware GPU; --backend gpu runs on software Vulkan)"
                    }
                    _ => "",
                };
                warn(format_args!("vyre: scanning on {}{why}", names.join(", ")));
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
            let result = scan_engines(
                devices,
                &paths,
                &cfg,
                |r| {
                    let line = if json {
                        r.to_json().to_string()
                    } else {
                        r.to_text()
                    };
                    let printed = bar.suspend(|| {
                        // --matches: the file's matches, then the file.
                        if json {
                            for m in r.located_json() {
                                writeln!(out, "{m}")?;
                            }
                        } else {
                            for m in r.located_text() {
                                writeln!(out, "{m}")?;
                            }
                        }
                        writeln!(out, "{line}")
                    });
                    if let Err(e) = printed {
                        write_failed(e);
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
                    if let Err(e) = writeln!(out, "{line}").and_then(|()| out.flush()) {
                        write_failed(e);
                    }
                    if summary.failed > 0 {
                        1
                    } else {
                        0
                    }
                }
                Err(e) => fail(e),
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
