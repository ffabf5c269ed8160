"""vyre.scan's regexes and match locations against Python's `re` and the command.

Counts follow `rg -c -o`: per line (the bytes between `\\n`s), leftmost-first,
non-overlapping matches, which is what `re.finditer` gives for these regexes
(none of them matches the empty string). Locations: byte offset, 1-based line,
1-based byte column, kind and pattern index, the line's text; the first N per
file in (offset, kind, pattern) order, the rest counted in `matches_omitted`.
"""

import json
import os
import random
import re
import shutil
import tempfile
import unittest

import vyre
from test_vyre import one_host

REGEXES = [
    r"[0-9]+",
    r"foo|foobar",  # leftmost-first: always foo
    r"AKIA[0-9A-Z]{16}",
    r"(?i)gpl",
    r"^#.*",
    r"é+",
    r"[ \t]+$",
    r"\bkey\b",
]
LITERALS = [b"GPL", b"oo", "café".encode()]


def lines_of(data):
    """(start offset, bytes) of each line: the bytes between `\\n`s; a final
    line without `\\n` is a line, nothing follows a final `\\n`."""
    out, start = [], 0
    body = data[:-1] if data.endswith(b"\n") else data
    if not data:
        return out
    for piece in body.split(b"\n"):
        out.append((start, piece))
        start += len(piece) + 1
    return out


def expected(data, regexes, literals):
    """Python's answer for a file: (regex counts, literal counts, located)."""
    counts = [0] * len(regexes)
    found = []
    compiled = [re.compile(r) for r in regexes]
    for n, (start, raw) in enumerate(lines_of(data), 1):
        text = raw.decode()
        for i, r in enumerate(compiled):
            for m in r.finditer(text):
                counts[i] += 1
                col = len(text[:m.start()].encode()) + 1
                found.append((start + col - 1, 0, i, n, col, regexes[i], text))
        for i, lit in enumerate(literals):
            at = raw.find(lit)
            while at >= 0:  # overlapping, as -e counts
                found.append((start + at, 1, i, n, at + 1,
                              lit.decode().replace("\\", "\\\\"), text))
                at = raw.find(lit, at + 1)
    lit_counts = []
    for lit in literals:
        k, at = 0, data.find(lit)
        while at >= 0:
            k, at = k + 1, data.find(lit, at + 1)
        lit_counts.append(k)
    found.sort()
    located = [{"offset": o, "line": n, "column": c,
                "kind": "regex" if k == 0 else "literal", "pattern": p,
                "pattern_text": pt, "text": t}
               for o, k, p, n, c, pt, t in found]
    return counts, lit_counts, located


