#!/bin/bash
# usage: run_chain30.sh CORE SEED: continue head64cm100vrs4to7k to 8,000 then 9,000 iterations (weight 1, four scales), evaluating each
# (session 30 stopped it after the 8,000-iteration evaluation, for the weight-average runs of run_ema30.sh)
core=$1; seed=$2
cd /work/main/benchmarks/results/critic_head_long
extra="--model-set critic_head_units=64 --set count_match=100 --set variance_match=1 --set variance_match_relative=true --set variance_match_scales=4"
prev=head64cm100vrs4to7k
for k in 8 9; do
  name=head64cm100vrs4to${k}k
  d=${name}_seed${seed}
  mkdir -p $d && cp -r ${prev}_seed${seed}/checkpoints ${prev}_seed${seed}/curve.json ${prev}_seed${seed}/curve.jsonl $d/
  CODE=/tmp/benchcode29 MINUTES=170 bash run_long26.sh "$core" $name $seed $extra --max-steps ${k}000
  prev=$name
done
