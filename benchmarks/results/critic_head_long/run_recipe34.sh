#!/bin/bash
# usage: run_recipe34.sh CORE SEED: the retina with `--recipe raster`'s training settings as ONE run
# (count and variance terms from 0, the autocorrelogram term and the weight average from 7,000 by
# the late starts) on the recipe's model, 9,000 iterations, then rasters and slow variance; the
# chain of sessions 30-31 (head64cm100vrs4acg10ema9k_seed*) without continuations
cd "$(dirname "$0")"
CODE=${CODE:-/tmp/benchcode34} MINUTES=170 bash run_long26.sh $1 recipe9k $2 --recipe raster \
  --model-set critic_head_units=64 --max-steps 9000
