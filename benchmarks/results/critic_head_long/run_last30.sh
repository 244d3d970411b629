#!/bin/bash
# usage: run_last30.sh: the last iterates of head64cm100vrs4ema9k_seed* (the average's own
# trajectory) published at 9,000 and their rasters evaluated as the average's were, one at a time
cd /work/main
export PYTHONPATH=/tmp/benchcode30c:/tmp/benchcode30c/benchmarks SPIKEGAN_RETINA_DIR=/work/shared/data/retina TF_CPP_MIN_LOG_LEVEL=2
R=benchmarks/results/critic_head_long
for seed in 0 1 2; do
  out=$R/head64cm100vrs4ema9klast_seed$seed
  .venv/bin/python /tmp/benchcode30c/benchmarks/publish_checkpoint.py --curve $R/head64cm100vrs4ema9k_seed$seed --step 9000 --last-iterate --out $out > $out.publish.log 2>&1
  .venv/bin/python /tmp/benchcode30c/benchmarks/raster_retina.py --curve $out --lags 10 --variants history --out-name raster_eval_history.json > $out.eval.log 2>&1
done
