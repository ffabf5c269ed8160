"""vyre from Python: scan files with the built-in analyses and run-time payloads.

One host::

    import vyre
    for f in vyre.scan(["/usr/share/doc"], lines=True, patterns=["GPL"], backend="native"):
        print(f["path"], f.get("lines"), f.get("error"))

Each file is the object ``vyre scan --json`` prints for it (``path``, ``bytes``,
``lines``, ``histogram``, ``matches``, ``regex_matches``, ``crc32``,
``matches_omitted``, ``payloads``; a failed file has ``path`` and ``error``
only), plus ``located`` (the file's match locations) with ``matches=True``.
``vyre.scan(...).to_arrow()`` gives a ``pyarrow`` table. Errors that stop a scan raise :class:`VyreError`, whose message ends with
``Fix: ...``. A cluster: :mod:`vyre.ray`.
"""

import atexit
import os

from . import _vyre
from ._vyre import VyreError

# A scan with devices="gpu,native" can end while its GPU is still opening on a
# thread of its own; the process must not exit under it (the driver's teardown
# would crash it), so the interpreter's exit waits for it first.
atexit.register(_vyre.wait_for_gpu_openers)

__all__ = ["scan", "Scan", "VyreError", "arrow_table", "scan_options"]

_BACKENDS = ("auto", "gpu", "cpu", "native")


def _fs(p):
    """A path as bytes (str, bytes or os.PathLike), as the OS names it."""
    return os.fsencode(p)


def scan_options(
    *,
    lines=False,
    histogram=False,
    crc32=False,
    patterns=(),
    ignore_case=False,
    regexes=(),
    regex_files=(),
    matches=False,
    max_matches_per_file=None,
    payloads=(),
    args=None,
    fused=False,
    backend=None,
    devices=None,
    chunk_size=None,
    batch_bytes=None,
    iteration_budget=None,
    follow_links=False,
    read_threads=None,
    threads=0,
    in_flight=2,
    no_uring=False,
    zero_copy=True,
):
    """The keyword arguments of the native scan for these options (see :func:`scan`).

    Payload files are read here, so the options can travel to other hosts.
    """
    if backend is not None and devices is not None:
        raise VyreError(
            "both backend= and devices= are given. Fix: give backend= for one "
            "backend, or devices= for several devices"
        )
    if backend is not None and backend not in _BACKENDS:
        raise VyreError(
            f"backend={backend!r} is not one of {', '.join(_BACKENDS)}. Fix: "
            "pass backend='gpu', 'cpu' or 'native' (or devices='gpu,cpu')"
        )
    if isinstance(patterns, (str, bytes)):
        patterns = [patterns]
    pats = [p.encode() if isinstance(p, str) else bytes(p) for p in patterns]
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
        raise VyreError(
            f"threads={threads!r} is not a whole number of native threads. Fix: pass "
            "0 (the default: one per core) or a count from 1 to 1024"
        )
    res = _regexes(regexes, regex_files)
    max_matches = _max_matches(matches, max_matches_per_file)
    if isinstance(payloads, (str, bytes, os.PathLike)):
        payloads = [payloads]
    files, blobs = [], []
    for i, p in enumerate(payloads):
        if isinstance(p, (bytes, bytearray, memoryview)):
            blobs.append((f"payload {i + 1} (bytes)", bytes(p)))
        else:
            files.append(_fs(p))
    if args is None:
        args = []
    elif isinstance(args, dict):
        args = [f"{k}={v}" for k, v in args.items()]
    else:
        args = [str(a) for a in args]
    return dict(
        lines=bool(lines),
        histogram=bool(histogram),
        crc32=bool(crc32),
        patterns=pats,
        ignore_case=bool(ignore_case),
        regexes=res,
        max_matches=max_matches,
        payload_files=files,
        payload_bytes=blobs,
        args=args,
        fused=bool(fused),
        devices=devices or backend or "auto",
        chunk_size=chunk_size,
        batch_bytes=batch_bytes,
        iteration_budget=iteration_budget,
        follow_links=bool(follow_links),
        read_threads=read_threads,
        threads=threads,
        in_flight=in_flight,
        no_uring=bool(no_uring),
        zero_copy=bool(zero_copy),
    )


