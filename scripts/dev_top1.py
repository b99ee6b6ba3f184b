#!/usr/bin/env python3
"""Development check for the default ranker's *top* (issue 18), CIFAR-10 only.

For every log-rank aggregate of 1 to 4 proxies from POOL, on the shipped 1,000-cell
NAS-Bench-201 score files: Spearman rho against CIFAR-10 test accuracy (200 epochs) over
the 1,000 cells, and the accuracy of the cell the aggregate puts on top of each of DRAWS
random subsets of SUBSET cells (mean and 10th percentile), i.e. what a random search of
that budget would return. Aggregation as zsnas's `logrank:` (sum of ln(rank/m), rank 1 =
worst, ties averaged, non-finite last). Only CIFAR-10 accuracies are read.

    python3 scripts/dev_top1.py > results/search/rank/dev_top1.txt

Standard library only; reads ../shared/data/nb201/nb201_cifar10.csv (or $ZSNAS_DATA).
"""
import csv, itertools, json, math, os, random

DATA = os.environ.get("ZSNAS_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
FILES = ["results/nb201_eval/scores_1000.jsonl", "results/ranker/live_1000.jsonl", "results/sota/sota_1000.jsonl"]
POOL = ["jacob_cov", "params_live", "flops_live", "meco", "zico", "az_expressivity", "az_progressivity",
        "az_trainability", "synflow", "wrcor", "naswot", "snip", "grad_norm"]
SUBSET, DRAWS, SEED, MIN_RHO = 300, 100, 1, 0.92


def load():
    scores = {}
    for f in FILES:
        for line in open(f):
            d = json.loads(line)
            scores.setdefault(d["index"], {}).update({k: float(v) for k, v in d["scores"].items()})
    acc = {int(r["index"]): float(r["test_acc_200ep"]) for r in csv.DictReader(open(os.path.join(DATA, "nb201", "nb201_cifar10.csv")))}
    return scores, acc


def ranks(vals):
    """Ranks 1..m, 1 = worst, ties averaged, non-finite values last (worst)."""
    key = [v if math.isfinite(v) else -math.inf for v in vals]
    order = sorted(range(len(key)), key=lambda i: key[i])
    r, i = [0.0] * len(key), 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and key[order[j + 1]] == key[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return r


def logrank(scores, cells, members):
    m, tot = len(cells), [0.0] * len(cells)
    for p in members:
        for i, r in enumerate(ranks([scores[c].get(p, math.nan) for c in cells])):
            tot[i] += math.log(r / m)
    return tot


def spearman(x, y):
    rx, ry = ranks(x), ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    num = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    return num / math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))


def main():
    scores, acc = load()
    cells = sorted(scores)
    truth = [acc[c] for c in cells]
    rng = random.Random(SEED)
    draws = [rng.sample(cells, SUBSET) for _ in range(DRAWS)]
    rows = []
    for k in range(1, 5):
        for members in itertools.combinations(POOL, k):
            rho = spearman(logrank(scores, cells, members), truth)
            if rho < MIN_RHO and members != ("jacob_cov", "params_live"):
                continue
            tops = []
            for d in draws:
                s = logrank(scores, d, members)
                tops.append(acc[d[max(range(len(d)), key=lambda i: s[i])]])
            tops.sort()
            rows.append((sum(tops) / len(tops), tops[len(tops) // 10], rho, members))
    rows.sort(key=lambda r: (-r[0], -r[2]))
    print(f"# {len(cells)} NB201 cells, CIFAR-10 only; top-1 over {DRAWS} draws of {SUBSET} cells (seed {SEED}); "
          f"aggregates of 1-4 of {len(POOL)} proxies with rho >= {MIN_RHO} (and `rank`)")
    print("top1_mean_%  top1_p10_%  spearman_rho  logrank members")
    for mean, p10, rho, members in rows:
        print(f"{mean:11.2f}  {p10:9.2f}  {rho:12.3f}  {','.join(members)}")


if __name__ == "__main__":
    main()
