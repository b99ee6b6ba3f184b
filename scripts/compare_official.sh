#!/usr/bin/env bash
# zsnas `wrcor` against the official WRCor code, side by side on this machine (issue 15):
# the same 20 NAS-Bench-201 cells (zsnas's seeded sample, seed 0) plus the all
# nor_conv_3x3 cell, the same 64 images (the golden batch), the same thread count, rounds
# alternating between the two programs; then the per-cell medians and their ratio.
#
#   OFFICIAL=/path/to/ZSNAS-WRCor PYTHON=/path/to/python bash scripts/compare_official.sh [ROUNDS] [OUT]
#
# OFFICIAL: your checkout of github.com/kunjing96/ZSNAS-WRCor (zsnas ships none of its
# code); PYTHON: a Python with torch (the same version as zsnas's libtorch, 2.13.0, for a
# fair comparison), numpy and safetensors. THREADS (default 2) is used by both programs.
# ROUNDS defaults to 5, OUT to results/work/compare_official. About 45 s per round on a
# 2-core VM. Nothing is downloaded.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ZSNAS_ROOT"
ROUNDS="${1:-5}"
OUT="${2:-results/work/compare_official}"
THREADS="${THREADS:-2}"
PYTHON="${PYTHON:-python3}"
GOLDEN="${GOLDEN:-$ZSNAS_ROOT/../shared/golden/nb201}"
export THREADS GOLDEN
: "${OFFICIAL:?set OFFICIAL to a checkout of ZSNAS-WRCor}"
"$PYTHON" scripts/compare_official.py check
cargo build --release --quiet
Z=./target/release/zsnas
mkdir -p "$OUT"
export ZSNAS_PROGRESS=off
# Cells: a warm-up cell (all nor_conv_1x1, not reported), the seeded sample, the all-conv cell.
rm -f "$OUT/sample.jsonl"
$Z --threads 1 score --sample 20 --seed 0 --proxies params --output "$OUT/sample.jsonl" >/dev/null
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
warm = "|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_1x1~2|"
conv = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
cells = [json.loads(l)["arch"] for l in open(f"{out}/sample.jsonl")]
cells = [warm] + [c for c in cells if c not in (warm, conv)] + [conv]
open(f"{out}/cells.txt", "w").write("\n".join(cells) + "\n")
PY
for r in $(seq 1 "$ROUNDS"); do
  "$PYTHON" scripts/compare_official.py time "$OUT/cells.txt" "$OUT/official_$r.jsonl"
  rm -f "$OUT/zsnas_$r.jsonl"
  $Z --threads "$THREADS" score --archs-file "$OUT/cells.txt" --proxies wrcor --data "$GOLDEN/inputs.safetensors" \
    --output "$OUT/zsnas_$r.jsonl" >/dev/null
  echo "round $r of $ROUNDS done" >&2
done
python3 scripts/compare_official.py analyze "$OUT" | tee "$OUT/summary.txt"
