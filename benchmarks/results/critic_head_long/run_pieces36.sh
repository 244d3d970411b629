#!/bin/bash
# usage: [CODE=snapshot] run_pieces36.sh CORE RUN...: benchmarks/raster_pieces.py on each retina
# RUN (filter alone, 5 pieces, real blocks' range from raster_floor/retina.json): how far the
# pieces of the expected raster spread, against real blocks (session 36)
core=$1; shift
cd /work/main
code=${CODE:-/work/main}
export PYTHONPATH=$code:$code/benchmarks SPIKEGAN_RETINA_DIR=/work/shared/data/retina TF_CPP_MIN_LOG_LEVEL=2
for run in "$@"; do
  out=benchmarks/results/critic_head_long/$run
  taskset -c $core .venv/bin/python $code/benchmarks/raster_pieces.py --curve $out --long 5 \
    --block-floor benchmarks/results/raster_floor/retina.json > $out.pieces.log 2>&1
done
