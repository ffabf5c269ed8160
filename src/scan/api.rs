//! The library scan: [`Scan`] sets up paths, payloads and options, and
//! [`Scan::run`] streams per-file results ([`ScanFile`]) as an iterator
//! while the scan runs on its own thread, with progress and cancellation.
//!
//! ```no_run
//! use std::sync::atomic::{AtomicU32, Ordering};
//!
//! /// Counts the bytes equal to `b` (e.g. spaces) in every file.
//! #[vyre::payload]
//! fn count_byte(data: &[u8], #[vyre(start)] start: u32, b: u32,
//!               #[vyre(len = 1)] n: &[AtomicU32], lanes: vyre::Lanes) {
//!     let mut k = 0;
//!     for i in lanes.range(start..data.len() as u32) {
//!         if data[i as usize] as u32 == b { k += 1; }
//!     }
//!     n[0].fetch_add(k, Ordering::Relaxed);
//! }
//!
//! let mut scan = vyre::scan::Scan::new(["/usr/share/doc"])
//!     .payload_with_args(count_byte::payload(), &[("b", b' ' as u32)])?
//!     .on_cpu_reference(); // or leave out: the GPU, or native code without one
//! for file in scan.run()? {
//!     match file.error() {
//!         Some(why) => eprintln!("{}: {why}", file.path().display()),
//!         None => println!("{} {}", file.path().display(), file.get::<u64>("count_byte").unwrap()),
//!     }
//! }
//! # Ok::<(), vyre::Error>(())
//! ```

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender};
use std::thread::JoinHandle;

use vyre_core::{Error, Expr, Node, ParamKind, Payload, Result};

use super::{open_engines, scan_engines, CancelToken, Engine, FileReport, ScanConfig, ScanSummary};

/// Payload `p` with its scalar parameter `param` fixed to `value`: the
/// parameter is removed and the body starts with `let param = value`, so
/// the payload runs anywhere (fused, interpreted, from VIR0) without
/// arguments in its slots.
pub fn bind_scalar(p: &Payload, param: &str, value: u32) -> Result<Payload> {
    let Some(i) = p
        .params
        .iter()
        .position(|q| q.name == param && q.kind == ParamKind::Scalar)
    else {
        let bound_before = p.body.iter().any(
            |n| matches!(n, Node::Let { name, value: Expr::Lit(vyre_core::Literal::U32(_)) } if name == param),
        );
        if bound_before {
            return Err(Error::bad_input(
                format!("scalar `{param}` of payload `{}` is already bound", p.name),
                "give each scalar parameter one value",
            ));
        }
        let scalars: Vec<&str> = p
            .params_of(ParamKind::Scalar)
            .map(|q| q.name.as_str())
            .collect();
        return Err(Error::bad_input(
            format!(
                "payload `{}` has no scalar parameter `{param}` (its scalar parameters: {})",
                p.name,
                if scalars.is_empty() {
                    "none".to_string()
                } else {
                    scalars.join(", ")
                }
            ),
            "name one of its `u32` parameters",
        ));
    };
    let mut q = p.clone();
    // The native code takes the scalars that are left, in order.
    let k = p.params[..i]
        .iter()
        .filter(|q| q.kind == ParamKind::Scalar)
        .count();
    q.native = p.native.bind_scalar(k, value);
    q.params.remove(i);
    q.body.insert(0, Node::let_bind(param, Expr::u32(value)));
    Ok(q)
}

/// A payload's file result read as a Rust value: implement it for your
/// summary type to get it from [`ScanFile::get`]. Words are the file
/// result's words in order (sums in 64 bits; other reductions and combine
/// summaries are `u32` words); `None` when they do not fit the type.
pub trait FromWords: Sized {
    /// The value of `words`, if they have the right shape.
    fn from_words(words: &[u64]) -> Option<Self>;
}

impl FromWords for u64 {
    fn from_words(words: &[u64]) -> Option<Self> {
        words.first().copied()
    }
}

