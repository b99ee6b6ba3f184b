#!/bin/bash
# Device checks for issue 15 item 4: --device cuda end to end at HEAD, and timings.
set -u
T0=$(date +%s); t() { echo "[t=$(( $(date +%s) - T0 ))s] $*"; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
TORCH=$(python3 -c "import torch,os;print(os.path.dirname(torch.__file__))")
python3 -c "import torch;print('device torch', torch.__version__, torch.version.cuda, torch.backends.cudnn.version())"
export LD_LIBRARY_PATH=$TORCH/lib:${LD_LIBRARY_PATH:-}
B=.gpu/zsnas; chmod +x $B
$B --version
t probe
$B score --device cuda --sample 1 --seed 0 --proxies wrcor || exit 1
t "20 seeded cells (compare with the CPU)"
$B score --device cuda --sample 20 --seed 0 --proxies wrcor,jacob_cov,params_live,meco,rank --output $OUT/score20_cuda.jsonl 2>&1 | tail -1
t bench
$B bench --device cuda --proxies wrcor,rank --sample 10 --repeats 3 --format json > $OUT/bench.json; echo "bench rc $?"
t "search: evolution, rank, budget 1000"
( time $B search --device cuda --strategy evolution --budget 1000 --seed 0 ) > $OUT/search_evolution_1000.txt 2>&1; echo "search rc $?"; tail -4 $OUT/search_evolution_1000.txt
t "train 2 epochs"
$B train --device cuda --space nb201 --arch "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|" --data .gpu/train_1000.bin --test-data .gpu/test_500.bin --epochs 2 --output /tmp/train > $OUT/train.txt 2>&1; echo "train rc $?"; tail -3 $OUT/train.txt; cp /tmp/train/log.jsonl $OUT/train_log.jsonl 2>/dev/null
t "whole space, wrcor (timeout ${WHOLE:-270} s)"
S=$(date +%s.%N)
timeout ${WHOLE:-270} $B score --device cuda --all --proxies wrcor --output /tmp/all_wrcor.jsonl 2>&1 | tr '\r' '\n' | tail -2
E=$(date +%s.%N)
echo "whole-space: $(wc -l < /tmp/all_wrcor.jsonl) lines in $(python3 -c "print(round($E-$S,1))") s"
gzip -c /tmp/all_wrcor.jsonl > $OUT/all_wrcor.jsonl.gz
t done
