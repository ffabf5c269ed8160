#!/usr/bin/env bash
# CPU and GPU on one scan (`--backend gpu+native`) against GPU alone and native code alone.
# Needs only the release binary (no Rust toolchain), python3, coreutils.
# Usage: scripts/bench-gpu-hybrid.sh VYRE_BIN DATA_DIR [GiB] [GPU_BACKEND_ARGS...]
#   GiB: size of the large file (default 4); GPU_BACKEND_ARGS: extra arguments for every
#   GPU run, e.g. `--chunk-size 65536` where the GPU is llvmpipe (it must have them).
# Prints, from page cache, median of 3 runs each:
#   1. a 1 MB tree (256 files of 4 KiB): time to the first result line and whole-process time,
#      for `wc -l`, --backend native, gpu, gpu+native (`--lines`);
#   2. the large file: whole-process time and GB/s of lines + CRC-32 + histogram + 3 patterns
#      for native, gpu, gpu+native, and which device ran how many batches.
# Every vyre run's per-file JSON is compared with native code's; a difference stops the script.
set -euo pipefail
VYRE=${1:?vyre binary}; DIR=${2:?data dir}; GIB=${3:-4}; shift $(( $# < 3 ? $# : 3 ))
EXTRA=("$@")
mkdir -p "$DIR/small"
if [ ! -f "$DIR/small/f255" ]; then
    python3 - "$DIR/small" <<'PY'
import random, sys
random.seed(2)
for i in range(256):
    with open(f"{sys.argv[1]}/f{i}", "wb") as f:
        f.write(bytes(random.choice(b"abcdefgh GPL License\n") for _ in range(4096)))
PY
fi
if [ ! -f "$DIR/big.txt" ]; then
    python3 - "$DIR/big.txt" "$GIB" <<'PY'
import sys, random
path, gib = sys.argv[1], float(sys.argv[2])
random.seed(1)
line = bytes(random.randrange(32, 127) for _ in range(79)) + b"\n"
block = bytearray()
for i in range(8192):
    l = bytearray(line)
    if i % 97 == 0:
        l[i % 70:(i % 70) + 6] = b"needle"
    block += l
with open(path, "wb") as f:
    for _ in range(int(gib * (1 << 30) / len(block))):
        f.write(block)
PY
fi
cat "$DIR/big.txt" "$DIR"/small/* >/dev/null   # warm the page cache
size=$(stat -c %s "$DIR/big.txt")
now() { date +%s.%N; }
dt() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.4f\n", b-a}'; }
med() { sort -n | sed -n 2p; }
# Seconds until the first line of output, and until the process ended.
first_and_all() {
    local s f e
    s=$(now)
    { "$@" 2>/dev/null | { IFS= read -r _ || true; f=$(now); cat >/dev/null; echo "$f"; }; } > "$DIR/.first"
    e=$(now)
    echo "$(dt "$s" "$(cat "$DIR/.first")") $(dt "$s" "$e")"
}
small() {
    local name=$1; shift
    local runs; runs=$(for i in 1 2 3; do first_and_all "$@"; done)
    local f a
    f=$(echo "$runs" | awk '{print $1}' | med); a=$(echo "$runs" | awk '{print $2}' | med)
    printf "%-22s first result %8.4f s   whole process %8.4f s\n" "$name" "$f" "$a"
}
same() {   # per-file JSON of a run equals native code's (the summary line differs)
    "$VYRE" scan --json "$@" 2>/dev/null | grep -v '^{"summary"' > "$DIR/.out"
    cmp -s "$DIR/.out" "$DIR/.native" || { echo "DIFFERENT RESULTS: vyre scan $*" >&2; exit 1; }
}
echo "== 1 MB tree (256 files), --lines"
small "wc -l" sh -c "wc -l $DIR/small/*"
small "native" "$VYRE" scan --quiet --lines --backend native "$DIR/small"
small "gpu" "$VYRE" scan --quiet --lines --backend gpu "${EXTRA[@]}" "$DIR/small"
small "gpu+native" "$VYRE" scan --quiet --lines --backend gpu+native "${EXTRA[@]}" "$DIR/small"
"$VYRE" scan --json --lines --backend native "$DIR/small" 2>/dev/null | grep -v '^{"summary"' > "$DIR/.native"
same --lines --backend gpu "${EXTRA[@]}" "$DIR/small"
same --lines --backend gpu+native "${EXTRA[@]}" "$DIR/small"

echo "== large file: $size bytes, lines + CRC-32 + histogram + 3 patterns"
A=(--lines --crc32 --histogram -e needle -e abc -e xyz)
"$VYRE" scan --json "${A[@]}" --backend native "$DIR/big.txt" 2>/dev/null | grep -v '^{"summary"' > "$DIR/.native"
for b in native gpu gpu+native; do
    x=()
    if [ "$b" != native ]; then x=("${EXTRA[@]}"); fi
    runs=$(for i in 1 2 3; do s=$(now); "$VYRE" scan --quiet "${A[@]}" --backend "$b" "${x[@]}" "$DIR/big.txt" > "$DIR/.sum" 2>/dev/null; e=$(now); dt "$s" "$e"; done)
    m=$(echo "$runs" | med)
    awk -v n="$b" -v m="$m" -v s="$size" 'BEGIN{printf "%-22s %8.4f s %8.3f GB/s (median of 3)\n", n, m, s/m/1e9}'
    grep -o 'devices: .*' "$DIR/.sum" | sed 's/^/    /' || true
    if [ "$b" != native ]; then same "${A[@]}" --backend "$b" "${x[@]}" "$DIR/big.txt"; fi
done
echo "results of every run equal native code's"
