#!/bin/bash
# usage: [CODE=snapshot] run_rescore40.sh DATASET STEPS RUN...: session 40. A run's generator
# scored again with the filter's Newton step (history_fit, acba394; the run's own files were
# scored with the plain step): single rasters (sample seeds 1-3, filter alone and both couplings;
# raster_eval_STEPS_newton.json) and the held-out-length pieces of one 5x raster
# (raster_pieces_STEPS_newton.json, raster_pieces_same_bin_STEPS_newton.json), as run39.sh.
ds=$1; steps=$2; shift 2
cd /work/main
code=${CODE:-/tmp/benchcode40n}
export PYTHONPATH=$code:$code/benchmarks TF_CPP_MIN_LOG_LEVEL=2
root=benchmarks/results/retina_recipe_sim
for name in "$@"; do
  out=$root/$name
  .venv/bin/python $code/benchmarks/raster_retina.py --data /tmp/$ds.npz --curve $out --lags 10 \
    --variants history,same_bin --out-name raster_eval_${steps}_newton.json \
    > $out.eval_${steps}_newton.log 2>&1
  for v in history same_bin; do
    tag=$([ $v = history ] && echo "" || echo "${v}_")
    .venv/bin/python $code/benchmarks/raster_pieces.py --data /tmp/$ds.npz --curve $out --long 5 \
      --variant $v --block-floor benchmarks/results/raster_floor/$ds.json \
      --out-name raster_pieces_$tag${steps}_newton.json > $out.pieces_$tag${steps}_newton.log 2>&1
  done
done
