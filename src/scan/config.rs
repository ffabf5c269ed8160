//! What a scan computes and how it reads ([`ScanConfig`]), its cancel
//! token and the scan-wide constants.

use vyre_core::feeder::FaultHook;
use vyre_core::Payload;

/// Lanes per workgroup of the scan megakernel.
pub const SCAN_LANES: u32 = 64;

/// Reader threads a scan uses by default: the host's cores, at most 8.
/// Measured on the H100 host (2 GiB from page cache, pread threads): one
/// io_uring ring 2.2–2.6 GB/s end to end, 4 threads 7.2 GB/s, 8 threads
/// 8.2 GB/s (BENCHMARKS.md).
pub fn default_read_threads() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(8) as u32)
}

/// Most workgroups per scan dispatch.
pub const SCAN_WORKGROUPS: u32 = 1024;

/// Chunk size used on devices with a loop-iteration limit (llvmpipe).
pub const LIMITED_CHUNK: u32 = 64 << 10;

/// What to compute and how to read.
#[derive(Clone, Debug)]
pub struct ScanConfig {
    /// Count `\n` bytes (same as `wc -l`).
    pub lines: bool,
    /// 256-bin byte histogram.
    pub histogram: bool,
    /// CRC-32/IEEE of each file (same as `crc32fast::hash`).
    pub crc32: bool,
    /// Literal byte patterns; overlapping occurrences are counted. Up to
    /// [`MAX_PATTERNS`](super::MAX_PATTERNS); more than [`super::literals::MAX_PAYLOAD_PATTERNS`] (or
    /// `ignore_case`) run on the host engine ([`super::literals::Literals`]).
    pub patterns: Vec<Vec<u8>>,
    /// Match `patterns` ASCII case-insensitively (`-i`): `a`-`z` equal
    /// `A`-`Z`, every other byte only itself.
    pub ignore_case: bool,
    /// Regular expressions (`-r`, Rust `regex` syntax), each counted per
    /// file like `rg -c -o`: leftmost-first, non-overlapping matches within
    /// lines, on the host on every backend ([`super::regex::Regexes`]). Up to
    /// [`super::regex::MAX_REGEXES`].
    pub regexes: Vec<String>,
    /// `--matches`: report where the matches of `regexes` and `patterns`
    /// are ([`FileReport::located`](super::FileReport::located)), at most this many per file (the rest
    /// counted in [`FileReport::located_omitted`](super::FileReport::located_omitted)); `None` reports counts
    /// only. 1 to [`super::matches::MAX_MATCHES_PER_FILE`].
    pub match_locations: Option<usize>,
    /// Bytes per chunk (a multiple of 4; default 256 KiB, lowered to 64 KiB
    /// on devices with a loop limit such as llvmpipe). A payload sees one
    /// chunk (plus its look-behind) per slot; its chunk results are folded
    /// in file order, a combine's starting from the combine's identity.
    pub chunk_size: u32,
    /// Bytes of file data per batch (one megakernel run).
    pub batch_bytes: usize,
    /// io_uring reads in flight.
    pub queue_depth: u32,
    /// Read with `pread` instead of io_uring (on the reader threads, or on
    /// the scan's thread when `read_threads` is 0).
    pub force_fallback: bool,
    /// Reader threads, each with its own io_uring ring (0: one ring on the
    /// scan's thread; default [`default_read_threads`]).
    pub read_threads: u32,
    /// Threads of the native backend's pool (`vyre scan --threads`): 0 (the
    /// default) is one per core ([`default_native_threads`](super::default_native_threads)), like `xz -T0`;
    /// at most [`MAX_NATIVE_THREADS`](super::MAX_NATIVE_THREADS). When not 0 it replaces the count of
    /// every [`Engine::Native`](super::Engine::Native) of the scan, and a scan with no native
    /// engine refuses it (it would do nothing).
    pub native_threads: usize,
    /// Payloads of the user (`#[vyre::payload]`, or loaded at run time with
    /// `--payload FILE`, text IR or VIR0): each
    /// runs on every chunk; its chunk results fold into its file result as
    /// it declares (reductions or combine: [`vyre_core::megakernel::fold`]).
    /// Scalar parameters must be bound first ([`bind_scalar`](super::bind_scalar)).
    pub payloads: Vec<Payload>,
    /// Fuse `payloads` into the kernel (a pipeline compile for each new
    /// payload set) instead of loading them into the interpreter (default).
    pub fused_payloads: bool,
    /// Read-fault injection, for tests of the failure paths (default none).
    pub inject: Option<FaultInjection>,
    /// Read files straight into GPU upload arenas (no CPU copy into staging)
    /// when every worker runs on one wgpu device (default true). When that
    /// device is lost, the batches whose bytes were on it are read again and
    /// the scan goes on with host memory arenas.
    pub zero_copy: bool,
    /// Follow symbolic links met while walking directories (`-L`); paths
    /// given explicitly are always followed. Default false, as in ripgrep.
    pub follow_links: bool,
    /// Loop iterations one lane of a payload may run per chunk; past it the
    /// chunk's file is reported failed (`FAULT_BUDGET`) and the scan goes on.
    pub iteration_budget: u32,
    /// Set it (from any thread) to stop the scan: no file is reported after
    /// the cancel (not even one of the batch being folded), and the scan
    /// ends with [`Error::Cancelled`](vyre_core::Error::Cancelled) within one 20 ms poll of its main
    /// thread once the batch in hand is folded.
    pub cancel: Option<CancelToken>,
    /// A scan whose files hold fewer bytes than this does not open its
    /// devices that would join later ([`Engine::Later`](super::Engine::Later),
    /// `--backend gpu+native`) when native code runs every analysis: the
    /// CPU finishes it before a GPU could open (Vulkan takes about 0.24 s),
    /// and opening one would only cost the scan. Default
    /// [`DEFAULT_LATER_MIN_BYTES`]; 0 always opens them.
    pub later_min_bytes: u64,
}

