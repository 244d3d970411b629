#!/bin/bash
# usage: [CODE=snapshot] run_pieces37.sh CORE NAME RUN... -- ARGS: benchmarks/raster_pieces.py on
# each retina RUN with ARGS (e.g. --variant rates, --lags 3) into RUN/raster_pieces_NAME.json:
# where the pieces' stretch-to-stretch autocorrelogram scatter comes from (session 37)
core=$1; name=$2; shift 2
runs=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do runs+=("$1"); shift; done
shift
cd /work/main
code=${CODE:-/work/main}
export PYTHONPATH=$code:$code/benchmarks SPIKEGAN_RETINA_DIR=/work/shared/data/retina TF_CPP_MIN_LOG_LEVEL=2
for run in "${runs[@]}"; do
  out=benchmarks/results/critic_head_long/$run
  taskset -c $core .venv/bin/python $code/benchmarks/raster_pieces.py --curve $out --long 5 \
    --block-floor benchmarks/results/raster_floor/retina.json --out-name raster_pieces_$name.json \
    "$@" > $out.pieces_$name.log 2>&1
done
