#!/bin/bash
# usage: [CODE=snapshot] run_long26.sh CORE NAME SEED [extra args]; run_long24b.sh with session 26's code snapshot (count_match) as the default
core=$1; name=$2; seed=$3; shift 3
cd /work/main
export PYTHONPATH=${CODE:-/tmp/benchcode26}:${CODE:-/tmp/benchcode26}/benchmarks SPIKEGAN_RETINA_DIR=/work/shared/data/retina TF_CPP_MIN_LOG_LEVEL=2
out=benchmarks/results/critic_head_long/${name}_seed${seed}
taskset -c $core .venv/bin/python ${CODE:-/tmp/benchcode26}/benchmarks/retina_curve.py --model-set architecture=temporal --model-set latent_scales=5 --model-set temporal_layers=6 --train-bins 256 --set batch_size=16 --minutes ${MINUTES:-60} --max-steps 8000 --eval-every 1000 --seed $seed --out $out "$@" >> $out.log 2>&1
taskset -c $core .venv/bin/python ${CODE:-/tmp/benchcode26}/benchmarks/raster_retina.py --curve $out --lags 10 --variants history --out-name raster_eval_history.json > $out.eval.log 2>&1
taskset -c $core .venv/bin/python ${CODE:-/tmp/benchcode26}/benchmarks/raster_slow_variance.py --curve $out --factor 1 --lags 10 --out benchmarks/results/critic_head_long/slow_variance_${name}_seed${seed}.json > $out.sv.log 2>&1
