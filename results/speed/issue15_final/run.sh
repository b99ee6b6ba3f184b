#!/bin/bash
# Issue 15 final before/after: OLD = 54bd441 (issue filed), NEW = main HEAD. Same machine, same run, alternating.
set -u
cd /work/main
source scripts/env.sh >/dev/null 2>&1
set +e
OLD=/tmp/wt_old/target/release/zsnas
NEW=/work/main/target/release/zsnas
O=/tmp/meas/out; mkdir -p $O
CELLS=results/speed/official_same_machine/cells.txt
GOLD=../shared/golden/nb201/inputs.safetensors
T4K=../shared/data/cifar10/train_4000.bin
log() { echo "$(date -u +%H:%M:%S) $*" >> $O/log.txt; }
log "start; load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in 1 2 3; do
  rm -f $O/cells_old_$r.jsonl $O/cells_new_$r.jsonl
  $OLD --threads 2 score --archs-file $CELLS --proxies wrcor --data $GOLD --output $O/cells_old_$r.jsonl 2>/dev/null
  $NEW --threads 2 score --archs-file $CELLS --proxies wrcor --data $GOLD --output $O/cells_new_$r.jsonl 2>/dev/null
  log "cells round $r done"
done
for r in 1 2 3; do
  $OLD --threads 2 bench --proxies wrcor --sample 10 --repeats 3 > $O/bench_old_$r.txt 2>&1
  $NEW --threads 2 bench --proxies wrcor --sample 10 --repeats 3 > $O/bench_new_$r.txt 2>&1
  log "bench round $r done"
done
rm -f $O/s1000_old.jsonl $O/s1000_new.jsonl
/usr/bin/time -f "%e s wall" -o $O/s1000_old.time $OLD --threads 2 score --sample 1000 --seed 0 --data $T4K --batch-size 64 --proxies wrcor --output $O/s1000_old.jsonl 2>/dev/null
log "s1000 old done"
/usr/bin/time -f "%e s wall" -o $O/s1000_new.time $NEW score --sample 1000 --seed 0 --data $T4K --batch-size 64 --proxies wrcor --jobs 2 --output $O/s1000_new.jsonl 2>/dev/null
log "s1000 new done"
$NEW --threads 1 bench --proxies wrcor,jacob_cov,synflow --sample 5 --repeats 3 > $O/perfdoc_bench.txt 2>&1
log "perfdoc bench done"
mkdir -p $O/cost
$NEW proxies --help >/dev/null 2>&1
for p in wrcor rcor acor gcor wrcor_official naswot naswot_paper jacob_cov synflow log_synflow grad_norm snip grasp fisher plain l2_norm zen zen_nas params flops params_live flops_live az_expressivity az_progressivity az_trainability az_complexity meco zico swap; do echo $p; done | \
  xargs -P 2 -I{} sh -c "$NEW --threads 1 bench --data $T4K --proxies {} --sample 6 --repeats 1 --format json > $O/cost/{}.json 2>$O/cost/{}.err"
log "costs done"
if [ "${WHOLE:-0}" = 1 ]; then
  rm -f $O/wrcor_all.jsonl
  /usr/bin/time -f "%e s wall" -o $O/whole.time $NEW score --all --jobs 2 --proxies wrcor --data $T4K --batch-size 64 --output $O/wrcor_all.jsonl 2>/dev/null
  log "whole space done: $(cat $O/whole.time)"
fi
log end
