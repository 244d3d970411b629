#!/bin/bash
# usage: [CODE=snapshot] run_long35.sh CORE DATASET RUN...: raster_retina.py --long 5 on each
# simulated-data RUN (filter alone and both couplings, sample seed 1 and one raster 5x as long:
# the model's expected ratios) into RUN/raster_eval_long5.json (session 35)
core=$1; ds=$2; shift 2
cd /work/main
code=${CODE:-/tmp/benchcode35}
export PYTHONPATH=$code:$code/benchmarks TF_CPP_MIN_LOG_LEVEL=2
for run in "$@"; do
  out=benchmarks/results/retina_recipe_sim/$run
  taskset -c $core .venv/bin/python $code/benchmarks/raster_retina.py --data /tmp/$ds.npz \
    --curve $out --lags 10 --variants history,same_bin --seeds 1 --long 5 \
    --out-name raster_eval_long5.json > $out.long5.log 2>&1
done