impl FromWords for u32 {
    fn from_words(words: &[u64]) -> Option<Self> {
        words.first().and_then(|&w| u32::try_from(w).ok())
    }
}

impl FromWords for i32 {
    /// Word 0 read as an `i32` (the bits of a `u32` word).
    fn from_words(words: &[u64]) -> Option<Self> {
        words
            .first()
            .and_then(|&w| u32::try_from(w).ok())
            .map(|w| w as i32)
    }
}

impl FromWords for f32 {
    /// Word 0 read as an `f32` (`f32::from_bits`, as `x.to_bits()` stored it).
    fn from_words(words: &[u64]) -> Option<Self> {
        words
            .first()
            .and_then(|&w| u32::try_from(w).ok())
            .map(f32::from_bits)
    }
}

impl FromWords for bool {
    fn from_words(words: &[u64]) -> Option<Self> {
        words.first().map(|&w| w != 0)
    }
}

impl FromWords for Vec<u64> {
    fn from_words(words: &[u64]) -> Option<Self> {
        Some(words.to_vec())
    }
}

impl<const N: usize> FromWords for [u64; N] {
    fn from_words(words: &[u64]) -> Option<Self> {
        words.try_into().ok()
    }
}

impl<const N: usize> FromWords for [u32; N] {
    fn from_words(words: &[u64]) -> Option<Self> {
        let mut out = [0u32; N];
        if words.len() != N {
            return None;
        }
        for (o, &w) in out.iter_mut().zip(words) {
            *o = u32::try_from(w).ok()?;
        }
        Some(out)
    }
}

/// One file's results from [`Scan::run`]: every analysis's file result, or
/// why the file failed (then no result at all).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanFile {
    report: FileReport,
}

impl ScanFile {
    /// The path as found by the walk.
    pub fn path(&self) -> &Path {
        &self.report.path
    }

    /// Why the file failed, if it did (with a `Fix:`).
    pub fn error(&self) -> Option<&str> {
        self.report.error.as_deref()
    }

    /// The file's bytes (0 for a failed file).
    pub fn bytes(&self) -> u64 {
        self.report.bytes
    }

    /// The file result words of the payload named `payload` (its name, as in
    /// `Payload::name`); `None` for a failed file or an unknown name.
    pub fn words(&self, payload: &str) -> Option<&[u64]> {
        self.report
            .custom
            .iter()
            .find(|(n, _)| n == payload)
            .map(|(_, w)| w.as_slice())
    }

    /// The file result of `payload` as a `T` ([`FromWords`]).
    pub fn get<T: FromWords>(&self, payload: &str) -> Option<T> {
        T::from_words(self.words(payload)?)
    }

    /// The matches of regex `regex` (as given to [`Scan::regex`]) in this
    /// file; `None` for a failed file or a regex the scan did not have.
    pub fn regex_count(&self, regex: &str) -> Option<u64> {
        self.report
            .regex_matches
            .iter()
            .find(|(r, _)| r == regex)
            .map(|(_, n)| *n)
    }

    /// With [`Scan::matches`]: the file's first located matches (regex and
    /// literal, in (offset, kind, pattern) order) and how many more the
    /// bound left out.
    pub fn located(&self) -> Option<(&[super::matches::Located], u64)> {
        let found = self.report.located.as_deref()?;
        Some((found, self.report.located_omitted))
    }

    /// Everything as the `vyre scan` report (built-in analyses included).
    pub fn report(&self) -> &FileReport {
        &self.report
    }
}

type Progress = Box<dyn FnMut(u64, u64) + Send>;

/// A scan set up in code: paths, payloads (from `#[vyre::payload]` or
/// loaded with [`vyre::vir0`](crate::vir0)), options, devices. No analysis
/// is selected at first (unlike [`ScanConfig::default`]): add payloads, or
/// the built-ins through [`Scan::config`]. Payloads are fused into the
/// kernel (`ScanConfig::fused_payloads`); set it to `false` in
/// [`Scan::config`] to run them on the interpreter (no shader compile).
pub struct Scan {
    paths: Vec<PathBuf>,
    cfg: ScanConfig,
    devices: String,
    in_flight: u32,
    progress: Option<Progress>,
    cancel: CancelToken,
}

