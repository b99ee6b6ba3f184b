#!/usr/bin/env python3
"""Development check of the default ranker's trade-off between ranking all cells and
finding the top ones (issue 18), CIFAR-10 only.

Two views of each weighted log-rank aggregate Σ w_k ln(rank_k/m) of jacob_cov,
params_live, zen_nas, meco and synflow (weights 0, 0.25, 0.5, 1; the largest 1):
- Spearman rho over the shipped 1,000 random NB201 cells (all-cells protocol), and
- the CIFAR-10 accuracy (mean over the class's cells) of the canonical class it puts on
  top of the whole space (the 9,445 classes of results/ranker/nb201_all_rank.jsonl.gz,
  scripts/score_space.sh), i.e. what a search that saw every cell would return; top-3
  mean beside it. A search ranks within the cells it evaluated, so its result can differ:
  the candidates are then checked by the searches themselves (scripts/rank_table.sh).
Prints the Pareto frontier (no other weighting is at least as good in both and better in
one) and the defaults tried.

    python3 scripts/dev_frontier.py > results/search/rank/dev_frontier.txt

Standard library only; reads ../shared/data/nb201/nb201_cifar10.csv (or $ZSNAS_DATA).
"""
import csv, gzip, itertools, json, math, os

from dev_top1 import ranks, spearman  # the same ranking and Spearman as the top-1 check

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DATA = os.environ.get("ZSNAS_DATA", os.path.join(ROOT, "..", "shared", "data"))
FILES_1000 = ["results/nb201_eval/scores_1000.jsonl", "results/ranker/live_1000.jsonl",
              "results/sota/sota_1000.jsonl", "results/ranker/zen_nas_1000.jsonl"]
DEV_SET = "results/ranker/nb201_all_rank.jsonl.gz"
POOL = ["jacob_cov", "params_live", "zen_nas", "meco", "synflow"]
WEIGHTS = [0.0, 0.25, 0.5, 1.0]


def log_ranks(rows):
    m = len(rows)
    return {p: [math.log(r / m) for r in ranks([float(s.get(p, math.nan)) for s in rows])] for p in POOL}


def load_1000():
    """(CIFAR-10 accuracy by index, scores by index of the shipped 1,000-cell files)."""
    acc = {int(r["index"]): float(r["test_acc_200ep"])
           for r in csv.DictReader(open(os.path.join(DATA, "nb201", "nb201_cifar10.csv")))}
    t = {}
    for f in FILES_1000:
        for line in open(os.path.join(ROOT, f)):
            d = json.loads(line)
            t.setdefault(d["index"], {}).update(d["scores"])
    return acc, t


def main():
    acc, t = load_1000()
    t_idx = sorted(t)
    t_rows, t_acc = [t[i] for i in t_idx], [acc[i] for i in t_idx]
    members, scores = {}, {}
    for line in gzip.open(os.path.join(ROOT, DEV_SET), "rt"):
        d = json.loads(line)
        c = d.get("canonical", d["arch"])
        members.setdefault(c, []).append(acc[d["index"]])
        scores[c] = d["scores"]
    classes = sorted(scores)
    d_rows = [scores[c] for c in classes]
    d_acc = [sum(members[c]) / len(members[c]) for c in classes]
    lt, ld = log_ranks(t_rows), log_ranks(d_rows)
    rows = []
    for ws in itertools.product(WEIGHTS, repeat=len(POOL)):
        if max(ws) != 1.0:
            continue
        agg_t = [sum(w * lt[p][i] for p, w in zip(POOL, ws)) for i in range(len(t_rows))]
        agg_d = [sum(w * ld[p][i] for p, w in zip(POOL, ws)) for i in range(len(d_rows))]
        order = sorted(range(len(d_rows)), key=lambda i: -agg_d[i])
        top = [d_acc[i] for i in order[:3]]
        name = ",".join(p if w == 1.0 else f"{p}*{w:g}" for p, w in zip(POOL, ws) if w > 0)
        rows.append((spearman(agg_t, t_acc), top[0], sum(top) / 3, name))
    frontier = [r for r in rows if not any(o[0] >= r[0] and o[1] >= r[1] and (o[0] > r[0] or o[1] > r[1]) for o in rows)]
    frontier.sort(key=lambda r: -r[0])
    print(f"# CIFAR-10 only. rho: {len(t_rows)} random NB201 cells; top: the argmax of the {len(d_rows)} canonical classes "
          f"of the whole space (best class mean {max(d_acc):.2f} %). {len(rows)} weightings of {','.join(POOL)} in {WEIGHTS}.")
    print("# Pareto frontier (no other weighting is at least as good in both and better in one), then the defaults")
    print("spearman_rho  top1_%  top3_mean_%  logrank members")
    for r in frontier:
        print(f"{r[0]:12.3f}  {r[1]:6.2f}  {r[2]:11.2f}  {r[3]}")
    print("# defaults")
    for name in ("jacob_cov,params_live", "jacob_cov,params_live,zen_nas*0.25", "jacob_cov,params_live,meco"):
        r = next(r for r in rows if r[3] == name)
        print(f"{r[0]:12.3f}  {r[1]:6.2f}  {r[2]:11.2f}  {r[3]}")


if __name__ == "__main__":
    main()
