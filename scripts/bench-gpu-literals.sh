#!/usr/bin/env bash
# Many literals on a GPU host: the device literal engine resident and end to end
# (examples/literal_bench) and whole `vyre scan -f` runs, gpu vs native, results compared.
# Needs only the release binaries, python3 and coreutils.
# Usage: scripts/bench-gpu-literals.sh VYRE_BIN LITERAL_BENCH_BIN [DIR]
# The corpus: 512 MiB of lines of 12 words drawn (Pareto, alpha 0.6) from a vocabulary of
# 150 370 made-up words; patterns are the vocabulary from its rarest word on.
set -euo pipefail
VYRE=${1:?vyre binary}; BENCH=${2:?literal_bench binary}; DIR=${3:-/tmp/vb}
mkdir -p "$DIR/lit"
python3 - "$DIR" <<'PY'
import random, sys
d = sys.argv[1]
random.seed(11)
syll = ["ka","to","ri","mu","sen","vo","la","pe","zi","dor","an","qu","el","bri","no","st","ba","ce","di","fo","gu","ha","ji","ko","lu","ma","ne","op","ra","si","tu","ve","wa","xo","yu","ze","ar","or","ix","um"]
vocab = sorted({"".join(random.choice(syll) for _ in range(random.randint(2,4))) for _ in range(300000)})
random.shuffle(vocab)
open(f'{d}/rare.txt','w').write("\n".join(reversed(vocab)) + "\n")
lines = []
for _ in range(20000):
    ws = [vocab[min(int(random.paretovariate(0.6)) - 1, len(vocab)-1)] for _ in range(12)]
    lines.append(" ".join(ws))
block = "\n".join(lines) + "\n"
with open(f'{d}/lit/text','w') as f:
    for _ in range((512 << 20) // len(block)): f.write(block)
PY
cat "$DIR/lit/text" > /dev/null
"$BENCH" "$DIR/lit" "$DIR/rare.txt" --counts 1,100,10000,100000 --repeat 5 || true
for n in 100 10000; do
    head -$n "$DIR/rare.txt" > "$DIR/r$n"
    for b in gpu native; do
        for r in 1 2; do
            s=$(date +%s.%N)
            "$VYRE" scan --quiet --json --backend $b -f "$DIR/r$n" "$DIR/lit" > "$DIR/o-$n-$b"
            e=$(date +%s.%N)
            echo "$n literals, --backend $b: $(python3 -c "print(round($e-$s,3))") s"
        done
    done
    cmp <(grep -o '"matches".*' "$DIR/o-$n-gpu") <(grep -o '"matches".*' "$DIR/o-$n-native") \
        && echo "$n literals: gpu == native"
done
