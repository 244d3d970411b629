#!/bin/bash
# usage: run36u2.sh CORE: run36u.sh's f128 screen (uniform, 128 features per dilated layer)
# continued from its 2,000 iterations to 4,000, to compare with he4late_uniform_seed0 at 4,000
cd "$(dirname "$0")"
CODE=${CODE:-/tmp/benchcode36} bash run35u.sh $1 0 he4late_f128_uniform_seed0 4000 \
  --model-set temporal_features=128