def _regexes(regexes, regex_files):
    """The ``regexes`` (str, or a list of str), then those of the
    ``regex_files`` (one per line, read here), as ``-r`` and ``--regex-file``."""
    if isinstance(regexes, str):
        regexes = [regexes]
    elif isinstance(regexes, (bytes, bytearray, memoryview)):
        regexes = [regexes]
    out = []
    for r in regexes:
        if not isinstance(r, str):
            raise VyreError(
                f"regex {r!r} is a {type(r).__name__}, not a str. Fix: pass each "
                "regex as a str (Rust regex syntax; match other bytes with (?-u:\\xHH))"
            )
        out.append(r)
    if isinstance(regex_files, (str, bytes, os.PathLike)):
        regex_files = [regex_files]
    return _vyre.regex_files(out, [_fs(f) for f in regex_files])


def _max_matches(matches, max_matches_per_file):
    """``--matches --max-matches-per-file N`` as the native scan's
    ``max_matches``: None without ``matches``."""
    if max_matches_per_file is not None and not matches:
        raise VyreError(
            f"max_matches_per_file={max_matches_per_file!r} is given without "
            "matches=True. Fix: add matches=True to get the match locations "
            "(max_matches_per_file only bounds how many per file), or leave out "
            "max_matches_per_file"
        )
    if not matches:
        return None
    if max_matches_per_file is None:
        return _vyre.DEFAULT_MAX_MATCHES
    most = _vyre.MAX_MATCHES_PER_FILE
    m = max_matches_per_file
    if isinstance(m, bool) or not isinstance(m, int) or not 1 <= m <= most:
        raise VyreError(
            f"max_matches_per_file={m!r} is not a whole number from 1 to {most}. "
            f"Fix: pass an int from 1 to {most} (default "
            f"{_vyre.DEFAULT_MAX_MATCHES}); for no locations, leave out matches=True"
        )
    return m


class Scan:
    """A running scan: iterate for each file's dict (walk order, each once).

    ``summary`` is the ``vyre scan --json`` summary once every file was taken.
    """

    def __init__(self, native):
        self._native = native

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._native)

    @property
    def summary(self):
        s = self._native.summary()
        return None if s is None else s["summary"]

    def cancel(self):
        """Stops the scan; iteration then ends."""
        self._native.cancel()

    def to_arrow(self):
        """The files not taken yet as a ``pyarrow.Table`` (see :func:`arrow_table`)."""
        return arrow_table(list(self))


def scan(paths, **options):
    """Scans ``paths`` (files, or directories walked recursively) as ``vyre scan --json``.

    Options (``vyre scan`` flags): ``lines``, ``histogram``, ``crc32``,
    ``patterns`` (``-e``; str or bytes, the same escapes), ``ignore_case``
    (``-i``: the patterns match ASCII letters of either case), ``regexes`` (``-r``;
    a str or a list of str, Rust ``regex`` syntax: each counted per file in the
    dict's ``regex_matches`` like ``rg -c -o``: leftmost-first, non-overlapping,
    within lines), ``regex_files`` (``--regex-file``: paths of files with one
    regex per line, read here), ``matches`` (``--matches``: locate the matches
    of the regexes and patterns) and ``max_matches_per_file`` (with
    ``matches=True``: the most located per file, 1 to 1048576, default 1000),
    ``payloads`` (run-time
    payloads: paths of text IR ``.vyre`` / ``.vir0`` files, or their bytes),
    ``args`` (``--arg``: ``{"NAME.PARAM": value}`` or ``["NAME.PARAM=VALUE"]``),
    ``fused``, ``backend`` (``"gpu"``, ``"cpu"``, ``"native"``; default auto: the
    GPU, or native code when the only adapter is software) or ``devices``
    (``--adapters``: e.g. ``"gpu,cpu"``, ``"all"``), ``chunk_size``,
    ``batch_bytes``, ``iteration_budget``, ``follow_links``, ``read_threads``,
    ``threads`` (``--threads``: native threads, 0 for one per core; refused
    when no native backend runs), ``in_flight``, ``no_uring``, ``zero_copy``. No analysis means lines and CRC-32.

    With ``matches=True`` each file's dict has ``located``: its first
    ``max_matches_per_file`` matches (regexes and patterns) in (offset, kind,
    pattern) order, each the ``"type": "match"`` object ``vyre scan --json
    --matches`` prints (``offset``: byte offset in the file; ``line`` and
    ``column``: 1-based, the column in bytes; ``kind``: ``"regex"`` or
    ``"literal"``; ``pattern``: its index among the regexes or the patterns;
    ``pattern_text``; ``text``: the line, lossy UTF-8, without its ``\\n``; a
    line over 4096 bytes shows a window of them, with ``text_column`` and
    ``line_bytes``), and ``matches_omitted``: how many more the bound left out.

    Returns a :class:`Scan` iterator of dicts. Bad options, a payload that does not
    load or no device raise :class:`VyreError` here; a file that cannot be scanned is
    a dict with ``error``. The GIL is released while the scan runs.
    """
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]
    kw = scan_options(**options)
    return Scan(_vyre.scan([_fs(p) for p in paths], **kw))


