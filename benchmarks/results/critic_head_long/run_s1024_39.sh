#!/bin/bash
# usage: run_s1024_39.sh CORE SEED...: session 39. The raster recipe's 12,000-iteration
# generators (avspw10_seedS) scored again with the filter fitted on 1,024 stretches
# (history_fit.stretch_count, the new default for populations up to ~52 neurons; 256 before):
# pieces (raster_pieces_12000_s1024.json) and single rasters, sample seeds 1-3
# (raster_eval_history_12000_s1024.json), as run_cont37.sh scored them at 12,000 on 256.
core=$1; shift
cd /work/main
code=${CODE:-/tmp/benchcode39b}
export PYTHONPATH=$code:$code/benchmarks SPIKEGAN_RETINA_DIR=/work/shared/data/retina TF_CPP_MIN_LOG_LEVEL=2
base=benchmarks/results/critic_head_long
for seed in "$@"; do
  out=$base/avspw10_seed$seed
  taskset -c $core .venv/bin/python $code/benchmarks/raster_pieces.py --curve $out --long 5 \
    --block-floor $base/../raster_floor/retina.json --out-name raster_pieces_12000_s1024.json \
    > $out.pieces_12000_s1024.log 2>&1
  taskset -c $core .venv/bin/python $code/benchmarks/raster_retina.py --curve $out --lags 10 \
    --variants history --out-name raster_eval_history_12000_s1024.json \
    > $out.eval_12000_s1024.log 2>&1
done
