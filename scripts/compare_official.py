"""Side-by-side timing of zsnas `wrcor` against the official WRCor code on one machine
(issue 15; docs/performance.md, "Comparing with the official WRCor code").

zsnas does not ship the official code: point OFFICIAL at your own checkout of
github.com/kunjing96/ZSNAS-WRCor (the golden values come from commit 270ce7a) and run
this file with a Python that has torch, numpy and safetensors. scripts/compare_official.sh
drives it; the modes are:

  compare_official.py check              official score of golden cells a, b, f, h with
                                         the golden weights (proves the checkout and the
                                         environment reproduce ../shared/golden/nb201)
  compare_official.py time CELLS OUT     one round: each cell of CELLS (first line = warm-up,
                                         not written) built with torch.manual_seed(0), then a
                                         bare forward + loss.backward() of a copy (timed: the
                                         PyTorch anchor), then the official
                                         act_grad_cor_weighted timed as its find_measures times
                                         it (its deep copy and garbage collection included,
                                         the network build not); one JSON line per cell to OUT
  compare_official.py analyze DIR        (standard library only) per-cell medians over the
                                         rounds of DIR/official_*.jsonl and DIR/zsnas_*.jsonl,
                                         their ratio, and the median ratio over the cells

Environment: OFFICIAL (checkout path), GOLDEN (default ../shared/golden/nb201 from the
repository root), THREADS (torch.set_num_threads, default 2).
"""
import glob
import json
import os
import statistics
import sys
import time

ALL_CONV = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
GOLDEN = os.environ.get("GOLDEN", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "golden", "nb201"))


def official():
    """The official modules, imported from the checkout named by OFFICIAL."""
    path = os.environ.get("OFFICIAL")
    if not path or not os.path.isdir(os.path.join(path, "foresight")):
        sys.exit("compare_official.py: OFFICIAL must name a checkout of ZSNAS-WRCor (a folder with foresight/)")
    sys.path.insert(0, path)
    import warnings

    warnings.filterwarnings("ignore")  # register_backward_hook is deprecated in torch 2
    try:
        import torch
        import torch.nn.functional as F
        from foresight.models import NASBench201Network, Structure
        from foresight.pruners import measures
    except ImportError as e:
        sys.exit(f"compare_official.py: this Python cannot import the official code ({e}); it needs torch, numpy, safetensors")

    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    return torch, F, NASBench201Network, Structure, measures


def build(mods, arch):
    """NASBench201Network(16, 5, genotype, 10) after torch.manual_seed(0), training mode, with
    the deep-copy method the official measures call (find_measures attaches the same)."""
    import copy
    import types

    torch, _, net_cls, structure, _ = mods
    torch.manual_seed(0)
    net = net_cls(16, 5, structure.str2structure(arch), 10, True)
    net.train()
    # bn=True for act_grad_cor_weighted: a plain deep copy.
    net.get_prunable_copy = types.MethodType(lambda self, bn=True: copy.deepcopy(self), net)
    return net


def inputs(torch):
    from safetensors.torch import load_file

    path = os.path.join(GOLDEN, "inputs.safetensors")
    if not os.path.isfile(path):
        sys.exit(f"compare_official.py: GOLDEN: no inputs.safetensors in '{GOLDEN}'")
    t = load_file(path)
    return t["images"], t["labels"]


def measure(mods, net, x, y):
    torch, F, _, _, measures = mods
    torch.manual_seed(0)
    return measures.calc_measure("act_grad_cor_weighted", net, "cpu", x, y, loss_fn=F.cross_entropy, split_data=1)


