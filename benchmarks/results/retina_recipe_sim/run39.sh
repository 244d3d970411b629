#!/bin/bash
# usage: [CODE=snapshot] run39.sh CORE DATASET SEED SRC NAME STEPS [extra args]: session 39. The
# best simulated-data runs continued from SRC's latest checkpoint to STEPS with the extra settings
# (e.g. the raster recipe's late terms: --set acg_variance_match=0.1 --set pair_match=10), into
# retina_recipe_sim/NAME; no extra settings is the control (the same iterations without them).
# Then single rasters (sample seeds 1-3; filter alone and both couplings; raster_eval_STEPS.json),
# one raster 5x as long (raster_eval_long5_STEPS.json) and its held-out-length pieces
# (raster_pieces_STEPS.json filter alone, raster_pieces_same_bin_STEPS.json both couplings).
# DATASET packets: run35.sh's settings (he4late10k_acg30_packets_seedS); uniform: run37u.sh's
# (he4late_f128_uniform_seed0). Does pair_match close packets' covariance bias (1.5-1.9x with
# the filter alone) as it did the retina's?
core=$1; ds=$2; seed=$3; src=$4; name=$5; steps=$6; shift 6
cd /work/main
code=${CODE:-/tmp/benchcode39}
export PYTHONPATH=$code:$code/benchmarks TF_CPP_MIN_LOG_LEVEL=2
root=benchmarks/results/retina_recipe_sim
out=$root/$name
if [ ! -d $out ]; then
  mkdir -p $out && cp -r $root/$src/checkpoints $root/$src/curve.json $root/$src/curve.jsonl $out/
fi
if [ $ds = packets ]; then
  base="--set acg_match=30"
else
  base="--set acg_match=10 --model-set temporal_features=128"
fi
run() { taskset -c $core .venv/bin/python "$@"; }
run $code/benchmarks/retina_curve.py --data /tmp/$ds.npz --model-set architecture=temporal \
  --model-set latent_scales=5 --model-set temporal_layers=4 --model-set temporal_init=he \
  --model-set critic_head_units=64 --train-bins 256 --set batch_size=16 --minutes 170 \
  --max-steps $steps --eval-every 1000 --seed $seed --out $out --set count_match=100 \
  --set variance_match=1 --set variance_match_relative=true --set variance_match_scales=4 \
  --set variance_match_start=1000 --set acg_match_start=1000 --set ema_decay=0.999 $base \
  "$@" >> $out.log 2>&1
run $code/benchmarks/raster_retina.py --data /tmp/$ds.npz --curve $out --lags 10 \
  --variants history,same_bin --out-name raster_eval_$steps.json > $out.eval_$steps.log 2>&1
run $code/benchmarks/raster_retina.py --data /tmp/$ds.npz --curve $out --lags 10 \
  --variants history,same_bin --seeds 1 --long 5 --out-name raster_eval_long5_$steps.json \
  > $out.long5_$steps.log 2>&1
for v in history same_bin; do
  tag=$([ $v = history ] && echo "" || echo "${v}_")
  run $code/benchmarks/raster_pieces.py --data /tmp/$ds.npz --curve $out --long 5 --variant $v \
    --block-floor benchmarks/results/raster_floor/$ds.json \
    --out-name raster_pieces_$tag$steps.json > $out.pieces_$tag$steps.log 2>&1
done
# Then: is packets' autocorrelogram miss the filter's fit noise too (as the retina's seed 3)?
#   CODE=<snapshot of 17d195c> raster_fit_settings.py --data /tmp/packets.npz --curve
#   retina_recipe_sim/pw10_packets_seed1 --long 5 --settings '{}' '{"seed": 1}' '{"seed": 2}'
#   '{"n_chains": 256}' '{"n_chains": 256, "seed": 1}' '{"n_chains": 256, "seed": 2}'
#   --out retina_recipe_sim/fit_seeds_pw10_packets_seed1.json  ({} is 1,024 stretches there)
