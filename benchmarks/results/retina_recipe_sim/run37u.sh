#!/bin/bash
# usage: run37u.sh CORE SEED: the f128 uniform screen (128 features per dilated layer, run36u.sh)
# on training seed SEED to 10,000 iterations (resumes he4late_f128_uniform_seed0 from 4,000), then
# rasters with the filter and with both couplings (RASTERS=1): does width, given time, bring
# uniform's population counts near the floor in rasters too? (session 37)
cd "$(dirname "$0")"
CODE=${CODE:-/tmp/benchcode36} RASTERS=1 bash run35u.sh $1 $2 he4late_f128_uniform_seed$2 10000 \
  --model-set temporal_features=128