impl Scan {
    /// A scan of `paths` (files, or directories walked recursively).
    pub fn new<P: AsRef<Path>>(paths: impl IntoIterator<Item = P>) -> Scan {
        let cancel = CancelToken::new();
        Scan {
            paths: paths
                .into_iter()
                .map(|p| p.as_ref().to_path_buf())
                .collect(),
            cfg: ScanConfig {
                lines: false,
                crc32: false,
                // Payloads set up in code are usually compiled in: one
                // pipeline compile (cached on disk), then full speed.
                fused_payloads: true,
                cancel: Some(cancel.clone()),
                ..ScanConfig::default()
            },
            devices: "auto".into(),
            in_flight: 2,
            progress: None,
            cancel,
        }
    }

    /// Runs `p` on every chunk of every file; its file result is folded as
    /// the payload declares (sums, min/max/..., or its combine) and read
    /// with [`ScanFile::get`] under `p.name`.
    pub fn payload(mut self, p: Payload) -> Scan {
        self.cfg.payloads.push(p);
        self
    }

    /// [`Scan::payload`] with scalar parameters fixed ([`bind_scalar`]).
    pub fn payload_with_args(self, p: Payload, args: &[(&str, u32)]) -> Result<Scan> {
        let mut p = p;
        for (name, value) in args {
            p = bind_scalar(&p, name, *value)?;
        }
        Ok(self.payload(p))
    }

    /// Counts the overlapping occurrences of each literal byte pattern in
    /// every file (added to those given before; as `vyre scan -e`/`-f`):
    /// read them from [`ScanFile::report`]'s `matches`, keyed by
    /// [`escape_bytes`](super::escape_bytes) of the pattern. Up to
    /// [`MAX_PATTERNS`](super::MAX_PATTERNS) patterns of 1 to 256 bytes;
    /// large sets run on the host Aho-Corasick engine
    /// ([`super::literals`]), whose reports list only the patterns found
    /// when there are more than
    /// [`MAX_DENSE_REPORT`](super::literals::MAX_DENSE_REPORT).
    pub fn patterns<P: AsRef<[u8]>>(mut self, patterns: impl IntoIterator<Item = P>) -> Scan {
        self.cfg
            .patterns
            .extend(patterns.into_iter().map(|p| p.as_ref().to_vec()));
        self
    }

    /// Counts the matches of each regular expression (Rust `regex` syntax)
    /// in every file, like `rg -c -o` (added to those given before; as
    /// `vyre scan -r`): leftmost-first, non-overlapping, within lines
    /// ([`super::regex`] has the exact rules). Read them from
    /// [`ScanFile::report`]'s `regex_matches`, one `(regex, count)` per
    /// regex in order, or with [`ScanFile::regex_count`]. A regex that
    /// does not compile, or would need to match a `\n`, fails
    /// [`Scan::run`] with [`Error::BadInput`] (its message ends with a
    /// `Fix:`).
    ///
    /// ```no_run
    /// let scan = vyre::scan::Scan::new(["/usr/share/doc"])
    ///     .regex([r"AKIA[0-9A-Z]{16}", r"(?i)password\s*[:=]"])
    ///     .devices("native");
    /// for file in scan.run()? {
    ///     let keys = file.regex_count(r"AKIA[0-9A-Z]{16}").unwrap_or(0);
    ///     println!("{}: {keys} AWS key ids", file.path().display());
    /// }
    /// # Ok::<(), vyre::Error>(())
    /// ```
    pub fn regex<S: AsRef<str>>(mut self, regexes: impl IntoIterator<Item = S>) -> Scan {
        self.cfg
            .regexes
            .extend(regexes.into_iter().map(|r| r.as_ref().to_string()));
        self
    }

