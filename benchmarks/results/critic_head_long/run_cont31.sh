#!/bin/bash
# usage: run_cont31.sh CORE SEED FROM TO MAX_STEPS [extra args]: continue FROM_seedSEED's latest
# checkpoint into TO_seedSEED up to MAX_STEPS with run_long26.sh (then the rasters), with the
# head-64, count-matched, four-scale variance recipe and the weight average; extra args add to it
core=$1; seed=$2; from=$3; to=$4; steps=$5; shift 5
cd /work/main/benchmarks/results/critic_head_long
recipe="--model-set critic_head_units=64 --set count_match=100 --set variance_match=1 --set variance_match_relative=true --set variance_match_scales=4 --set ema_decay=0.999"
d=${to}_seed${seed}
[ -d $d ] || { mkdir -p $d && cp -r ${from}_seed${seed}/checkpoints ${from}_seed${seed}/curve.json ${from}_seed${seed}/curve.jsonl $d/; }
CODE=${CODE:-/tmp/benchcode31b} MINUTES=170 bash run_long26.sh "$core" $to $seed $recipe "$@" --max-steps $steps
