#!/usr/bin/env python3
"""Development check of two-stage default rankers (issue 18), CIFAR-10 only.

A two-stage aggregate `logrank:jacob_cov,params_live,meco,topP%,<second stage>` keeps the
best P % of the architectures by the first stage (the single-stage default, rho 0.941) and
orders them by the second stage (src/proxy/aggregate.rs). Each candidate is the fitness of
40 aging-evolution and 40 random-search runs at budget 1,000 with development seeds 5-44
(the reported table uses seeds 0-4), every cell looked up in the whole-space scores
(results/ranker/nb201_all_rank.jsonl.gz, scripts/score_space.sh; the search's own scoring
setup), and is scored by `zsnas correlate` over the shipped 1,000 random cells. Prints
rho and the mean, worst and share of runs below 93.3 % of the CIFAR-10 test accuracy of
the cells the runs return.

    cargo build --release
    python3 scripts/dev_two_stage.py > results/search/rank/dev_two_stage.txt

Standard library only. About 5 minutes on 2 cores.
"""
import json, os, statistics, subprocess
from concurrent.futures import ThreadPoolExecutor

from dev_frontier import FILES_1000, ROOT
from dev_search_grid import Z, search  # the same search runs as the single-stage grid

FIRST = "logrank:jacob_cov,params_live,meco"
SECOND = ["zen_nas", "meco", "synflow", "zen_nas,params_live", "zen_nas,params_live*0.5", "meco,zen_nas*0.25"]
PERCENTS = [1, 2, 5, 10]
SEED, RUNS = 5, 40


def rho(fitness):
    out = subprocess.run([Z, "correlate", "--scores", *[os.path.join(ROOT, f) for f in FILES_1000],
                          "--proxies", fitness, "--format", "json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.splitlines()[0])["spearman"]


def main():
    cands = [FIRST] + [f"{FIRST},top{p}%,{s}" for s in SECOND for p in PERCENTS]

    def job(c):
        e, r = search(c, "evolution", SEED, RUNS), search(c, "random", SEED, RUNS)
        low = lambda xs: sum(x < 93.3 for x in xs) / len(xs)
        return [rho(c), statistics.mean(e), min(e), low(e), statistics.mean(r), min(r), low(r)], c

    cols = ["spearman_rho", "evo_mean_%", "evo_worst_%", "evo_below_93.3", "rand_mean_%", "rand_worst_%",
            "rand_below_93.3"]
    with ThreadPoolExecutor(2) as ex:
        res = list(ex.map(job, cands))
    print(f"# CIFAR-10 only. {len(cands)} fitnesses; {RUNS} runs each of aging evolution and random search, "
          f"budget 1,000, seeds {SEED}-{SEED + RUNS - 1}; rho over the shipped 1,000 random cells")
    print("  ".join(cols + ["fitness"]))
    for values, fitness in res:
        cells = [f"{v:{len(c)}.{4 if c == cols[0] else 2}f}" for c, v in zip(cols, values)]
        print("  ".join(cells + [fitness]))


if __name__ == "__main__":
    main()
