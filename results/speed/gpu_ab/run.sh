#!/bin/bash
# Before/after on one GPU, alternating: the binary of 4c18a08 (A: per-matrix correlations
# on the device, one host-to-device copy per variable) against a later one (B: batched
# correlations, one copy of the initial weights). Both built on the CPU machine against
# the torch the GPU machine has (see ../gpu_h200/README.md) and carried as .gpu/zsnas_a and
# .gpu/zsnas_b. Writes bench JSON and 200-cell score files per round under $OUT.
# Usage on the device: ROUNDS=3 bash results/speed/gpu_ab/run.sh
set -u
TORCH=$(python3 -c "import torch,os;print(os.path.dirname(torch.__file__))")
export LD_LIBRARY_PATH=$TORCH/lib:${LD_LIBRARY_PATH:-}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
for b in a b; do chmod +x .gpu/zsnas_$b; .gpu/zsnas_$b score --device cuda --sample 1 --seed 0 --proxies wrcor >/dev/null || exit 1; done
for r in $(seq 1 "${ROUNDS:-3}"); do
  for b in a b; do
    .gpu/zsnas_$b bench --device cuda --proxies wrcor --sample 10 --repeats 3 --format json > "$OUT/bench_${b}_$r.json"
    .gpu/zsnas_$b score --device cuda --sample 200 --seed 1 --proxies wrcor --output "$OUT/score200_${b}_$r.jsonl" 2>/dev/null
    echo "round $r $b: median seconds per line $(python3 -c "
import json,statistics,sys
v=[json.loads(l)['seconds']['wrcor'] for l in open(sys.argv[1])]
print(round(statistics.median(v)*1000,2),'ms over',len(v))" "$OUT/score200_${b}_$r.jsonl")"
  done
done
