#!/bin/bash
# usage: [CODE=snapshot] run_eval25.sh CORE NAME SEED; the evaluation half of run_long25.sh (raster_retina, raster_slow_variance) for a run directory written by publish_checkpoint.py (session 25)
core=$1; name=$2; seed=$3
cd /work/main
export PYTHONPATH=${CODE:-/tmp/benchcode25}:${CODE:-/tmp/benchcode25}/benchmarks SPIKEGAN_RETINA_DIR=/work/shared/data/retina TF_CPP_MIN_LOG_LEVEL=2
out=benchmarks/results/critic_head_long/${name}_seed${seed}
taskset -c $core .venv/bin/python ${CODE:-/tmp/benchcode25}/benchmarks/raster_retina.py --curve $out --lags 10 --variants history --out-name raster_eval_history.json > $out.eval.log 2>&1
taskset -c $core .venv/bin/python ${CODE:-/tmp/benchcode25}/benchmarks/raster_slow_variance.py --curve $out --factor 1 --lags 10 --out benchmarks/results/critic_head_long/slow_variance_${name}_seed${seed}.json > $out.sv.log 2>&1
