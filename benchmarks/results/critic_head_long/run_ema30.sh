#!/bin/bash
# usage: run_ema30.sh CORE SEED: continue head64cm100vrs4to7k (ckpt-7000) to 8,000 then 9,000
# iterations with the generator's weight average (ema_decay=0.999, started at the restored
# weights), evaluating each; paired with head64cm100vrs4to8k (the same 7,000 -> 8,000 without it)
core=$1; seed=$2
cd /work/main/benchmarks/results/critic_head_long
extra="--model-set critic_head_units=64 --set count_match=100 --set variance_match=1 --set variance_match_relative=true --set variance_match_scales=4 --set ema_decay=0.999"
prev=head64cm100vrs4to7k
for k in 8 9; do
  name=head64cm100vrs4ema${k}k
  d=${name}_seed${seed}
  mkdir -p $d && cp -r ${prev}_seed${seed}/checkpoints ${prev}_seed${seed}/curve.json ${prev}_seed${seed}/curve.jsonl $d/
  CODE=/tmp/benchcode30b MINUTES=170 bash run_long26.sh "$core" $name $seed $extra --max-steps ${k}000
  prev=$name
done
