#!/bin/bash
# usage: run_16k40.sh CORE SEED...: session 40. The retina recipe beyond 12,000 iterations: each
# seed's avspw10_seedS (the recipe, weight for weight) continued from its 12,000-iteration
# checkpoint to 16,000 with the same late terms, then its 5x raster's pieces
# (raster_pieces_16000.json) and single rasters (sample seeds 1-3, raster_eval_history_16000.json),
# as run_cont37.sh does. Ran as CODE=<snapshot of 4dba007> for training; its history_fit.py was
# replaced by acba394's (the Newton tap step) before the scoring began, so the 16,000 files are
# scored with the Newton fit (the 12,000 files with the plain one; fit_newton_avspw10_seed*.json
# scores one 5x raster at 16,000 both ways).
core=$1; shift
cd "$(dirname "$0")"
for s in "$@"; do
  CODE=${CODE:-/tmp/benchcode40} bash run_cont37.sh $core $s avspw10 16000 \
    --set acg_variance_match=0.1 --set pair_match=10
done
