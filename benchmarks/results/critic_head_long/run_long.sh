#!/bin/bash
# usage: run_long.sh CORE NAME SEED [extra args]; session 22's hand-over run for session 23
core=$1; name=$2; seed=$3; shift 3
cd /work/main
export PYTHONPATH=/tmp/benchcode22c:/tmp/benchcode22c/benchmarks SPIKEGAN_RETINA_DIR=/work/shared/data/retina TF_CPP_MIN_LOG_LEVEL=2
out=benchmarks/results/critic_head_long/${name}_seed${seed}
taskset -c $core .venv/bin/python /tmp/benchcode22c/benchmarks/retina_curve.py --model-set architecture=temporal --model-set latent_scales=5 --model-set temporal_layers=6 --train-bins 256 --set batch_size=16 --cpu-minutes 240 --eval-every 1000 --seed $seed --out $out "$@" > $out.log 2>&1
taskset -c $core .venv/bin/python /tmp/benchcode22c/benchmarks/raster_retina.py --curve $out --lags 10 --variants history --out-name raster_eval_history.json > $out.eval.log 2>&1
taskset -c $core .venv/bin/python /tmp/benchcode22c/benchmarks/raster_slow_variance.py --curve $out --factor 1 --lags 10 --out benchmarks/results/critic_head_long/slow_variance_${name}_seed${seed}.json > $out.sv.log 2>&1