    /// Locates the matches of the regexes and literal patterns (as `vyre
    /// scan --matches --max-matches-per-file max`): each file's first `max`
    /// (1 to [`MAX_MATCHES_PER_FILE`](super::matches::MAX_MATCHES_PER_FILE))
    /// with offset, line, column and line text, read with
    /// [`ScanFile::located`]. Literal patterns holding a `\n` are refused.
    ///
    /// ```no_run
    /// let scan = vyre::scan::Scan::new(["src"]).regex([r"\bunsafe\b"]).matches(100);
    /// for file in scan.devices("native").run()? {
    ///     if let Some((found, more)) = file.located() {
    ///         for m in found {
    ///             println!("{}:{}:{}", file.path().display(), m.line, m.column);
    ///         }
    ///         if more > 0 {
    ///             println!("... and {more} more");
    ///         }
    ///     }
    /// }
    /// # Ok::<(), vyre::Error>(())
    /// ```
    pub fn matches(mut self, max: usize) -> Scan {
        self.cfg.match_locations = Some(max);
        self
    }

    /// Matches the literal patterns ASCII case-insensitively (`-i`): `a`-`z`
    /// equal `A`-`Z`, other bytes only themselves.
    pub fn ignore_case(mut self, yes: bool) -> Scan {
        self.cfg.ignore_case = yes;
        self
    }

    /// Changes options (chunk size, built-in analyses, read threads,
    /// iteration budget, ... see [`ScanConfig`]).
    pub fn config(mut self, f: impl FnOnce(&mut ScanConfig)) -> Scan {
        f(&mut self.cfg);
        self.cfg.cancel = Some(self.cancel.clone());
        self
    }

    /// The devices to scan on, as `vyre scan --adapters` takes them
    /// ([`open_engines`]): `auto` (the default: the default GPU, or the
    /// native backend when the only adapter is a software one, as `vyre
    /// scan` does), `gpu` (the default adapter, software or not), `all`,
    /// `cpu` (the CPU reference), `native` (the payloads' native code on
    /// every core; payloads without native code, loaded from VIR0 or text,
    /// run on the CPU reference there), adapter name substrings;
    /// comma-separated. What ran is named in the summary
    /// ([`ScanFiles::finish`], `ScanSummary::devices`), e.g.
    /// `native (2 threads)` when `auto` found only a software adapter.
    pub fn devices(mut self, spec: &str) -> Scan {
        self.devices = spec.to_string();
        self
    }

    /// Batches in flight per GPU (`vyre scan --in-flight`, default 2, at
    /// most [`MAX_IN_FLIGHT`](super::MAX_IN_FLIGHT)): one is copied to the
    /// device while another runs.
    pub fn in_flight(mut self, n: u32) -> Scan {
        self.in_flight = n;
        self
    }

    /// Threads of the native backend's pool (`vyre scan --threads`): 1 to
    /// [`MAX_NATIVE_THREADS`](super::MAX_NATIVE_THREADS), or 0 (the default)
    /// for one per core (half of them beside a GPU that joins later,
    /// `gpu,native`). [`Scan::run`] refuses a count above the maximum,
    /// and a count other than 0 when the devices include no native backend.
    pub fn threads(mut self, n: usize) -> Scan {
        self.cfg.native_threads = n;
        self
    }

    /// Runs on the CPU reference interpreter (`devices("cpu")`).
    pub fn on_cpu_reference(self) -> Scan {
        self.devices("cpu")
    }

    /// Calls `f(bytes_done, bytes_total)` after every batch, on the scan's
    /// thread.
    pub fn on_progress(mut self, f: impl FnMut(u64, u64) + Send + 'static) -> Scan {
        self.progress = Some(Box::new(f));
        self
    }

