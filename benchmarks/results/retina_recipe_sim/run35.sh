#!/bin/bash
# usage: run35.sh CORE SEED: run34.sh (packets, four He layers, late starts, continued from the
# 2,500-iteration screen to 10,000) with the autocorrelogram term at weight 30 instead of 10: does a
# heavier ACG term close the ~2x within-window autocorrelogram that session 34's runs left
cd "$(dirname "$0")"
CODE=${CODE:-/tmp/benchcode35} bash run31.sh $1 packets $2 he4late10k_acg30_packets_seed$2 10000 \
  packets_screen/he_4layers_late1k_seed$2 --model-set temporal_layers=4 --model-set temporal_init=he \
  --set count_match=100 --set variance_match=1 --set variance_match_relative=true \
  --set variance_match_scales=4 --set variance_match_start=1000 --set acg_match=30 \
  --set acg_match_start=1000 --set ema_decay=0.999
