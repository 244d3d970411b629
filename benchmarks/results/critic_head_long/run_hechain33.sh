#!/bin/bash
# usage: run_hechain33.sh CORE SEED: the chain of session 30-31 (count and variance terms from the
# start, the autocorrelogram term and the weight average from 7,000) with He-initialised dilated
# layers: hechain7k (retina_curve only) then hechain9k (+acg_match 10, ema 0.999; rasters)
core=$1; seed=$2
cd /work/main
export PYTHONPATH=/tmp/benchcode33:/tmp/benchcode33/benchmarks SPIKEGAN_RETINA_DIR=/work/shared/data/retina TF_CPP_MIN_LOG_LEVEL=2
base="--model-set critic_head_units=64 --model-set temporal_init=he --set count_match=100 --set variance_match=1 --set variance_match_relative=true --set variance_match_scales=4"
r=benchmarks/results/critic_head_long
out=$r/hechain7k_seed$seed
taskset -c $core .venv/bin/python /tmp/benchcode33/benchmarks/retina_curve.py --model-set architecture=temporal --model-set latent_scales=5 --model-set temporal_layers=6 --train-bins 256 --set batch_size=16 --minutes 170 --max-steps 7000 --eval-every 1000 --seed $seed --out $out $base >> $out.log 2>&1
d=$r/hechain9k_seed$seed
[ -d $d ] || { mkdir -p $d && cp -r $out/checkpoints $out/curve.json $out/curve.jsonl $d/; }
cd $r && CODE=/tmp/benchcode33 MINUTES=170 bash run_long26.sh $core hechain9k $seed $base --set acg_match=10 --set ema_decay=0.999 --max-steps 9000
