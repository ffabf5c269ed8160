#!/usr/bin/env bash
# A regex rule set on a GPU host: the regexes' device line filter resident and end to end
# (examples/literal_bench --regex-file), and whole `vyre scan --regex-file` runs, gpu vs native,
# against the `regex` crate alone (examples/regex_count) and ripgrep (one `rg -c -o` per rule,
# when RG is given); per-file counts compared between gpu and native, totals with the others.
# Needs only the release binaries, python3 and coreutils.
# Usage: scripts/bench-gpu-regex.sh VYRE_BIN LITERAL_BENCH_BIN REGEX_COUNT_BIN [RULES] [DIR] [RG]
# The corpus: 64 files of 8 MiB of lines of 12 words drawn (Pareto, alpha 0.6) from a made-up
# vocabulary, every 500th line a secret-like sample (keys, tokens, password=, private key
# headers, hex digests, URLs with credentials) among words.
set -euo pipefail
VYRE=${1:?vyre binary}; BENCH=${2:?literal_bench binary}; RC=${3:?regex_count binary}
R=${4:-examples/patterns/secrets-regex.txt}; DIR=${5:-/tmp/vr}; RG=${6:-}
mkdir -p "$DIR/text"
if [ ! -f "$DIR/text/f63" ]; then
    python3 - "$DIR/text" <<'PY'
import random, string, sys
d = sys.argv[1]
random.seed(12)
syll = ["ka","to","ri","mu","sen","vo","la","pe","zi","dor","an","qu","el","bri","no","st","ba","ce","di","fo","gu","ha","ji","ko","lu","ma","ne","op","ra","si","tu","ve","wa","xo","yu","ze","ar","or","ix","um"]
vocab = list({"".join(random.choice(syll) for _ in range(random.randint(2,4))) for _ in range(100000)})
an = string.ascii_letters + string.digits
def s(n, chars=an): return "".join(random.choice(chars) for _ in range(n))
secrets = [
    lambda: "AKIA" + s(16, string.ascii_uppercase + string.digits),
    lambda: "ghp_" + s(36),
    lambda: "xoxb-" + s(24, an + "-"),
    lambda: 'password = "' + s(12) + '"',
    lambda: "api_key: " + s(32),
    lambda: "-----BEGIN RSA PRIVATE KEY-----",
    lambda: s(32, "0123456789abcdef"),
    lambda: "sk_live_" + s(30),
    lambda: "eyJ" + s(20) + ".eyJ" + s(30) + "." + s(40),
    lambda: "https://admin:" + s(10) + "@example.com/x",
    lambda: "Bearer " + s(40),
    lambda: "AIza" + s(35),
]
block = []
for i in range(40000):
    ws = [vocab[min(int(random.paretovariate(0.6)) - 1, len(vocab)-1)] for _ in range(12)]
    if i % 500 == 0:
        ws.insert(random.randrange(13), random.choice(secrets)())
    block.append(" ".join(ws))
block = ("\n".join(block) + "\n").encode()
for f in range(64):
    with open(f"{d}/f{f}", "wb") as out:
        left = 8 << 20
        while left > 0:
            out.write(block[:left]); left -= len(block)
PY
fi
cat "$DIR"/text/* > /dev/null
echo "== device line filter, $(du -sh "$DIR/text" | cut -f1), rules $R"
"$BENCH" "$DIR/text" --regex-file "$R" --repeat 5 --max-bytes $((1 << 30)) || true
t() { local s e; s=$(date +%s.%N); "$@" > "$OUTF"; e=$(date +%s.%N); python3 -c "print(round($e-$s,3))"; }
for b in gpu native; do
    for r in 1 2 3; do
        OUTF="$DIR/o-$b" ; echo "vyre --backend $b: $(t "$VYRE" scan --quiet --json --backend $b --regex-file "$R" "$DIR/text") s"
    done
done
python3 - "$DIR/o-gpu" "$DIR/o-native" <<'PY'
import json, sys
def load(p):
    out = {}
    for line in open(p):
        o = json.loads(line)
        if "path" in o:
            out[o["path"]] = o.get("regex_matches")
    return out
a, b = load(sys.argv[1]), load(sys.argv[2])
assert a == b and len(a) == 64, "gpu and native differ"
tot = {}
for m in a.values():
    for r, n in (m or {}).items():
        tot[r] = tot.get(r, 0) + n
print("gpu == native on", len(a), "files; matches per rule:", sorted(tot.values(), reverse=True))
PY
for r in 1 2; do
    OUTF="$DIR/o-rc"; echo "regex crate alone (regex_count, all cores): $(t "$RC" "$R" "$DIR/text") s"
done
tail -n 30 "$DIR/o-rc" | grep -v '^$' | head -30 || true
if [ -n "$RG" ]; then
    for r in 1 2; do
        OUTF="$DIR/o-rg"
        echo "rg -c -o, one run per rule: $(t bash -c "while read -r x; do \"$RG\" --no-config -a -c -o --no-ignore -e \"\$x\" \"$DIR/text\" || true; done < \"$R\"") s"
    done
fi
