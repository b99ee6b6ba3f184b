#!/usr/bin/env bash
# The whole NAS-Bench-201 space scored with the default ranker's candidate members
# (issue 18's development set): jacob_cov, meco, zen_nas, params_live, flops_live, synflow
# on the 64 embedded CIFAR-10 images with seed 0 (the scoring setup of `zsnas search`'s
# defaults, so searches can reuse it with --scores). 9,445 canonical classes for the
# 15,625 cells; zen_nas and synflow draw randomness, so one single-threaded process per
# core on strided shards instead of --jobs (docs/performance.md). Resumable: rerun after
# a kill. About 100 min on the 2-core Intel VM.
#
# Working files go to $OUT (default results/work/all_rank); the merged, gzipped file to
# results/ranker/nb201_all_rank.jsonl.gz.
source "$(dirname "$0")/env.sh"
cd "$ZSNAS_ROOT"
cargo build --release --quiet
Z=./target/release/zsnas
OUT="${OUT:-results/work/all_rank}"
SHARDS="${SHARDS:-2}"
PROXIES=jacob_cov,meco,zen_nas,params_live,flops_live,synflow
mkdir -p "$OUT"
export ZSNAS_PROGRESS="${ZSNAS_PROGRESS:-off}"
for ((i = 0; i < SHARDS; i++)); do
  $Z --threads 1 score --all --shard "$i/$SHARDS" --seed 0 --proxies "$PROXIES" --output "$OUT/all_$i.jsonl" &
done
wait
# One file in space order (index), gzipped.
python3 - "$OUT" "$SHARDS" <<'PY' | gzip -9 > results/ranker/nb201_all_rank.jsonl.gz
import json, sys
out, n = sys.argv[1], int(sys.argv[2])
lines = {}
for i in range(n):
    for l in open(f"{out}/all_{i}.jsonl"):
        lines[json.loads(l)["index"]] = l.rstrip("\n")
for k in sorted(lines):
    print(lines[k])
PY
echo "results/ranker/nb201_all_rank.jsonl.gz: $(zcat results/ranker/nb201_all_rank.jsonl.gz | wc -l) lines"
