#!/usr/bin/env python3
"""Builds assets/nb201.csv.gz, the embedded NAS-Bench-201 ground truth of all three data sets.

Joins the CIFAR-10 table and the CIFAR-100 / ImageNet16-120 table of the shared data folder
(see ../shared/data/README.md) row by row: both must list the same 15,625 architectures in
the same index order with the same arch_str, which is checked for every row (the script
stops at the first mismatch). Values are copied as text, unchanged. Output: gzip -9, with no
file name or time stamp in the gzip header, so that rebuilding gives identical bytes.

Usage (from the repository root, standard library only):
    python3 scripts/build_nb201_table.py [../shared/data/nb201] [assets/nb201.csv.gz]
"""
import csv
import gzip
import io
import sys

src = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/nb201"
out = sys.argv[2] if len(sys.argv) > 2 else "assets/nb201.csv.gz"

with open(f"{src}/nb201_cifar10.csv", newline="") as f:
    c10 = list(csv.reader(f))
with open(f"{src}/nb201_cifar100_imagenet16.csv", newline="") as f:
    other = list(csv.reader(f))

h10, ho = c10[0], other[0]
assert h10[:2] == ["index", "arch_str"] and ho[:2] == ["index", "arch_str"], (h10, ho)
assert len(c10) == len(other) == 15_626, (len(c10), len(other))
header = h10 + ho[2:]
assert len(set(header)) == len(header), header
buf = io.StringIO()
w = csv.writer(buf, lineterminator="\n")
w.writerow(header)
for k, (a, b) in enumerate(zip(c10[1:], other[1:])):
    if a[0] != str(k) or b[0] != str(k) or a[1] != b[1]:
        sys.exit(f"row {k}: CIFAR-10 ({a[0]}, {a[1]}) and CIFAR-100/ImageNet16 ({b[0]}, {b[1]}) disagree")
    assert len(a) == len(h10) and len(b) == len(ho), k
    w.writerow(a + b[2:])
data = buf.getvalue().encode()
with open(out, "wb") as f:
    f.write(gzip.compress(data, compresslevel=9, mtime=0))
print(f"{out}: {len(c10) - 1} rows, columns {', '.join(header)}; {len(data)} bytes of CSV")
