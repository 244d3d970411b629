#!/bin/bash
# usage: run34u.sh CORE SEED [MAX_STEPS]: uniform with run34.sh's settings (four He-initialised
# dilated layers, the count term from 0, variance and autocorrelogram terms from 1,000) from
# scratch, to MAX_STEPS (4,000) iterations, then rasters (run31.sh)
cd "$(dirname "$0")"
CODE=${CODE:-/tmp/benchcode34} bash run31.sh $1 uniform $2 he4late_uniform_seed$2 ${3:-4000} - \
  --model-set temporal_layers=4 --model-set temporal_init=he \
  --set count_match=100 --set variance_match=1 --set variance_match_relative=true \
  --set variance_match_scales=4 --set variance_match_start=1000 --set acg_match=10 \
  --set acg_match_start=1000 --set ema_decay=0.999