def arrow_table(files):
    """Per-file dicts (as :func:`scan` gives them) as a ``pyarrow.Table``.

    Columns: ``path`` (str), ``path_bytes`` (base64 str, only for non-UTF-8
    names), ``error`` (str), ``bytes`` (uint64), ``lines`` (uint64), ``crc32``
    (uint32), ``histogram`` (list<uint64>), ``matches`` (struct: a uint64 per
    pattern), ``regex_matches`` (struct: a uint64 per regex), ``payloads``
    (struct: a list<uint64> per payload), and with match locations
    ``matches_omitted`` (uint64) and ``located`` (list of struct: the fields of
    a ``located`` entry but ``type``, ``path`` and ``path_bytes``, which the row
    has). A value the scan did not compute, and every result of a failed file,
    is null.
    """
    import pyarrow as pa

    files = list(files)
    pattern_keys, regex_keys, payload_keys = [], [], []
    located = False
    for f in files:
        for keys, field in ((pattern_keys, "matches"), (regex_keys, "regex_matches"),
                            (payload_keys, "payloads")):
            for k in f.get(field, {}):
                if k not in keys:
                    keys.append(k)
        located = located or "located" in f
    fields = [
        ("path", pa.string()),
        ("path_bytes", pa.string()),
        ("error", pa.string()),
        ("bytes", pa.uint64()),
        ("lines", pa.uint64()),
        ("crc32", pa.uint32()),
        ("histogram", pa.list_(pa.uint64())),
    ]
    if pattern_keys:
        fields.append(("matches", pa.struct([(k, pa.uint64()) for k in pattern_keys])))
    if regex_keys:
        fields.append(("regex_matches", pa.struct([(k, pa.uint64()) for k in regex_keys])))
    if payload_keys:
        fields.append(
            ("payloads", pa.struct([(k, pa.list_(pa.uint64())) for k in payload_keys]))
        )
    loc = [("offset", pa.uint64()), ("line", pa.uint64()), ("column", pa.uint64()),
           ("kind", pa.string()), ("pattern", pa.uint32()), ("pattern_text", pa.string()),
           ("text", pa.string()), ("text_column", pa.uint64()), ("line_bytes", pa.uint64())]
    if located:
        fields.append(("matches_omitted", pa.uint64()))
        fields.append(("located", pa.list_(pa.struct(loc))))
    schema = pa.schema(fields)
    rows = []
    for f in files:
        r = dict(f)
        if "error" in r:
            r["bytes"] = None
        if "located" in r:
            r["located"] = [{k: m.get(k) for k, _ in loc} for m in r["located"]]
        rows.append(r)
    return pa.Table.from_pylist(rows, schema=schema)
