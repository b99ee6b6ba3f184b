#!/usr/bin/env python3
"""Development check of the default ranker by the searches themselves (issue 18),
CIFAR-10 only.

Every weighted log-rank aggregate of jacob_cov, params_live, meco, zen_nas and synflow
(weights 0, 0.25, 0.5, 1; the largest 1) whose Spearman rho over the shipped 1,000 random
cells is at least 0.93 is used as the fitness of 10 aging-evolution and 10 random-search
runs at budget 1,000 with development seeds 5-14 (the reported table uses seeds 0-4),
every cell looked up in the whole-space scores (results/ranker/nb201_all_rank.jsonl.gz,
scripts/score_space.sh; the search's own scoring setup). Prints each aggregate's rho and
the mean and worst CIFAR-10 test accuracy of the cells the runs return, best first.

    cargo build --release
    python3 scripts/dev_search_grid.py > results/search/rank/dev_search_grid.txt

Standard library only; reads ../shared/data/nb201/nb201_cifar10.csv (or $ZSNAS_DATA).
About 4 minutes on 2 cores.
"""
import itertools, json, math, os, statistics, subprocess
from concurrent.futures import ThreadPoolExecutor

from dev_frontier import load_1000
from dev_top1 import ranks, spearman

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
Z = os.path.join(ROOT, "target", "release", "zsnas")
SPACE = os.path.join(ROOT, "results", "ranker", "nb201_all_rank.jsonl.gz")
POOL = ["jacob_cov", "params_live", "meco", "zen_nas", "synflow"]
WEIGHTS = [0.0, 0.25, 0.5, 1.0]
SEED, RUNS = 5, 10


def search(fitness, strategy, seed=SEED, runs=RUNS):
    """CIFAR-10 accuracy of the cell each run returns (budget 1,000, whole-space lookups)."""
    out = subprocess.run([Z, "--threads", "1", "search", "--space", "nb201", "--strategy", strategy,
                          "--fitness", fitness, "--budget", "1000", "--runs", str(runs), "--seed", str(seed),
                          "--scores", SPACE, "--format", "json"], capture_output=True, text=True, check=True)
    return [json.loads(l)["best"]["truth"] for l in out.stdout.splitlines() if l.strip()]


def main():
    acc, t = load_1000()
    idx = sorted(t)
    m = len(idx)
    num = lambda v: math.nan if v is None else float(v)
    lr = {p: [math.log(r / m) for r in ranks([num(t[i].get(p)) for i in idx])] for p in POOL}
    truth = [acc[i] for i in idx]
    cands = []
    for ws in itertools.product(WEIGHTS, repeat=len(POOL)):
        if max(ws) != 1.0:
            continue
        rho = spearman([sum(w * lr[p][k] for p, w in zip(POOL, ws)) for k in range(m)], truth)
        if rho >= 0.93:
            cands.append((rho, "logrank:" + ",".join(p if w == 1.0 else f"{p}*{w:g}" for p, w in zip(POOL, ws) if w > 0)))

    def job(c):
        e, r = search(c[1], "evolution"), search(c[1], "random")
        return c[0], c[1], statistics.mean(e), min(e), statistics.mean(r), min(r)

    with ThreadPoolExecutor(2) as ex:
        res = sorted(ex.map(job, cands), key=lambda x: -(x[2] + x[4]))
    print(f"# CIFAR-10 only. {len(cands)} aggregates with rho >= 0.93 over {m} random cells; "
          f"{RUNS} runs each of evolution and random search, budget 1,000, seeds {SEED}-{SEED + RUNS - 1}")
    print("spearman_rho  evolution_mean_%  evolution_worst_%  random_mean_%  random_worst_%  fitness")
    for r in res:
        print(f"{r[0]:12.4f}  {r[2]:16.2f}  {r[3]:17.2f}  {r[4]:13.2f}  {r[5]:14.2f}  {r[1]}")


if __name__ == "__main__":
    main()
