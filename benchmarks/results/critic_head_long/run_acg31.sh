#!/bin/bash
# usage: run_acg31.sh CORE SEED WEIGHT...: continue head64cm100vrs4to7k (ckpt-7000) to 8,000
# iterations with the weight average (as head64cm100vrs4ema8k) and the autocorrelogram term
# (acg_match=WEIGHT, lags 1-64), then the rasters; one run per WEIGHT, in turn
core=$1; seed=$2; shift 2
cd /work/main/benchmarks/results/critic_head_long
extra="--model-set critic_head_units=64 --set count_match=100 --set variance_match=1 --set variance_match_relative=true --set variance_match_scales=4 --set ema_decay=0.999"
for w in "$@"; do
  name=head64cm100vrs4acg${w}ema8k
  d=${name}_seed${seed}
  [ -d $d ] || { mkdir -p $d && cp -r head64cm100vrs4to7k_seed${seed}/checkpoints head64cm100vrs4to7k_seed${seed}/curve.json head64cm100vrs4to7k_seed${seed}/curve.jsonl $d/; }
  CODE=/tmp/benchcode31b MINUTES=170 bash run_long26.sh "$core" $name $seed $extra --set acg_match=$w --max-steps 8000
done
