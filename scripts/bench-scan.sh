#!/usr/bin/env bash
# End-to-end scan benchmark: vyre scan vs the CPU tools computing the same outputs on the
# same files, all from page cache. Usage: scripts/bench-scan.sh VYRE_BIN DATA_DIR [GiB]
# Prints one line per run: tool, seconds (median of 3), GB/s.
set -euo pipefail
VYRE=${1:?vyre binary}; DIR=${2:?data dir}; GIB=${3:-4}
mkdir -p "$DIR"
if [ ! -f "$DIR/big.txt" ]; then
    # Text-like data: lines of 80 printable bytes; a few "needle" occurrences.
    python3 - "$DIR/big.txt" "$GIB" <<'PY'
import os, sys, random
path, gib = sys.argv[1], float(sys.argv[2])
random.seed(1)
line = bytearray(b"".join(bytes([random.randrange(32, 127)]) for _ in range(79)) + b"\n")
block = bytearray()
for i in range(8192):
    l = bytearray(line); l[i % 70:(i % 70) + 6] = b"needle" if i % 97 == 0 else l[i % 70:(i % 70) + 6]
    block += l
with open(path, "wb") as f:
    for _ in range(int(gib * (1 << 30) / len(block))):
        f.write(block)
PY
fi
cat "$DIR/big.txt" >/dev/null   # warm the page cache
size=$(stat -c %s "$DIR/big.txt")
med() { sort -n | sed -n 2p; }
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N); awk -v a="$s" -v b="$e" 'BEGIN{printf "%.4f\n", b-a}'; }
run() { local name=$1; shift; local m; m=$(for i in 1 2 3; do t "$@"; done | med); awk -v n="$name" -v m="$m" -v s="$size" 'BEGIN{printf "%-28s %8.4f s %8.3f GB/s\n", n, m, s/m/1e9}'; }
echo "file $size bytes"
run "cat>/dev/null" cat "$DIR/big.txt"
run "wc-l" wc -l "$DIR/big.txt"
run "grep-c-F" grep -c -F needle "$DIR/big.txt"
run "cksum" cksum "$DIR/big.txt"
run "vyre-lines" "$VYRE" scan --quiet --lines "$DIR/big.txt"
run "vyre-lines+crc32" "$VYRE" scan --quiet --lines --crc32 "$DIR/big.txt"
run "vyre-lines+hist+3pat+crc32" "$VYRE" scan --quiet --lines --histogram -e needle -e abc -e xyz --crc32 "$DIR/big.txt"
run "vyre-pattern" "$VYRE" scan --quiet -e needle "$DIR/big.txt"