def check():
    mods = official()
    torch = mods[0]
    from safetensors.torch import load_file

    x, y = inputs(torch)
    exp = json.load(open(os.path.join(GOLDEN, "expected.json")))
    worst = 0.0
    for k in ["a", "b", "f", "h"]:
        a = exp["archs"][k]
        net = build(mods, a["arch_str"])
        net.load_state_dict(load_file(os.path.join(GOLDEN, a["weights_file"])))
        v = float(measure(mods, net, x, y))
        want = a["scores"]["act_grad_cor_weighted"]
        worst = max(worst, abs(v - want))
        print(f"{k}: official {v:.10f}  golden {want:.10f}  |diff| {abs(v - want):.1e}")
    if worst > 1e-3:
        sys.exit(f"compare_official.py: the checkout does not reproduce the golden values (|diff| {worst:.1e} > 1e-3)")


def time_round(cells_file, out_file):
    mods = official()
    torch, F = mods[0], mods[1]
    import copy

    cells = [line.strip() for line in open(cells_file) if line.strip()]
    x, y = inputs(torch)
    measure(mods, build(mods, cells[0]), x, y)  # warm-up (first-call costs), not written
    with open(out_file, "w") as out:
        for arch in cells[1:]:
            net = build(mods, arch)
            bare_net = copy.deepcopy(net)
            t = time.perf_counter()
            F.cross_entropy(bare_net(x), y).backward()
            bare = time.perf_counter() - t
            del bare_net
            t = time.perf_counter()
            v = measure(mods, net, x, y)
            seconds = time.perf_counter() - t
            out.write(json.dumps({"arch": arch, "official": float(v), "seconds": seconds, "bare": bare}) + "\n")
            out.flush()


def analyze(d):
    off, bare, zs = {}, {}, {}
    for f in sorted(glob.glob(os.path.join(d, "official_*.jsonl"))):
        for line in open(f):
            j = json.loads(line)
            off.setdefault(j["arch"], []).append(j["seconds"])
            bare.setdefault(j["arch"], []).append(j["bare"])
    for f in sorted(glob.glob(os.path.join(d, "zsnas_*.jsonl"))):
        for i, line in enumerate(open(f)):
            if i == 0:
                continue  # zsnas's warm-up cell
            j = json.loads(line)
            zs.setdefault(j["arch"], []).append(j["seconds"]["wrcor"])
    med = statistics.median
    rounds = len(glob.glob(os.path.join(d, "official_*.jsonl")))
    print(f"{rounds} alternating rounds; medians per cell (seconds); official = act_grad_cor_weighted with its deep copy;")
    print("zsnas = `score` seconds of wrcor (pass + correlations); bare = PyTorch forward + loss.backward() of the same network")
    print(f"{'cell':92s} {'official':>8s} {'zsnas':>7s} {'ratio':>6s} {'bare':>6s} {'off/bare':>8s} {'zs/bare':>7s}")
    ratios = []
    for a in off:
        o, z, b = med(off[a]), med(zs[a]), med(bare[a])
        print(f"{a:92s} {o:8.3f} {z:7.3f} {o / z:6.2f} {b:6.3f} {o / b:8.2f} {z / b:7.2f}")
        if a != ALL_CONV:
            ratios.append(o / z)
    sampled = [a for a in off if a != ALL_CONV]
    print(f"sampled cells: {len(ratios)}; median per-cell ratio official/zsnas {med(ratios):.2f} (min {min(ratios):.2f}, max {max(ratios):.2f})")
    print(f"median seconds per sampled cell: official {med([med(off[a]) for a in sampled]):.3f}, zsnas {med([med(zs[a]) for a in sampled]):.3f}")
    if ALL_CONV in off:
        o, z, b = med(off[ALL_CONV]), med(zs[ALL_CONV]), med(bare[ALL_CONV])
        print(f"all nor_conv_3x3 cell: ratio {o / z:.2f}; zsnas {z / b:.2f} and official {o / b:.2f} PyTorch bare passes")


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "check" and len(sys.argv) == 2:
        check()
    elif mode == "time" and len(sys.argv) == 4:
        time_round(sys.argv[2], sys.argv[3])
    elif mode == "analyze" and len(sys.argv) == 3:
        analyze(sys.argv[2])
    else:
        sys.exit("usage: compare_official.py check | time CELLS OUT | analyze DIR")
