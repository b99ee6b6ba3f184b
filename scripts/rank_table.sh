#!/usr/bin/env bash
# The default ranker's search table (issue 18): NAS-Bench-201, fitness `rank`
# (= logrank:jacob_cov,params_live,meco,top5%,zen_nas), budget 1,000, 5 runs (search seeds 0-4) of random
# search and of aging evolution, every cell scored on the 64 embedded CIFAR-10 images
# with score seed 0 (the defaults of `zsnas search`). The two searches run at the same
# time, one thread each; each is resumable: rerun the script after a kill.
#
# Working files go to $OUT (default results/work/rank_table, not tracked); the results
# (rank_{random,evolution}.{json,png,svg}, gzipped histories, table.md) are copied to
# results/search/rank at the end.
source "$(dirname "$0")/env.sh"
cd "$ZSNAS_ROOT"
cargo build --release --quiet
Z=./target/release/zsnas
OUT="${OUT:-results/work/rank_table}"
DOCS=results/search/rank
mkdir -p "$OUT" "$DOCS"
export ZSNAS_PROGRESS="${ZSNAS_PROGRESS:-off}"

# SCORES: optional precomputed score files made with the search's scoring setup (e.g. the
# whole space, results/ranker/nb201_all_rank.jsonl.gz, made by scripts/score_space.sh):
# cells found there are looked up instead of scored (one is re-scored to check the setup).
PRE=()
if [ -n "${SCORES:-}" ]; then
  read -r -a files <<< "$SCORES"
  PRE=(--scores "${files[@]}")
fi
for s in random evolution; do
  $Z --threads 1 search --space nb201 --strategy "$s" --fitness rank --budget 1000 --runs 5 --seed 0 \
    "${PRE[@]}" --history "$OUT/rank_$s.jsonl" --plot "$OUT/rank_$s" --format json > "$OUT/rank_$s.json" &
done
wait

# The table: CIFAR-10 test accuracy (200 epochs) of the cell each run returns; beside it,
# reported only, the same cells' CIFAR-100 and ImageNet16-120 test accuracy (200 epochs).
python3 - "$OUT" "${ZSNAS_DATA:-$ZSNAS_ROOT/../shared/data}/nb201/nb201_cifar100_imagenet16.csv" > "$OUT/table.md" <<'EOF'
import csv, json, os, statistics as st, sys
out = sys.argv[1]
other = {int(r["index"]): r for r in csv.DictReader(open(sys.argv[2]))}
print("| fitness | strategy | test acc. (mean ± std, 5 runs) | worst run | best run "
      "| runs (seed: accuracy, index, rank of 15,625) | distinct cells evaluated (mean) "
      "| CIFAR-100 / ImageNet16-120 of the same cells (mean) |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for s in ("random", "evolution"):
    runs = [json.loads(l) for l in open(os.path.join(out, f"rank_{s}.json")) if l.strip()]
    acc = [r["best"]["truth"] for r in runs]
    cells = "; ".join(f"{r['seed']}: {r['best']['truth']:.2f}%, {r['best']['index']}, {r['best']['rank']}" for r in runs)
    c100 = st.mean(float(other[r["best"]["index"]]["cifar100_test_200"]) for r in runs)
    i16 = st.mean(float(other[r["best"]["index"]]["imagenet16_test_200"]) for r in runs)
    print(f"| `rank` | {s} | {st.mean(acc):.2f} ± {st.stdev(acc):.2f}% | {min(acc):.2f}% | {max(acc):.2f}% "
          f"| {cells} | {st.mean(r['evaluated'] for r in runs):.0f} | {c100:.2f}% / {i16:.2f}% |")
EOF
cat "$OUT/table.md"

# Publish.
cp "$OUT"/table.md "$OUT"/rank_*.json "$OUT"/rank_*.png "$OUT"/rank_*.svg "$DOCS"/
for s in random evolution; do gzip -9 -c "$OUT/rank_$s.jsonl" > "$DOCS/rank_$s.jsonl.gz"; done
