#!/usr/bin/env bash
# The main job on real data: builds zsnas (release) and runs an aging-evolution search
# with zsnas's default ranker (`rank` = logrank of jacob_cov, params_live and meco, its
# best 5 % re-ordered by zen_nas) on
# NAS-Bench-201, scoring every architecture on a batch of 64 real CIFAR-10 training images
# (embedded), and prints the architecture found with its NAS-Bench-201 accuracy. Extra arguments go to
# `zsnas search` (e.g. --budget 300 --runs 3; the default budget is 150).
source "$(dirname "$0")/env.sh"
cd "$ZSNAS_ROOT"
cargo build --release --quiet
budget=(--budget 150)
for a in "$@"; do
  case "$a" in --budget|--budget=*) budget=() ;; esac
done
exec ./target/release/zsnas search --space nb201 --strategy evolution "${budget[@]}" "$@"
