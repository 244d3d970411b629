#!/bin/bash
# usage: run_pieces36.sh CORE DATASET RUN...: benchmarks/raster_pieces.py on each simulated-data
# RUN with both couplings (variant same_bin), 5 pieces, real blocks' range from
# raster_floor/DATASET.json (session 36)
core=$1; ds=$2; shift 2
cd /work/main
code=${CODE:-/work/main}
export PYTHONPATH=$code:$code/benchmarks TF_CPP_MIN_LOG_LEVEL=2
for run in "$@"; do
  out=benchmarks/results/retina_recipe_sim/$run
  taskset -c $core .venv/bin/python $code/benchmarks/raster_pieces.py --data /tmp/$ds.npz \
    --curve $out --long 5 --variant same_bin \
    --block-floor benchmarks/results/raster_floor/$ds.json > $out.pieces.log 2>&1
done
