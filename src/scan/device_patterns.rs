//! The pattern engines of a GPU worker: the literal patterns counted by
//! the device DFA program ([`super::gpu_literals`]) and the regexes'
//! lines filtered by it ([`super::regex_filter`]), each with the host
//! engine as its fallback, so a batch is always counted exactly: by the
//! device, or else on the host.

use std::sync::Arc;

use vyre_core::{Backend, Error, Result};

use super::gpu_literals::{DeviceLiterals, Recording, SEGMENT_BYTES};
use super::job::{Arena, Job, Plan};
use super::literal_dfa::LiteralDfa;
use super::literals::ChunkCounts;
use super::regex::RegexChunk;
use super::regex_filter::{self, ChunkCandidates, RegexFilter};
use super::reread::reread;

/// Which engine counted a batch's literal patterns, or searched its
/// regexes' lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) enum PatternEngine {
    /// No such patterns (or the literals ran as payloads).
    #[default]
    None,
    /// The host engine alone (literals: Aho-Corasick; regexes: every line).
    Host,
    /// The device DFA program (literals: counted there; regexes: the host
    /// searched only the lines it let through).
    Device,
    /// The host engine, after the device failed for this batch.
    Fallback(String),
}

/// What the pattern engines found in one batch.
pub(super) struct PatternResults {
    /// Per chunk, the literal counts (empty without the literal engine).
    pub host: Vec<ChunkCounts>,
    /// Per chunk, the regex engine's result (empty without it).
    pub regex: Vec<RegexChunk>,
    /// Which engine counted the literals.
    pub literal_engine: PatternEngine,
    /// Which engine chose the regexes' lines.
    pub regex_engine: PatternEngine,
}

/// The device pattern engines of one worker.
pub(super) struct DevicePatterns {
    literals: Option<DeviceLiterals>,
    regex: Option<(Arc<RegexFilter>, DeviceLiterals)>,
}

/// The engine running `dfa` on `backend` under program `name`, or why not.
fn engine<B: Backend>(
    backend: &B,
    dfa: std::result::Result<Arc<LiteralDfa>, String>,
    name: String,
) -> std::result::Result<DeviceLiterals, String> {
    let d = dfa.and_then(|dfa| {
        DeviceLiterals::new(dfa, &name, SEGMENT_BYTES).map_err(|e| e.message().into_owned())
    })?;
    match d.fits_loop_limit(backend.loop_iteration_limit()) {
        true => Ok(d),
        false => Err("patterns too long for the device's loop limit".into()),
    }
}

impl DevicePatterns {
    /// The engines of the worker of `device` (none on the CPU reference,
    /// without patterns, or where the DFA is refused: then the host engines
    /// run).
    pub fn new<B: Backend>(device: usize, backend: &B, plan: &Plan<'_>) -> DevicePatterns {
        let mut out = DevicePatterns {
            literals: None,
            regex: None,
        };
        if backend.device_id().is_none() {
            return out;
        }
        if let Some(literals) = plan.literals {
            let name = format!("vyre_literals_{device}");
            match engine(backend, literals.device_dfa(), name) {
                Ok(d) => out.literals = Some(d),
                Err(why) => tracing::warn!("{why}: the host engine counts the literal patterns"),
            }
        }
        if let Some(regexes) = plan.regexes.filter(|r| !r.is_empty()) {
            let name = format!("vyre_regex_filter_{device}");
            let built = regexes.device_filter().and_then(|f| {
                let d = engine(backend, Ok(f.dfa().clone()), name)?;
                Ok((f, d))
            });
            match built {
                Ok((f, mut d)) => {
                    d.rows_per_chunk = true;
                    d.keep_positions = true;
                    out.regex = Some((f, d));
                }
                Err(why) => tracing::info!("{why}: the regexes search every line on the host"),
            }
        }
        out
    }

