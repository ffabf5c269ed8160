"""The vyre Python package and the Ray scan, against the `vyre` command.

Run by scripts/test-python (the README's test command): VYRE_BIN names the
`vyre` binary whose `scan --json` output is the reference.
"""

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # every Ray process on 127.0.0.1

import ray  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402

import vyre  # noqa: E402
import vyre.ray  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAYLOAD = os.path.join(ROOT, "examples", "payloads", "count_zero_bytes.vyre")
VYRE = os.environ.get("VYRE_BIN", os.path.join(ROOT, "target", "debug", "vyre"))
REAL = "/usr/share/common-licenses"


def one_host(paths, *flags):
    """`vyre scan --json` lines of `paths`, the summary left out."""
    out = subprocess.run([VYRE, "scan", "--json", "--quiet", *flags, "--", *paths],
                         capture_output=True)
    if out.returncode not in (0, 1):
        raise AssertionError(f"vyre scan failed: {out.stderr.decode()}")
    lines = out.stdout.decode().splitlines()
    assert lines[-1].startswith('{"summary"'), lines[-1]
    return lines[:-1]


def make_tree(root, files, big=0, seed=7):
    """A tree of `files` files (sizes 0 to ~70 KB, text and binary, a
    non-UTF-8 name, nested directories); `big` more files of ~1.5 MiB."""
    rng = random.Random(seed)
    words = [b"GPL", b"license", b"\x00\x00", b"vyre", b"\n", b"abc", b"GP"]
    for i in range(files + big):
        d = os.path.join(root, f"d{i % 5}", f"e{i % 3}")
        os.makedirs(d, exist_ok=True)
        size = 1_500_000 if i >= files else rng.choice([0, 1, 3, 100, 4096, 20_000, 70_000])
        parts, n = [], 0
        while n < size:
            w = rng.choice(words) if rng.random() < 0.7 else bytes([rng.randrange(256)])
            parts.append(w)
            n += len(w)
        name = f"f{i}.txt".encode() if i != 3 else b"caf\xe9-not-utf8.bin"
        with open(os.path.join(os.fsencode(d), name), "wb") as f:
            f.write(b"".join(parts)[:size])