def make_files(root, n, seed=3):
    """`n` UTF-8 text files (lines of words, digits, keys, é, tabs; some
    without a final `\\n`, one long line, one empty file)."""
    rng = random.Random(seed)
    words = ["foo", "foobar", "GPL", "gpl", "key", "keys", "café", "ééé", "12", "3.14",
             "AKIA" + "ABCDEFGHIJ012345", "AKIA123", "#", "# note", " ", "\t", "x", "oo",
             "\r"]
    paths = []
    for i in range(n):
        lines = []
        for _ in range(rng.randrange(0, 40)):
            width = 400 if rng.random() < 0.05 else rng.randrange(0, 12)
            lines.append(" ".join(rng.choice(words) for _ in range(width)))
        text = "\n".join(lines) + ("\n" if i % 3 else "")
        p = os.path.join(root, f"f{i:02}.txt")
        with open(p, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        paths.append(p)
    return paths


class RegexesAndMatches(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vyre-py-re-")
        cls.files = make_files(cls.tmp, 24)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def scan(self, backend, **kw):
        # 64-byte chunks: lines and UTF-8 characters straddle chunks and batches.
        got = list(vyre.scan(self.tmp, chunk_size=64, batch_bytes=4096, backend=backend,
                             **kw))
        self.assertEqual(sorted(f["path"] for f in got), self.files)
        return {f["path"]: f for f in got}

    def test_counts_equal_python_re(self):
        for backend in ("cpu", "native"):
            got = self.scan(backend, regexes=REGEXES, patterns=LITERALS)
            total = 0
            for p in self.files:
                with open(p, "rb") as f:
                    data = f.read()
                counts, lit_counts, _ = expected(data, REGEXES, LITERALS)
                f = got[p]
                self.assertNotIn("located", f)
                # JSON objects: keyed by the regex as given, the literal escaped.
                self.assertEqual(f["regex_matches"], dict(zip(REGEXES, counts)), (backend, p))
                self.assertEqual(f["matches"],
                                 {lit.decode(): n for lit, n in zip(LITERALS, lit_counts)},
                                 (backend, p))
                total += sum(counts)
            self.assertGreater(total, 1000)

    def test_locations_equal_python_re(self):
        for backend in ("cpu", "native"):
            got = self.scan(backend, regexes=REGEXES, patterns=LITERALS, matches=True,
                            max_matches_per_file=vyre._vyre.MAX_MATCHES_PER_FILE)
            for p in self.files:
                with open(p, "rb") as f:
                    data = f.read()
                _, _, want = expected(data, REGEXES, LITERALS)
                f = got[p]
                self.assertEqual(f["matches_omitted"], 0)
                loc = [{k: m[k] for k in want[0]} for m in f["located"]] if want else []
                self.assertEqual(len(f["located"]), len(want), (backend, p))
                self.assertEqual(loc, want, (backend, p))
                for m in f["located"]:
                    self.assertEqual((m["type"], m["path"]), ("match", p))
                    # The offset points at the match, on its line and column.
                    self.assertEqual(data[:m["offset"]].count(b"\n") + 1, m["line"])
                    line_start = data.rfind(b"\n", 0, m["offset"]) + 1
                    self.assertEqual(m["offset"] - line_start + 1, m["column"])

    def test_the_per_file_bound_and_omitted_count(self):
        for cap in (1, 3):
            got = self.scan("native", regexes=REGEXES, patterns=LITERALS, matches=True,
                            max_matches_per_file=cap)
            capped = 0
            for p in self.files:
                with open(p, "rb") as f:
                    _, _, want = expected(f.read(), REGEXES, LITERALS)
                f = got[p]
                loc = [{k: m[k] for k in want[0]} for m in f["located"]] if want else []
                self.assertEqual(loc, want[:cap], p)
                self.assertEqual(f["matches_omitted"], max(0, len(want) - cap), p)
                capped += len(want) > cap
            self.assertGreater(capped, 5)
        # Default bound: 1000 per file.
        big = os.path.join(self.tmp, "..", os.path.basename(self.tmp) + "-big.txt")
        with open(big, "w") as f:
            f.write("7 " * 1500 + "\n")
        try:
            [f] = vyre.scan(big, regexes=["7"], matches=True, backend="native")
            self.assertEqual(len(f["located"]), vyre._vyre.DEFAULT_MAX_MATCHES)
            self.assertEqual(f["matches_omitted"], 1500 - 1000)
            self.assertEqual(f["located"][-1]["column"], 2 * 999 + 1)
            self.assertEqual(f["regex_matches"]["7"], 1500)
        finally:
            os.remove(big)

    def test_equal_the_command(self):
        flags = ["--matches", "--max-matches-per-file", "5"]
        for r in REGEXES[:4]:
            flags += ["-r", r]
        flags += ["-e", "GPL", "--backend", "native"]
        lines = one_host([self.tmp, "/nonexistent-vyre"], *flags)
        want, located = [], []
        for line in lines:
            obj = json.loads(line)
            if obj.get("type") == "match":
                located.append(obj)
                continue
            if "error" not in obj:
                obj["located"] = located
            want.append(obj)
            located = []
        got = list(vyre.scan([self.tmp, "/nonexistent-vyre"], regexes=REGEXES[:4],
                             patterns=["GPL"], matches=True, max_matches_per_file=5,
                             backend="native"))
        self.assertEqual(got, want)
        self.assertTrue(any(f.get("matches_omitted") for f in got))
        rows = vyre.arrow_table(got).to_pylist()
        keys = ["offset", "line", "column", "kind", "pattern", "pattern_text", "text",
                "text_column", "line_bytes"]
        for r, f in zip(rows, got, strict=True):
            self.assertEqual(r["matches_omitted"], f.get("matches_omitted"))
            self.assertEqual(r["regex_matches"], f.get("regex_matches"))
            self.assertEqual(r["located"], [{k: m.get(k) for k in keys}
                                            for m in f["located"]] if "located" in f else None)

    def test_regex_files(self):
        rules = os.path.join(self.tmp, "..", os.path.basename(self.tmp) + "-rules")
        with open(rules, "wb") as f:
            f.write(b"AKIA[0-9A-Z]{16}\r\n\\bkey\\b\n")
        try:
            [f] = vyre.scan(self.files[1], regexes="[0-9]+", regex_files=rules,
                            backend="native")
            with open(self.files[1], "rb") as fh:
                counts, _, _ = expected(fh.read(), ["[0-9]+", REGEXES[2], REGEXES[7]], [])
            self.assertEqual(f["regex_matches"],
                             dict(zip(["[0-9]+", REGEXES[2], REGEXES[7]], counts)))
            with open(rules, "wb") as fh:
                fh.write(b"ok\n\nmore\n")
            with self.assertRaises(vyre.VyreError) as e:
                vyre.scan(self.files[1], regex_files=[rules])
            self.assertIn("line 2", str(e.exception))
            self.assertIn("Fix:", str(e.exception))
        finally:
            os.remove(rules)

    def test_bad_input_raises_with_fix(self):
        f = self.files[0]
        cases = [
            ({"regexes": ["("]}, "regex"),
            ({"regexes": ["a\\nb"]}, "\\n"),
            ({"regexes": [b"abc"]}, "not a str"),
            ({"regexes": ["x", "x"]}, "twice"),
            ({"regex_files": ["/nonexistent-vyre-rules"]}, "cannot read"),
            ({"regexes": ["x"], "max_matches_per_file": 5}, "without matches=True"),
            ({"regexes": ["x"], "matches": True, "max_matches_per_file": 0}, "1 to"),
            ({"regexes": ["x"], "matches": True, "max_matches_per_file": -1}, "1 to"),
            ({"regexes": ["x"], "matches": True, "max_matches_per_file": (1 << 20) + 1},
             "1 to"),
            ({"regexes": ["x"], "matches": True, "max_matches_per_file": "5"}, "1 to"),
            ({"regexes": ["x"], "matches": True, "max_matches_per_file": True}, "1 to"),
            ({"lines": True, "matches": True}, "nothing to locate"),
            ({"patterns": ["a\\nb"], "matches": True}, "holds a \\n"),
        ]
        for kw, says in cases:
            with self.assertRaises(vyre.VyreError, msg=kw) as e:
                vyre.scan(f, backend="native", **kw)
            self.assertIn("Fix:", str(e.exception), kw)
            self.assertIn(says, str(e.exception), kw)
        # The limits themselves are accepted.
        for cap in (1, vyre._vyre.MAX_MATCHES_PER_FILE):
            list(vyre.scan(f, regexes=["x"], matches=True, max_matches_per_file=cap,
                           backend="native"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