    /// The literal counts and the regex engine's results for every chunk
    /// of `job` (none without them), each from its device engine where the
    /// worker has one and it succeeds for this batch, else from the host.
    pub fn run<B: Backend>(
        &mut self,
        plan: &Plan<'_>,
        job: &mut Job,
        backend: &B,
    ) -> Result<PatternResults> {
        let mut literal_engine = match plan.literals {
            Some(_) => PatternEngine::Host,
            None => PatternEngine::None,
        };
        let mut counts = None;
        if let (Some(dev), Arena::Host(words)) = (self.literals.as_mut(), &mut job.arena) {
            match dev.run_batch(backend, words, &job.batch.chunks) {
                Ok(run) => {
                    counts = Some(run.counts);
                    literal_engine = PatternEngine::Device;
                }
                Err(e) => {
                    let why = e.message().into_owned();
                    tracing::warn!(
                        "device literal engine: {why}; the host engine counts this batch"
                    );
                    literal_engine = PatternEngine::Fallback(why);
                    // An engine that never ran (tables over the device's
                    // binding limit, no pipeline) is not tried again.
                    if !dev.has_run() {
                        self.literals = None;
                    }
                }
            }
        }
        let mut regex_engine = match plan.regexes {
            Some(_) => PatternEngine::Host,
            None => PatternEngine::None,
        };
        let mut candidates = None;
        if let (Some((filter, dev)), Arena::Host(words)) = (self.regex.as_mut(), &mut job.arena) {
            match dev.run_batch(backend, words, &job.batch.chunks) {
                Ok(run) => {
                    let table = run.recording == Recording::Table;
                    candidates = Some(regex_filter::candidates(
                        filter,
                        &run.positions,
                        &run.counts,
                        table,
                    ));
                    regex_engine = PatternEngine::Device;
                }
                Err(e) => {
                    let why = e.message().into_owned();
                    tracing::warn!(
                        "device regex filter: {why}; the host searches every line of this batch"
                    );
                    regex_engine = PatternEngine::Fallback(why);
                    if !dev.has_run() {
                        self.regex = None;
                    }
                }
            }
        }
        let filter = match (&self.regex, &candidates) {
            (Some((f, _)), Some(c)) => Some((&**f, &c[..])),
            _ => None,
        };
        let (host, regex) = host_counts(plan, job, counts.is_none(), filter)?;
        Ok(PatternResults {
            host: counts.unwrap_or(host),
            regex,
            literal_engine,
            regex_engine,
        })
    }
}

/// The host literal engine's counts (when `literals`) and the regex
/// engine's results (with the device's line `filter`, if any) for every
/// chunk of `job` (none without them), over the batch's bytes in host
/// memory (a batch in an upload arena is read again into host memory
/// first).
fn host_counts(
    plan: &Plan<'_>,
    job: &mut Job,
    literals: bool,
    filter: Option<(&RegexFilter, &[ChunkCandidates])>,
) -> Result<(Vec<ChunkCounts>, Vec<RegexChunk>)> {
    let count_literals = literals && plan.literals.is_some();
    if !count_literals && plan.regexes.is_none() {
        return Ok((Vec::new(), Vec::new()));
    }
    if let Arena::Upload(up) = &job.arena {
        let words = up.len() / 4;
        job.arena = Arena::Host(reread(
            plan.files,
            &mut job.batch,
            words,
            "into host memory for the pattern engine",
        )?);
    }
    let Arena::Host(words) = &job.arena else {
        return Err(Error::internal(
            "a scan batch came back from its device without its arena",
        ));
    };
    let bytes: &[u8] = bytemuck::cast_slice(&words[..]);
    let chunks = &job.batch.chunks;
    let (counts, regex) = rayon::join(
        || {
            plan.literals
                .filter(|_| count_literals)
                .map(|l| l.count_batch(bytes, chunks))
        },
        || {
            plan.regexes
                .map(|r| r.chunk_batch(bytes, chunks, plan.literals, filter))
        },
    );
    Ok((counts.unwrap_or_default(), regex.unwrap_or_default()))
}
