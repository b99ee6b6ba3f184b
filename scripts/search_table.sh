#!/usr/bin/env bash
# The paper's search experiment on NAS-Bench-201: budget 1,000, 5 runs (seeds 0-4) of
# {random, reinforce, evolution} x {wrcor, sjw}, every architecture scored on the 64
# embedded CIFAR-10 images with score seed 0. Everything is resumable: rerun the script
# after a kill and it goes on where it stopped.
#
#   1. wrcor of all 15,625 cells, two single-threaded shards (about 1.5 h on 2 cores),
#      written to $OUT/wrcor_all.{0,1}.jsonl; then the full-space correlation. When
#      results/search/table/wrcor_all.jsonl.gz exists (it is committed), it is used instead.
#   2. The 30 searches, 5 runs per invocation (the runs share a score cache). wrcor
#      searches take every score from step 1 (seconds each); sjw searches compute
#      synflow and jacob_cov of the cells they visit, wrcor comes from step 1.
#
# Working files go to $OUT (default results/work/search_table, not tracked); the results
# ({wrcor,sjw}_{strategy}.{json,png,svg}, strategies_*.{png,svg}, gzipped histories,
# table.md) are copied to
# results/search/table at the end.
source "$(dirname "$0")/env.sh"
cd "$ZSNAS_ROOT"
cargo build --release --quiet
Z=./target/release/zsnas
OUT="${OUT:-results/work/search_table}"
DOCS=results/search/table
mkdir -p "$OUT" "$DOCS"
export ZSNAS_PROGRESS="${ZSNAS_PROGRESS:-off}"

if [ -e "$DOCS/wrcor_all.jsonl.gz" ]; then
  WRCOR_ALL=("$DOCS/wrcor_all.jsonl.gz")
else
  for i in 0 1; do
    $Z --threads 1 score --space nb201 --all --proxies wrcor --shard "$i/2" --output "$OUT/wrcor_all.$i.jsonl" &
  done
  wait
  WRCOR_ALL=("$OUT"/wrcor_all.0.jsonl "$OUT"/wrcor_all.1.jsonl)
fi
$Z correlate --scores "${WRCOR_ALL[@]}" --proxies wrcor > "$OUT/correlate_wrcor_all.txt"

search() { # fitness strategy [more --scores files]
  local f=$1 s=$2
  shift 2
  $Z --threads 1 search --space nb201 --strategy "$s" --fitness "$f" --budget 1000 --runs 5 --seed 0 \
    --scores "${WRCOR_ALL[@]}" "$@" --history "$OUT/${f}_$s.jsonl" --format json > "$OUT/${f}_$s.json"
}
for s in random reinforce evolution; do search wrcor "$s"; done
# sjw: the three searches at once, one thread each; the earlier single budget-1,000 sjw
# runs (results/search/sjw1000_*.jsonl, same scoring setup) lend their scores.
for s in evolution reinforce random; do search sjw "$s" results/search/sjw1000_*.jsonl & done
wait

# The figures: per search the best-so-far and the fitness-best accuracy (mean +- std
# over the 5 runs), and the six searches overlaid.
for f in wrcor sjw; do
  for s in random reinforce evolution; do $Z plot "$OUT/${f}_$s.jsonl" --output "$OUT/${f}_$s"; done
done
H=("$OUT"/wrcor_random.jsonl "$OUT"/wrcor_reinforce.jsonl "$OUT"/wrcor_evolution.jsonl
   "$OUT"/sjw_random.jsonl "$OUT"/sjw_reinforce.jsonl "$OUT"/sjw_evolution.jsonl)
$Z plot "${H[@]}" --curves fitness-best --output "$OUT/strategies_fitness_best"
$Z plot "${H[@]}" --curves best-so-far --output "$OUT/strategies_best_so_far"

# The table: mean +- std of the found cells' test accuracy, distinct cells scored, and
# the scoring cost of a run from scratch on one thread: the measured wrcor seconds of
# its distinct cells (step 1), plus for sjw its distinct cells times the mean seconds per
# cell that the invocation spent on synflow and jacob_cov (scoring_seconds / scored).
python3 - "$OUT" "${WRCOR_ALL[@]}" > "$OUT/table.md" <<'EOF'
import gzip, json, os, statistics as st, sys
out, files = sys.argv[1], sys.argv[2:]
wr_sec = {}
for f in files:
    for l in (gzip.open(f, "rt") if f.endswith(".gz") else open(f)):
        if l.strip():
            r = json.loads(l)
            wr_sec[r["arch"]] = r["seconds"]["wrcor"]
print("| fitness | strategy | test acc. (mean ± std, 5 runs) | best run | distinct cells scored (mean) | cost per run from scratch, 1 thread (mean) |")
print("| --- | --- | --- | --- | --- | --- |")
for f in ("wrcor", "sjw"):
    for s in ("random", "reinforce", "evolution"):
        p = os.path.join(out, f"{f}_{s}.json")
        if not os.path.exists(p):
            continue
        runs = [json.loads(l) for l in open(p) if l.strip()]
        distinct = {}
        for l in open(os.path.join(out, f"{f}_{s}.jsonl")):
            if l.strip():
                h = json.loads(l)
                distinct.setdefault(h["run"], set()).add(h["arch"])
        scored = sum(r["scored"] for r in runs)
        extra = sum(r["scoring_seconds"] for r in runs) / scored if scored else 0.0
        cost = [sum(wr_sec[a] for a in distinct[i]) + len(distinct[i]) * extra for i in range(len(runs))]
        acc = [r["best"]["truth"] for r in runs]
        sd = st.stdev(acc) if len(acc) > 1 else 0.0
        print(f"| {f} | {s} | {st.mean(acc):.2f} ± {sd:.2f}% | {max(acc):.2f}% "
              f"| {st.mean(r['evaluated'] for r in runs):.0f} | {st.mean(cost) / 60:.1f} min |")
EOF
cat "$OUT/table.md"

# Publish.
cp "$OUT"/table.md "$OUT"/correlate_wrcor_all.txt "$OUT"/*_*.json "$OUT"/*_*.png "$OUT"/*_*.svg "$DOCS"/
for h in "$OUT"/wrcor_*.jsonl "$OUT"/sjw_*.jsonl; do
  case "$h" in *wrcor_all.*) continue ;; esac
  gzip -9 -c "$h" > "$DOCS/$(basename "$h").gz"
done
[ -e "$DOCS/wrcor_all.jsonl.gz" ] || cat "${WRCOR_ALL[@]}" | gzip -9 > "$DOCS/wrcor_all.jsonl.gz"