    /// A token that stops the scan from any thread ([`CancelToken::cancel`]);
    /// dropping the iterator stops it too.
    pub fn cancel_token(&self) -> CancelToken {
        self.cancel.clone()
    }

    /// Checks the setup, opens the devices and starts the scan on its own
    /// thread; the files come from the iterator in walk order, each once.
    /// Errors of the setup (a payload that cannot run, no device) come
    /// here; errors that stop the scan later come from
    /// [`ScanFiles::finish`].
    pub fn run(self) -> Result<ScanFiles> {
        self.cfg.validate()?;
        self.cfg.validate_distinct()?;
        // A regex that does not compile is a setup error, reported here.
        if !self.cfg.regexes.is_empty() {
            super::regex::Regexes::new(&self.cfg.regexes)?;
        }
        super::analyses::analyses(&self.cfg)?;
        super::validate_in_flight(self.in_flight)?;
        let devices = open_engines(&self.devices, self.in_flight)?;
        super::check_native_threads(&self.cfg, &devices)?;
        let (tx, rx) = std::sync::mpsc::sync_channel::<ScanFile>(256);
        let Scan {
            paths,
            cfg,
            progress,
            cancel,
            ..
        } = self;
        let stop = cancel.clone();
        let handle = std::thread::Builder::new()
            .name("vyre-scan".into())
            .spawn(move || run_scan(devices, &paths, &cfg, &tx, progress, &stop))
            .map_err(|e| Error::internal(format!("could not start the scan thread: {e}")))?;
        Ok(ScanFiles {
            rx,
            handle: Some(handle),
            cancel,
        })
    }
}

fn run_scan(
    devices: Vec<Engine>,
    paths: &[PathBuf],
    cfg: &ScanConfig,
    tx: &SyncSender<ScanFile>,
    mut progress: Option<Progress>,
    cancel: &CancelToken,
) -> Result<ScanSummary> {
    scan_engines(
        devices,
        paths,
        cfg,
        |r| {
            // A dropped iterator stops the scan.
            if tx.send(ScanFile { report: r.clone() }).is_err() {
                cancel.cancel();
            }
        },
        |done, total| {
            if let Some(f) = progress.as_mut() {
                f(done, total);
            }
        },
    )
}

/// The files of a running scan, in walk order ([`Scan::run`]). Dropping it
/// cancels the scan and waits for its thread.
pub struct ScanFiles {
    rx: Receiver<ScanFile>,
    handle: Option<JoinHandle<Result<ScanSummary>>>,
    cancel: CancelToken,
}

impl Iterator for ScanFiles {
    type Item = ScanFile;

    /// The next file; `None` at the end of the scan and from the moment
    /// it is cancelled (files already scanned are not delivered then).
    fn next(&mut self) -> Option<ScanFile> {
        if self.cancel.is_cancelled() {
            return None;
        }
        let file = self.rx.recv().ok()?;
        (!self.cancel.is_cancelled()).then_some(file)
    }
}

impl ScanFiles {
    /// Stops the scan (as [`CancelToken::cancel`]).
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Waits for the scan to end (files not taken yet are dropped) and gives
    /// its summary, or the error that stopped it ([`Error::Cancelled`]
    /// after a cancel).
    pub fn finish(mut self) -> Result<ScanSummary> {
        self.join()
    }

    fn join(&mut self) -> Result<ScanSummary> {
        // Unblock a scan thread waiting to hand over a file.
        while self.rx.try_recv().is_ok() {}
        let Some(h) = self.handle.take() else {
            return Err(Error::Cancelled);
        };
        loop {
            if h.is_finished() {
                break;
            }
            match self.rx.recv_timeout(std::time::Duration::from_millis(10)) {
                Ok(_) | Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        h.join()
            .unwrap_or_else(|_| Err(Error::internal("the scan thread panicked")))
    }
}

impl Drop for ScanFiles {
    fn drop(&mut self) {
        if self.handle.is_some() {
            self.cancel.cancel();
            let _ = self.join();
        }
    }
}