class PythonApi(unittest.TestCase):
    """vyre.scan on the cpu and native backends equals vyre scan --json."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vyre-py-")
        make_tree(cls.tmp, 24)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def test_backends_equal_the_command(self):
        paths = [self.tmp, REAL, os.path.join(self.tmp, "missing")]
        flags = ["--lines", "--crc32", "--histogram", "-e", "GPL", "-e", "\\x00\\x00",
                 "--payload", PAYLOAD]
        want = [json.loads(x) for x in one_host(paths, *flags, "--backend", "native")]
        for backend in ("cpu", "native"):
            s = vyre.scan(paths, lines=True, crc32=True, histogram=True,
                          patterns=["GPL", "\\x00\\x00"], payloads=[PAYLOAD], backend=backend)
            got = list(s)
            self.assertEqual(got, want, backend)
            self.assertEqual(s.summary["files"], len(want))
            self.assertEqual(s.summary["failed"], 1)
        self.assertTrue(any("path_bytes" in f for f in want))  # the non-UTF-8 name
        self.assertIn("not found", want[0]["error"])

    def test_gpu_and_several_devices_equal_the_command(self):
        # The GPU backend (llvmpipe where there is no GPU) and two devices at once.
        paths = [self.tmp, REAL]
        want = [json.loads(x) for x in one_host(paths, "--lines", "--crc32", "-e", "GPL",
                                                "--backend", "native")]
        for opts in ({"backend": "gpu"}, {"devices": "gpu,native"}):
            s = vyre.scan(paths, lines=True, crc32=True, patterns=["GPL"], **opts)
            self.assertEqual(list(s), want, opts)
            names = [d["name"] for d in s.summary["devices"]]
            if "backend" in opts:
                self.assertTrue(any(n.startswith("wgpu") for n in names), names)
            else:
                # gpu,native: native code starts at once and the GPU joins when
                # its device is open (or is still opening when a small scan ends, or
                # is not opened at all for an input this small).
                self.assertTrue(any(n.startswith("native") for n in names), names)
                self.assertTrue(any(n.startswith(("wgpu", "GPU")) for n in names), names)

    def test_ignore_case_and_threads(self):
        # -i and --threads as the command gives them; -i finds more than the exact case.
        flags = ["-e", "gpl", "-e", "LICENSE", "--backend", "native"]
        exact = [json.loads(x) for x in one_host([self.tmp], *flags)]
        want = [json.loads(x) for x in one_host([self.tmp], *flags, "-i", "--threads", "1")]
        got = list(vyre.scan([self.tmp], patterns=["gpl", "LICENSE"], ignore_case=True,
                             threads=1, backend="native"))
        self.assertEqual(got, want)
        total = lambda rs: sum(sum((r.get("matches") or {}).values()) for r in rs)
        self.assertGreater(total(want), total(exact))
        for bad in (-1, "2", True, 1.5):
            with self.assertRaises(vyre.VyreError) as e:
                vyre.scan([self.tmp], threads=bad, backend="native")
            self.assertIn("Fix:", str(e.exception))
        for opts in ({"threads": 1025, "backend": "native"}, {"threads": 2, "backend": "cpu"}):
            with self.assertRaises(vyre.VyreError) as e:
                vyre.scan([self.tmp], **opts)
            self.assertIn("Fix:", str(e.exception), opts)

    def test_payload_bytes_and_args(self):
        with open(PAYLOAD, "rb") as f:
            text = f.read()
        got = list(vyre.scan([REAL], payloads=[text], backend="native"))
        want = [json.loads(x) for x in one_host([REAL], "--payload", PAYLOAD,
                                                "--backend", "native")]
        self.assertEqual(got, want)
        with self.assertRaises(vyre.VyreError) as e:
            vyre.scan([REAL], payloads=[PAYLOAD], args={"count_zero_bytes.nope": 1})
        self.assertIn("Fix:", str(e.exception))

    def test_arrow_table(self):
        t = vyre.scan([self.tmp, "/nonexistent"], lines=True, patterns=["GPL"],
                      backend="native").to_arrow()
        rows = t.to_pylist()
        want = [json.loads(x) for x in one_host([self.tmp, "/nonexistent"], "--lines",
                                                "-e", "GPL", "--backend", "native")]
        self.assertEqual(t.num_rows, len(want))
        for r, w in zip(rows, want):
            self.assertEqual(r["path"], w["path"])
            self.assertEqual(r["error"], w.get("error"))
            self.assertEqual(r["lines"], w.get("lines"))
            self.assertEqual(r["matches"]["GPL"] if r["matches"] else None,
                             w.get("matches", {}).get("GPL"))

    def test_gil_is_released_while_scanning(self):
        import threading
        out = {}
        t = threading.Thread(target=lambda: out.update(
            files=list(vyre.scan([self.tmp, REAL], histogram=True, backend="cpu"))))
        # The main thread's loop rate alone, then while the scan runs: a scan
        # holding the GIL while it waits would stop this thread most of the time
        # (measured 0.31-0.32 of the rate on the 2-core CI box while a build ran).
        t0, alone = time.perf_counter(), 0
        while time.perf_counter() - t0 < 0.2:
            alone += 1
        rate = alone / (time.perf_counter() - t0)
        ticks = 0
        t0 = time.perf_counter()
        t.start()
        while t.is_alive():
            ticks += 1
            time.perf_counter()
        t.join()
        share = ticks / (rate * (time.perf_counter() - t0))
        self.assertEqual(len(out["files"]), len(one_host([self.tmp, REAL])))
        self.assertGreater(share, 0.1, f"the main thread ran {share:.0%} of its rate")

    def test_bad_input_raises_with_fix(self):
        for kw in ({"chunk_size": 3}, {"backend": "tpu"}, {"patterns": ["\\q"]},
                   {"in_flight": 0}, {"payloads": ["/nonexistent.vir0"]}):
            with self.assertRaises(vyre.VyreError, msg=kw) as e:
                vyre.scan([REAL], **kw)
            self.assertIn("Fix:", str(e.exception), kw)
        bad = os.path.join(self.tmp, "corrupt.vir0")
        with open(bad, "wb") as f:
            f.write(b"VIR0\x01\x00garbage")
        with self.assertRaises(vyre.VyreError) as e:
            vyre.scan([REAL], payloads=[bad])
        self.assertIn("corrupt.vir0", str(e.exception))
        self.assertIn("Fix:", str(e.exception))


class RayCluster(unittest.TestCase):
    """A real 3-node Ray cluster on 127.0.0.1 (a head and two workers, 1 CPU each)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vyre-ray-")
        make_tree(cls.tmp, 60)
        cls.big = tempfile.mkdtemp(prefix="vyre-ray-big-")
        make_tree(cls.big, 0, big=12, seed=11)
        cls.cluster = Cluster(initialize_head=True, head_node_args={
            "num_cpus": 1, "node_ip_address": "127.0.0.1"})
        cls.workers = [cls.cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1")
                       for _ in range(2)]
        ray.init(address=cls.cluster.address, _node_ip_address="127.0.0.1",
                 log_to_driver=False)
        cls.cluster.wait_for_nodes()

    @classmethod
    def tearDownClass(cls):
        ray.shutdown()
        cls.cluster.shutdown()
        shutil.rmtree(cls.tmp)
        shutil.rmtree(cls.big)

    def test_a_tree_and_real_files_equal_one_host(self):
        paths = [self.tmp, REAL, "/nonexistent-vyre-path"]
        flags = ["--lines", "--crc32", "--histogram", "-e", "GPL", "-e", "\\x00\\x00",
                 "--payload", PAYLOAD]
        want = one_host(paths, *flags, "--backend", "native")
        r = vyre.ray.scan(paths, shards=9, lines=True, crc32=True, histogram=True,
                          patterns=["GPL", "\\x00\\x00"], payloads=[PAYLOAD], backend="native")
        self.assertEqual(r.json_lines, want)  # byte for byte
        self.assertEqual(r.summary["shards"], 9)
        self.assertEqual(r.summary["files"], len(want))
        self.assertEqual(r.summary["failed"], 1)
        self.assertGreaterEqual(r.summary["nodes"], 2)
        self.assertEqual(len(r.to_arrow()), len(want))

    def test_b_command_equals_one_host(self):
        paths = [self.tmp, REAL]
        flags = ["--lines", "-e", "GPL", "-r", "GP+L|lic[a-z]+", "--matches",
                 "--max-matches-per-file", "3", "--backend", "native"]
        want = one_host(paths, *flags)
        env = dict(os.environ, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0")
        out = subprocess.run([sys.executable, "-m", "vyre.ray", "scan", "--address",
                              self.cluster.address, *flags, *paths], capture_output=True,
                             env=env, timeout=300)
        self.assertEqual(out.returncode, 0, out.stderr.decode()[-2000:])
        lines = out.stdout.decode().splitlines()
        self.assertEqual(lines[:-1], want)
        files = [x for x in want if '"type":"match"' not in x]
        self.assertGreater(len(want), len(files))  # match lines too
        self.assertEqual(json.loads(lines[-1])["summary"]["files"], len(files))
        # A bad option value: status 2 and a Fix, before any task.
        out = subprocess.run([sys.executable, "-m", "vyre.ray", "scan", "--address",
                              self.cluster.address, "--max-matches-per-file", "5", "-r", "x",
                              *paths], capture_output=True, env=env, timeout=300)
        self.assertEqual(out.returncode, 2)
        self.assertIn("Fix:", out.stderr.decode())

    def test_bb_regexes_and_matches_equal_one_host(self):
        paths = [self.tmp, REAL, "/nonexistent-vyre-path"]
        want = one_host(paths, "-r", "GP+L", "-r", "[0-9]{2,}", "-e", "GPL", "--matches",
                        "--max-matches-per-file", "4", "--backend", "native")
        opts = dict(regexes=["GP+L", "[0-9]{2,}"], patterns=["GPL"], matches=True,
                    max_matches_per_file=4, backend="native")
        r = vyre.ray.scan(paths, shards=7, **opts)
        self.assertEqual(r.json_lines, want)  # byte for byte, match lines included
        files = list(r.files())
        self.assertEqual(files, list(vyre.scan(paths, **opts)))
        self.assertEqual(r.summary["files"], len(files))
        self.assertTrue(any(f.get("located") for f in files))
        self.assertTrue(any(f.get("matches_omitted") for f in files))
        self.assertEqual(len(r.to_arrow()), len(files))

    def test_c_missing_on_a_node_is_a_failed_file(self):
        files = sorted(os.path.join(REAL, f) for f in os.listdir(REAL))[:3]
        paths = [os.fsencode(files[0]), b"/vanished/on/this/node", os.fsencode(files[1])]
        kw = vyre.scan_options(lines=True, backend="native")
        out = ray.get(ray.remote(vyre.ray._scan_shard).remote(paths, kw))
        got = [json.loads(x) for x in out["lines"]]
        self.assertEqual([g["path"] for g in got],
                         [files[0], "/vanished/on/this/node", files[1]])
        self.assertIn("not found", got[1]["error"])
        self.assertIn("lines", got[2])

    def test_d_corrupt_payload_is_refused_before_any_task(self):
        bad = os.path.join(self.big, "corrupt.vyre")
        with open(bad, "w") as f:
            f.write("payload broken\nparam data: bytes\n{ let = }\n")
        with self.assertRaises(vyre.VyreError) as e:
            vyre.ray.scan([REAL], payloads=[bad])
        self.assertIn("corrupt.vyre", str(e.exception))
        self.assertIn("Fix:", str(e.exception))
        os.remove(bad)

    def test_z_worker_node_killed_mid_scan(self):
        # The CPU reference makes each shard take a while; the first shard a
        # worker node finishes kills that node while shards are still left.
        paths = [self.big, self.tmp]
        want = one_host(paths, "--lines", "--crc32", "--backend", "native")
        victim = self.workers[0]
        killed = {}

        def on_done(i, info):
            if not killed and info["node"] == victim.node_id:
                killed["done_before"] = len(done)
                self.cluster.remove_node(victim)
                killed["at"] = time.perf_counter()
            done.append((i, info["node"]))

        done = []
        r = vyre.ray.scan(paths, shards=12, lines=True, crc32=True, backend="cpu",
                          on_shard_done=on_done)
        self.assertTrue(killed, "no shard ran on the worker node")
        self.assertLess(killed["done_before"], 11, "the node died after the scan's end")
        self.assertEqual(r.json_lines, want)  # nothing lost, nothing twice
        self.assertEqual(len(done), 12)
        self.assertEqual(sorted(i for i, _ in done), list(range(12)))
        after = [n for _, n in done[killed["done_before"] + 1:]]
        self.assertNotIn(victim.node_id, after)
        print(f"\nkilled-node test: {r.summary['shards']} shards, {r.summary['files']} files, "
              f"{r.summary['bytes']} bytes, node killed after {killed['done_before'] + 1} "
              f"shards; {len(after)} shards finished after it on the other nodes; "
              f"results equal: True", file=sys.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
