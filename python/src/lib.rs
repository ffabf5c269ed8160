//! `vyre._vyre`: the native half of the `vyre` Python package. It builds
//! scans with the library API (`vyre::scan::Scan`), loads run-time payloads
//! and `--arg` bindings with the functions `vyre scan` uses, and hands each
//! file back as the `vyre scan --json` object (`FileReport::to_json`), so
//! the fields are defined once. The GIL is released while the scan runs and
//! while Python waits for the next file.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Mutex;

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use serde_json::Value;
use vyre::scan::{FileReport, Scan, ScanConfig, ScanFiles};

pyo3::create_exception!(
    _vyre,
    VyreError,
    PyException,
    "A scan that cannot run: bad options, a payload that does not load, no device. The message says what is wrong and, after `Fix:`, what to do."
);

fn err(e: vyre::Error) -> PyErr {
    VyreError::new_err(e.to_string())
}

fn path_of(bytes: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(bytes))
}

/// A JSON value as Python objects (dicts, lists, ints, floats, str, None).
fn to_py(py: Python<'_>, v: &Value) -> PyResult<PyObject> {
    Ok(match v {
        Value::Null => py.None(),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any().unbind(),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => u.into_pyobject(py)?.into_any().unbind(),
            (None, Some(i)) => i.into_pyobject(py)?.into_any().unbind(),
            _ => n
                .as_f64()
                .unwrap_or(f64::NAN)
                .into_pyobject(py)?
                .into_any()
                .unbind(),
        },
        Value::String(s) => s.into_pyobject(py)?.into_any().unbind(),
        Value::Array(a) => {
            let items = a
                .iter()
                .map(|x| to_py(py, x))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any().unbind()
        }
        Value::Object(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(k, to_py(py, x)?)?;
            }
            d.into_any().unbind()
        }
    })
}

/// The configuration `vyre scan` would build from the same options: no
/// analysis asked for means lines and CRC-32; every limit checked.
#[allow(clippy::too_many_arguments)]
fn config(
    lines: bool,
    histogram: bool,
    crc32: bool,
    patterns: Vec<Vec<u8>>,
    ignore_case: bool,
    regexes: Vec<String>,
    max_matches: Option<usize>,
    payload_files: Vec<Vec<u8>>,
    payload_bytes: Vec<(String, Vec<u8>)>,
    args: Vec<String>,
    fused: bool,
    chunk_size: Option<u32>,
    batch_bytes: Option<usize>,
    iteration_budget: Option<u32>,
    follow_links: bool,
    read_threads: Option<u32>,
    no_uring: bool,
    zero_copy: bool,
) -> vyre::Result<ScanConfig> {
    let patterns = patterns
        .iter()
        .map(|p| vyre::scan::parse_pattern(p))
        .collect::<vyre::Result<Vec<_>>>()?;
    let files: Vec<PathBuf> = payload_files.iter().map(|f| path_of(f)).collect();
    let mut payloads = vyre::scan::load_payload_files(&files)?;
    for (shown, bytes) in &payload_bytes {
        payloads.push(vyre::vir0::load_payload_bytes(bytes, shown)?);
    }
    let payloads = vyre::scan::bind_args(payloads, &args)?;
    let none = !lines
        && !histogram
        && !crc32
        && patterns.is_empty()
        && regexes.is_empty()
        && payloads.is_empty();
    let d = ScanConfig::default();
    let cfg = ScanConfig {
        payloads,
        fused_payloads: fused,
        lines: lines || none,
        histogram,
        crc32: crc32 || none,
        patterns,
        ignore_case,
        regexes,
        match_locations: max_matches,
        chunk_size: chunk_size.unwrap_or(d.chunk_size),
        batch_bytes: batch_bytes.unwrap_or(d.batch_bytes),
        iteration_budget: iteration_budget.unwrap_or(d.iteration_budget),
        follow_links,
        force_fallback: no_uring,
        zero_copy,
        read_threads: read_threads.unwrap_or_else(vyre::scan::default_read_threads),
        ..d
    };
    cfg.validate()?;
    cfg.validate_distinct()?;
    if !cfg.regexes.is_empty() {
        // Compiled again by the scan: refused here, before a device opens
        // (and on a Ray driver before any task starts).
        vyre::scan::regex::Regexes::new(&cfg.regexes)?;
    }
    Ok(cfg)
}

