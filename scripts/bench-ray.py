#!/usr/bin/env python3
"""Measures what BENCHMARKS.md's "Ray: N hosts on paper" uses: one-host vyre.scan
throughput and the per-shard overhead of vyre.ray on a local 2-node cluster
(127.0.0.1 only). Run: .venv/bin/python scripts/bench-ray.py [DIR]
(default DIR: the Rust std docs)."""

import os
import statistics
import subprocess
import sys
import time

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
import ray  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402

import vyre  # noqa: E402
import vyre.ray  # noqa: E402

D = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    subprocess.check_output(["rustc", "--print", "sysroot"], text=True).strip(),
    "share/doc/rust/html/std")
OPTS = dict(lines=True, crc32=True, histogram=True, patterns=["GPL", "License", "the"],
            backend="native")


def timed(f):
    t = time.perf_counter()
    r = f()
    return time.perf_counter() - t, r


def main():
    runs = []
    for _ in range(3):
        dt, files = timed(lambda: list(vyre.scan([D], **OPTS)))
        runs.append(dt)
    nbytes = sum(f.get("bytes", 0) for f in files)
    print(f"one host, vyre.scan in-process, six analyses: {len(files)} files, {nbytes} bytes, "
          f"runs {' / '.join(f'{r:.3f}' for r in runs)} s")
    dt, _ = timed(lambda: vyre._vyre.list_files([os.fsencode(D)]))
    print(f"driver walk (list_files): {dt:.3f} s for {len(files)} files")

    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1,
                                                      "node_ip_address": "127.0.0.1"})
    c.add_node(num_cpus=1, node_ip_address="127.0.0.1")
    ray.init(address=c.address, _node_ip_address="127.0.0.1", log_to_driver=False)
    c.wait_for_nodes()
    task = ray.remote(vyre.ray._scan_shard).options(num_cpus=1)
    kw = vyre.scan_options(**OPTS)
    small = [os.fsencode(os.path.join(D, "index.html"))]
    ray.get(task.remote(small, kw))  # workers started
    rt, inside = [], []
    for _ in range(20):
        dt, r = timed(lambda: ray.get(task.remote(small, kw)))
        rt.append(dt)
        inside.append(r["seconds"])
    over = [a - b for a, b in zip(rt, inside)]
    print(f"one-file shard, sequential: round trip median {statistics.median(rt) * 1e3:.1f} ms, "
          f"scan inside the task median {statistics.median(inside) * 1e3:.1f} ms, "
          f"Ray overhead (task start + result) median {statistics.median(over) * 1e3:.1f} ms "
          f"(min {min(over) * 1e3:.1f}, max {max(over) * 1e3:.1f})")
    allf = [os.fsencode(f["path"]) for f in files if "error" not in f]
    for _ in range(2):
        dt, r = timed(lambda: ray.get(task.remote(allf, kw)))
        size = sum(len(x) + 1 for x in r["lines"])
        print(f"whole corpus as one shard: round trip {dt:.3f} s, scan inside {r['seconds']:.3f} s, "
              f"result {size} bytes of JSON lines -> overhead {dt - r['seconds']:.3f} s")
    for shards in (2, 8, 32):
        dt, r = timed(lambda: vyre.ray.scan([D], shards=shards, **OPTS))
        print(f"vyre.ray.scan, 2 nodes x 1 CPU, {shards} shards: {dt:.3f} s "
              f"({r.summary['files']} files, {r.summary['nodes']} nodes)")
    ray.shutdown()
    c.shutdown()


if __name__ == "__main__":
    main()
