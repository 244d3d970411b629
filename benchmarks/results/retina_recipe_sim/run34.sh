#!/bin/bash
# usage: run34.sh CORE SEED: packets, four He-initialised dilated layers, the count term from 0, the
# variance and autocorrelogram terms from 1,000 (session 33's screen he_4layers_late1k_seed*,
# continued from its 2,500) to 10,000 iterations, then rasters (run31.sh)
cd "$(dirname "$0")"
CODE=${CODE:-/tmp/benchcode34} bash run31.sh $1 packets $2 he4late10k_packets_seed$2 10000 \
  packets_screen/he_4layers_late1k_seed$2 --model-set temporal_layers=4 --model-set temporal_init=he \
  --set count_match=100 --set variance_match=1 --set variance_match_relative=true \
  --set variance_match_scales=4 --set variance_match_start=1000 --set acg_match=10 \
  --set acg_match_start=1000 --set ema_decay=0.999