/// Starts a scan (or, with `check_only`, only checks its options and
/// payloads and returns None). See `vyre.scan` for the options;
/// `max_matches` is `--matches --max-matches-per-file N` (None: no
/// match locations).
#[pyfunction]
#[pyo3(signature = (paths, *, lines=false, histogram=false, crc32=false, patterns=vec![],
    ignore_case=false, regexes=vec![], max_matches=None, payload_files=vec![], payload_bytes=vec![], args=vec![], fused=false, devices="auto".to_string(),
    chunk_size=None, batch_bytes=None, iteration_budget=None, follow_links=false,
    read_threads=None, threads=0, in_flight=2, no_uring=false, zero_copy=true, json=false,
    check_only=false))]
#[allow(clippy::too_many_arguments)]
fn scan(
    py: Python<'_>,
    paths: Vec<Vec<u8>>,
    lines: bool,
    histogram: bool,
    crc32: bool,
    patterns: Vec<Vec<u8>>,
    ignore_case: bool,
    regexes: Vec<String>,
    max_matches: Option<usize>,
    payload_files: Vec<Vec<u8>>,
    payload_bytes: Vec<(String, Vec<u8>)>,
    args: Vec<String>,
    fused: bool,
    devices: String,
    chunk_size: Option<u32>,
    batch_bytes: Option<usize>,
    iteration_budget: Option<u32>,
    follow_links: bool,
    read_threads: Option<u32>,
    threads: usize,
    in_flight: u32,
    no_uring: bool,
    zero_copy: bool,
    json: bool,
    check_only: bool,
) -> PyResult<Option<ScanIter>> {
    let cfg = config(
        lines,
        histogram,
        crc32,
        patterns,
        ignore_case,
        regexes,
        max_matches,
        payload_files,
        payload_bytes,
        args,
        fused,
        chunk_size,
        batch_bytes,
        iteration_budget,
        follow_links,
        read_threads,
        no_uring,
        zero_copy,
    )
    .map_err(err)?;
    vyre::scan::validate_in_flight(in_flight).map_err(err)?;
    if check_only {
        return Ok(None);
    }
    let paths: Vec<PathBuf> = paths.iter().map(|p| path_of(p)).collect();
    // Opening a device can take a while (Vulkan): without the GIL.
    let files = py
        .allow_threads(move || {
            Scan::new(paths)
                .config(move |c| {
                    *c = ScanConfig {
                        cancel: c.cancel.take(),
                        ..cfg
                    }
                })
                .devices(&devices)
                .threads(threads)
                .in_flight(in_flight)
                .run()
        })
        .map_err(err)?;
    Ok(Some(ScanIter {
        files: Mutex::new(Some(files)),
        summary: Mutex::new(None),
        json,
    }))
}

/// A running scan: iterating gives each file's `vyre scan --json` object
/// in walk order: a dict (with match locations, `located` holds the
/// file's `"type":"match"` objects), or with `json=True` the exact lines
/// `vyre scan --json` prints for the file (with match locations, its match
/// lines first), joined by `\n`.
#[pyclass(module = "vyre._vyre")]
struct ScanIter {
    files: Mutex<Option<ScanFiles>>,
    summary: Mutex<Option<Value>>,
    json: bool,
}

#[pymethods]
impl ScanIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<PyObject>> {
        let next = py.allow_threads(|| -> vyre::Result<Option<FileReport>> {
            let mut guard = self.files.lock().unwrap_or_else(|p| p.into_inner());
            let Some(files) = guard.as_mut() else {
                return Ok(None);
            };
            if let Some(f) = files.next() {
                return Ok(Some(f.report().clone()));
            }
            let Some(files) = guard.take() else {
                return Ok(None);
            };
            let summary = files.finish()?;
            *self.summary.lock().unwrap_or_else(|p| p.into_inner()) = Some(summary.to_json());
            Ok(None)
        });
        match next.map_err(err)? {
            None => Ok(None),
            Some(r) if self.json => {
                let mut lines: Vec<String> =
                    r.located_json().iter().map(Value::to_string).collect();
                lines.push(r.to_json().to_string());
                Ok(Some(
                    lines.join("\n").into_pyobject(py)?.into_any().unbind(),
                ))
            }
            Some(r) => {
                let mut file = r.to_json();
                if let (Value::Object(m), Some(_), None) = (&mut file, &r.located, &r.error) {
                    m.insert("located".into(), Value::Array(r.located_json()));
                }
                to_py(py, &file).map(Some)
            }
        }
    }

    /// The `{"summary": {...}}` object once every file was taken (None
    /// before); with `json=True`, its JSON line.
    fn summary(&self, py: Python<'_>) -> PyResult<Option<PyObject>> {
        let s = self
            .summary
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        match s {
            None => Ok(None),
            Some(v) if self.json => Ok(Some(v.to_string().into_pyobject(py)?.into_any().unbind())),
            Some(v) => to_py(py, &v).map(Some),
        }
    }

    /// Stops the scan; the iterator then ends.
    fn cancel(&self) {
        if let Some(f) = self
            .files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            f.cancel();
        }
    }
}

