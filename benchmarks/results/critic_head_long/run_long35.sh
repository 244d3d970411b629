#!/bin/bash
# usage: [CODE=snapshot] run_long35.sh CORE RUN...: each retina RUN's published generator with
# the filter (variant history), one raster per sample seed 1 plus one 5x as long
# (raster_retina.py --long 5): the model's expected ratios, apart from one raster's sampling
# noise; into RUN/raster_eval_history_long5.json (session 35)
core=$1; shift
cd /work/main
code=${CODE:-/tmp/benchcode35}
export PYTHONPATH=$code:$code/benchmarks SPIKEGAN_RETINA_DIR=/work/shared/data/retina TF_CPP_MIN_LOG_LEVEL=2
for run in "$@"; do
  out=benchmarks/results/critic_head_long/$run
  taskset -c $core .venv/bin/python $code/benchmarks/raster_retina.py --curve $out --lags 10 \
    --variants history --seeds 1 --long 5 --out-name raster_eval_history_long5.json \
    > $out.long5.log 2>&1
done
