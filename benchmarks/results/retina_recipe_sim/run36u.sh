#!/bin/bash
# usage: run36u.sh CORE VARIANT: session 36's uniform screens, run35u.sh's settings (four He
# layers, count term from 0, variance and autocorrelogram terms from 1,000) on training seed 0,
# 4,000 iterations (f128: 2,000), one change each, against he4late_uniform_seed0 (the same
# settings) at 1,000-4,000: VARIANT cm0 -- no count term (session 20 saw uniform's covariances
# go from 6.1 to 17.8x with it); f128 -- 128 features per dilated layer instead of 64 (per-bin
# group events need sharp logits shared by a group's neurons)
cd "$(dirname "$0")"
case $2 in
  cm0) CODE=${CODE:-/tmp/benchcode36} bash run35u.sh $1 0 he4late_cm0_uniform_seed0 4000 \
         --set count_match=0 ;;
  f128) CODE=${CODE:-/tmp/benchcode36} bash run35u.sh $1 0 he4late_f128_uniform_seed0 2000 \
         --model-set temporal_features=128 ;;
  *) echo "unknown variant $2" >&2; exit 2 ;;
esac