/// Default [`ScanConfig::later_min_bytes`] (64 MiB: native code on a few
/// cores reads it in well under the time Vulkan takes to open).
pub const DEFAULT_LATER_MIN_BYTES: u64 = 64 << 20;

/// Stops a scan from another thread ([`ScanConfig::cancel`],
/// [`Scan::cancel_token`](super::Scan::cancel_token)); clones share the flag.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl CancelToken {
    /// A token not cancelled yet.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Asks the scan to stop.
    pub fn cancel(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Default [`ScanConfig::iteration_budget`]: loop iterations one lane of a
/// payload may run on one chunk. Enough for a one-lane loop over every byte
/// of a 1 MiB chunk (a lane of `line_count` runs about `chunk_size / 256`);
/// a runaway payload then fails its file in milliseconds on a GPU; on the
/// CPU reference, interpreted, about 2 s per looping lane (64 lanes: about
/// two minutes per chunk).
pub const DEFAULT_ITERATION_BUDGET: u32 = 1 << 20;

/// A fault-injection hook for the scan's reads (see [`FaultHook`]: called with
/// the file's index in walk order and the read's file offset).
#[derive(Clone)]
pub struct FaultInjection(pub FaultHook);

impl std::fmt::Debug for FaultInjection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FaultInjection(<hook>)")
    }
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig {
            lines: true,
            histogram: false,
            crc32: true,
            patterns: Vec::new(),
            ignore_case: false,
            regexes: Vec::new(),
            match_locations: None,
            chunk_size: 256 << 10,
            batch_bytes: 64 << 20,
            queue_depth: 32,
            force_fallback: false,
            read_threads: default_read_threads(),
            native_threads: 0,
            payloads: Vec::new(),
            fused_payloads: false,
            inject: None,
            zero_copy: true,
            follow_links: false,
            iteration_budget: DEFAULT_ITERATION_BUDGET,
            cancel: None,
            later_min_bytes: DEFAULT_LATER_MIN_BYTES,
        }
    }
}