/// Files `(path bytes, size)` and the `--json` lines of failed paths.
type Listing = (Vec<(Py<PyBytes>, u64)>, Vec<String>);

/// The walk `vyre scan` does: `(files, failures)` where files are
/// `(path bytes, size)` in scan order and failures the `--json` lines of
/// the paths that cannot be scanned (reported first, as `vyre scan` does).
#[pyfunction]
#[pyo3(signature = (paths, *, follow_links=false))]
fn list_files(py: Python<'_>, paths: Vec<Vec<u8>>, follow_links: bool) -> PyResult<Listing> {
    let paths: Vec<PathBuf> = paths.iter().map(|p| path_of(p)).collect();
    let (files, failures) = py.allow_threads(|| {
        vyre::feeder::collect_files(
            &paths,
            &vyre::feeder::WalkOptions {
                follow_links,
                ..Default::default()
            },
        )
    });
    let files = files
        .iter()
        .map(|f| {
            (
                PyBytes::new(py, f.path.as_os_str().as_bytes()).unbind(),
                f.size,
            )
        })
        .collect();
    let failures = failures
        .into_iter()
        .map(|f| FileReport::failed(f.path, f.reason).to_json().to_string())
        .collect();
    Ok((files, failures))
}

/// The regexes of `regexes` then those of the regex files `files` (one
/// per line, as `vyre scan -r ... --regex-file FILE` reads them).
#[pyfunction]
fn regex_files(regexes: Vec<String>, files: Vec<Vec<u8>>) -> PyResult<Vec<String>> {
    let files: Vec<PathBuf> = files.iter().map(|f| path_of(f)).collect();
    vyre::scan::regex::with_regex_files(regexes, &files).map_err(err)
}

/// The `--json` line of a path that failed with `reason`.
#[pyfunction]
fn failed_json(path: Vec<u8>, reason: String) -> String {
    FileReport::failed(path_of(&path), reason)
        .to_json()
        .to_string()
}

/// Waits (at most `seconds`) until no thread is still opening a GPU for a
/// scan that ended first (`devices="gpu,native"`); true when none is left.
/// The package calls it at interpreter exit: exiting while a driver opens
/// can crash the process.
#[pyfunction]
#[pyo3(signature = (seconds=10.0))]
fn wait_for_gpu_openers(py: Python<'_>, seconds: f64) -> bool {
    let limit = std::time::Duration::from_secs_f64(seconds.clamp(0.0, 3600.0));
    py.allow_threads(|| vyre::scan::wait_for_gpu_openers(limit))
}

#[pymodule]
fn _vyre(m: &Bound<'_, PyModule>) -> PyResult<()> {
    vyre::gpu::give_mesa_a_runtime_dir();
    m.add("VyreError", m.py().get_type::<VyreError>())?;
    m.add_function(wrap_pyfunction!(scan, m)?)?;
    m.add_function(wrap_pyfunction!(list_files, m)?)?;
    m.add_function(wrap_pyfunction!(failed_json, m)?)?;
    m.add_function(wrap_pyfunction!(regex_files, m)?)?;
    m.add_function(wrap_pyfunction!(wait_for_gpu_openers, m)?)?;
    m.add(
        "DEFAULT_MAX_MATCHES",
        vyre::scan::matches::DEFAULT_MAX_MATCHES,
    )?;
    m.add(
        "MAX_MATCHES_PER_FILE",
        vyre::scan::matches::MAX_MATCHES_PER_FILE,
    )?;
    m.add_class::<ScanIter>()?;
    Ok(())
}
