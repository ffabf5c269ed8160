"""A distributed ``vyre scan`` on a Ray cluster.

    import ray, vyre.ray
    ray.init(address="auto")
    result = vyre.ray.scan(["/shared/data"], lines=True, patterns=["GPL"])
    for line in result.json_lines: print(line)          # == vyre scan --json

or ``python -m vyre.ray scan [--address ADDR] [--shards N] [scan options] PATHS``.

The driver walks the input once (the walk ``vyre scan`` does), reports the paths
that cannot be scanned first (as ``vyre scan`` does), cuts the file list into
contiguous shards balanced by bytes, and runs each shard as a Ray task (a GPU per
task when the cluster has GPUs). Each task scans its explicit file list with the
native module and returns the files' exact ``--json`` lines, in its list's order;
the driver concatenates the shards in order, so the output equals a one-host
``vyre scan --json`` of the same paths byte for byte (the summary aside). A task
whose node dies is rerun by Ray on another node (``max_retries``); each shard's
result is taken once, so no file is reported twice. Paths must be readable on
every node (a shared file system): a path missing on the node that scans it is a
failed file with its reason, not a failed scan.
"""

import argparse
import base64
import json
import os
import sys
import time

import ray

import vyre
from vyre import _vyre

__all__ = ["scan", "shard", "RayScanResult"]

# Cost of a file in the byte balance: opening and folding a file costs about
# what reading this many bytes does, so many tiny files are not one shard.
FILE_WEIGHT = 4096


def shard(files, n):
    """Cuts ``[(path, size)]`` into at most ``n`` contiguous shards of about equal
    weight (bytes + FILE_WEIGHT per file), keeping the order."""
    if not files:
        return []
    n = max(1, min(n, len(files)))
    total = sum(s + FILE_WEIGHT for _, s in files)
    shards, cur, acc, k = [], [], 0, 1
    for path, size in files:
        cur.append(path)
        acc += size + FILE_WEIGHT
        if acc >= total * k / n and len(shards) < n - 1:
            shards.append(cur)
            cur, k = [], k + 1
    if cur:
        shards.append(cur)
    return shards


def _scan_shard(paths, kw):
    """Runs in a Ray task: scans ``paths`` (an explicit file list) and returns
    their ``--json`` lines in the list's order, with what ran it: per path,
    its lines joined by ``\\n`` (with match locations, the file's match lines
    come before its object)."""
    t0 = time.perf_counter()
    it = _vyre.scan(paths, json=True, **kw)
    lines = list(it)
    summary = json.loads(it.summary())["summary"]
    # A path missing here is a walk failure, which vyre reports first: put
    # every line back at its path's place in the shard.
    order = {}
    for i, p in enumerate(paths):
        order.setdefault(p, []).append(i)
    placed = [None] * len(paths)
    extra = []
    for line in lines:
        obj = json.loads(line[line.rfind("\n") + 1:])  # the file's object
        # Non-UTF-8 names: `path` is lossy, `path_bytes` the exact bytes.
        p = base64.b64decode(obj["path_bytes"]) if "path_bytes" in obj else os.fsencode(obj["path"])
        slots = order.get(p)
        if slots:
            placed[slots.pop(0)] = line
        else:
            extra.append(line)
    if extra or any(x is None for x in placed):
        raise RuntimeError(
            f"vyre: a shard of {len(paths)} paths gave {len(lines)} results that do "
            "not match its paths one to one (a vyre bug). Fix: report it"
        )
    return {
        "lines": placed,
        "node": ray.get_runtime_context().get_node_id(),
        "bytes": summary["bytes"],
        "failed": summary["failed"],
        "devices": summary["devices"],
        "seconds": time.perf_counter() - t0,
    }


class RayScanResult:
    """A distributed scan's output: ``json_lines`` (the exact lines ``vyre scan
    --json`` prints for the files, in path order: each file's object, after its
    ``"type": "match"`` lines with ``matches=True``), ``summary`` (a dict) and,
    per shard, ``shards`` (node id, files, bytes, seconds)."""

    def __init__(self, json_lines, summary, shards):
        self.json_lines = json_lines
        self.summary = summary
        self.shards = shards

    def files(self):
        """Each file's dict (the same fields as :func:`vyre.scan`, ``located``
        included)."""
        located = []
        for line in self.json_lines:
            obj = json.loads(line)
            if obj.get("type") == "match":
                located.append(obj)
                continue
            if "matches_omitted" in obj:
                obj["located"] = located
            located = []
            yield obj

    def to_arrow(self):
        """The files as a ``pyarrow.Table`` (:func:`vyre.arrow_table`)."""
        return vyre.arrow_table(self.files())


