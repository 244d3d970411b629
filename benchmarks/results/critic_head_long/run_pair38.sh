#!/bin/bash
# Session 38: what this session ran (one core each; run_cont37.sh with CODE=a snapshot of the
# commit named). The covariance bias of the raster recipe's retina rasters: pair_match.
#   control seed 1 on to 12,000 (no new term; snapshot of 48bc229):
#     SINGLE=0 run_cont37.sh 1 1 ctrl 12000
#   both couplings on the 12,000-iteration acg_variance_match generators' pieces:
#     run_pieces37.sh 0 same_bin_12000 avs01_seed0 avs01_seed1 -- --variant same_bin
#   acg_variance_match seed 3 on to 12,000: SINGLE=0 run_cont37.sh 0 3 avs01 12000 \
#     --set acg_variance_match=0.1
#   pair_match, first version (one scale for every pair; 554e267), 9,000 -> 10,000:
#     SINGLE=0 run_cont37.sh CORE SEED avsp10 10000 --set acg_variance_match=0.1 \
#       --set pair_match=10                               (seeds 0, 1, 3)
#     SINGLE=0 run_cont37.sh 1 0 avsp100 10000 --set acg_variance_match=0.1 --set pair_match=100
#   pair_match weighted by each pair's Poisson variance (ea82303), 9,000 -> 10,000 -> 12,000,
#   single rasters at each (raster_eval_history_STEPS.json):
#     run_cont37.sh CORE SEED avspw10 10000 --set acg_variance_match=0.1 --set pair_match=10
#     run_cont37.sh CORE SEED avspw10 12000 --set acg_variance_match=0.1 --set pair_match=10
#   acg_variance_match at weight 1 with pair_match (seed 0 only; stopped there, no better):
#     run_cont37.sh 0 0 avs1pw10 10000 --set acg_variance_match=1 --set pair_match=10
#   single rasters of the controls at 12,000 (avs01: acg_variance_match alone), s = 0, 1, 3:
#     raster_retina.py --curve avs01_seedS --lags 10 --variants history \
#       --out-name raster_eval_history_12000.json
#   the retina's pairs: python benchmarks/pair_structure.py --out .../pair_structure.json
#   the table (pieces: contract (a'); singles: contract (b)):
#     python benchmarks/pieces_summary.py --root benchmarks/results/critic_head_long \
#       --runs "ctrl_seed*,avs01_seed*,avsp10_seed*,avsp100_seed*,avspw10_seed*,avs1pw10_seed*" \
#       --singles "raster_eval_history_1*.json" \
#       --block-floor benchmarks/results/raster_floor/retina.json --out .../pieces_pair_match.json
set -e
echo "a record of the commands above; run them one by one" >&2