def scan(
    paths,
    *,
    shards=None,
    gpus_per_shard=None,
    cpus_per_shard=1,
    max_retries=3,
    on_shard_done=None,
    **options,
):
    """Scans ``paths`` on the connected Ray cluster (``ray.init`` first).

    ``options`` are those of :func:`vyre.scan`. ``shards``: how many tasks
    (default 4 per CPU or GPU slot of the cluster). ``gpus_per_shard``: GPUs a
    task asks for (default 1 when the cluster has GPUs, else 0; then the
    default backend is native code on the node's cores). ``max_retries``: reruns
    of a task whose worker or node died. ``on_shard_done(index, info)`` is
    called on the driver as each shard's result arrives.
    Bad options or a payload that does not load raise :class:`vyre.VyreError`
    before any task starts.
    """
    t0 = time.perf_counter()
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]
    kw = vyre.scan_options(**options)
    # Checked once here (bad options, a payload that does not load); payload
    # files then travel as bytes, so every node runs the same payload.
    _vyre.scan([], check_only=True, **kw)
    for f in kw.pop("payload_files"):
        with open(f, "rb") as fh:
            kw["payload_bytes"].append((os.fsdecode(f), fh.read()))
    files, failures = _vyre.list_files([os.fsencode(p) for p in paths],
                                       follow_links=kw["follow_links"])
    res = ray.cluster_resources()
    if gpus_per_shard is None:
        gpus_per_shard = 1 if res.get("GPU", 0) > 0 else 0
    slots = (res.get("GPU", 0) / gpus_per_shard) if gpus_per_shard else (
        res.get("CPU", 1) / max(cpus_per_shard, 1e-3))
    n = shards or max(1, int(4 * max(slots, 1)))
    parts = shard(files, n)
    task = ray.remote(_scan_shard).options(
        num_cpus=cpus_per_shard, num_gpus=gpus_per_shard, max_retries=max_retries,
        retry_exceptions=False,
    )
    kw_ref = ray.put(kw)
    refs = [task.remote(p, kw_ref) for p in parts]
    index = {r: i for i, r in enumerate(refs)}
    results = [None] * len(refs)
    pending = list(refs)
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        for r in done:
            i = index[r]
            results[i] = ray.get(r)
            if on_shard_done is not None:
                on_shard_done(i, results[i])
    lines = list(failures)
    for r in results:
        for item in r["lines"]:
            lines.extend(item.split("\n"))
    failed = len(failures) + sum(r["failed"] for r in results)
    summary = {
        "files": len(failures) + sum(len(r["lines"]) for r in results),
        "failed": failed,
        "bytes": sum(r["bytes"] for r in results),
        "seconds": round(time.perf_counter() - t0, 6),
        "shards": len(parts),
        "nodes": len({r["node"] for r in results}),
    }
    shard_info = [
        {"node": r["node"], "files": len(p), "bytes": r["bytes"], "seconds": r["seconds"]}
        for p, r in zip(parts, results)
    ]
    return RayScanResult(lines, summary, shard_info)


def _whole(s):
    """An argparse type: a whole number (digits only), or an error with a Fix."""
    if not s.isdigit() or not s.isascii():
        raise argparse.ArgumentTypeError(
            f"{s!r} is not a whole number. Fix: pass digits only (no sign, unit "
            "or separator), within the limits `vyre scan --help` gives")
    return int(s)


def main(argv=None):
    """``python -m vyre.ray scan``: prints ``vyre scan --json`` lines, then the summary."""
    ap = argparse.ArgumentParser(prog="python -m vyre.ray")
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("scan", help="scan PATHS on a Ray cluster; output as vyre scan --json")
    s.add_argument("paths", nargs="+")
    s.add_argument("--address", default=None,
                   help="Ray cluster address (default: RAY_ADDRESS, else a local Ray)")
    s.add_argument("--shards", type=_whole, default=None)
    s.add_argument("--gpus-per-shard", type=float, default=None)
    s.add_argument("--lines", action="store_true")
    s.add_argument("--histogram", action="store_true")
    s.add_argument("--crc32", action="store_true")
    s.add_argument("-e", "--pattern", action="append", default=[],
                   type=os.fsencode)
    s.add_argument("-i", "--ignore-case", action="store_true")
    s.add_argument("-r", "--regex", action="append", default=[])
    s.add_argument("--regex-file", action="append", default=[])
    s.add_argument("--matches", action="store_true")
    s.add_argument("--max-matches-per-file", type=_whole, default=None)
    s.add_argument("--payload", action="append", default=[])
    s.add_argument("--arg", action="append", default=[])
    s.add_argument("--fused", action="store_true")
    s.add_argument("--backend", choices=["gpu", "cpu", "native"], default=None)
    s.add_argument("--adapters", default=None)
    s.add_argument("--chunk-size", type=_whole, default=None)
    s.add_argument("--batch-bytes", type=_whole, default=None)
    s.add_argument("--iteration-budget", type=_whole, default=None)
    s.add_argument("-L", "--follow", action="store_true")
    s.add_argument("--threads", type=_whole, default=0)
    a = ap.parse_args(argv)
    try:
        if not ray.is_initialized():
            ray.init(address=a.address, log_to_driver=False)
        r = scan(
            a.paths, shards=a.shards, gpus_per_shard=a.gpus_per_shard,
            lines=a.lines, histogram=a.histogram, crc32=a.crc32, patterns=a.pattern,
            ignore_case=a.ignore_case, threads=a.threads,
            regexes=a.regex, regex_files=a.regex_file, matches=a.matches,
            max_matches_per_file=a.max_matches_per_file,
            payloads=a.payload, args=a.arg, fused=a.fused, backend=a.backend,
            devices=a.adapters, chunk_size=a.chunk_size, batch_bytes=a.batch_bytes,
            iteration_budget=a.iteration_budget, follow_links=a.follow,
        )
    except (vyre.VyreError, OSError) as e:
        print(f"vyre: {e}", file=sys.stderr)
        return 2
    out = sys.stdout
    for line in r.json_lines:
        out.write(line + "\n")
    out.write(json.dumps({"summary": r.summary}, separators=(",", ":")) + "\n")
    out.flush()
    return 1 if r.summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
