#!/bin/bash
# usage: [CODE=snapshot] [RASTERS=1] run35u.sh CORE SEED NAME MAX_STEPS [extra args]: uniform with
# run34u.sh's settings (four He layers, count term from 0, variance and autocorrelogram terms from
# 1,000) from scratch, plus the extra args (e.g. --model-set latent_scales=1), into
# retina_recipe_sim/NAME; a window-level screen (the curve's point every 1,000 iterations) unless
# RASTERS=1, which adds run31.sh's rasters. Session 35: does uniform's generator lack fresh latent
# noise per bin (8 channels, 5 scales: two channels white per bin, four groups to draw)?
core=$1; seed=$2; name=$3; steps=$4; shift 4
cd /work/main
code=${CODE:-/tmp/benchcode35}
export PYTHONPATH=$code:$code/benchmarks TF_CPP_MIN_LOG_LEVEL=2
out=benchmarks/results/retina_recipe_sim/$name
taskset -c $core .venv/bin/python $code/benchmarks/retina_curve.py --data /tmp/uniform.npz \
  --model-set architecture=temporal --model-set latent_scales=5 --model-set temporal_layers=4 \
  --model-set temporal_init=he --model-set critic_head_units=64 --train-bins 256 \
  --set batch_size=16 --minutes ${MINUTES:-170} --max-steps $steps --eval-every 1000 --seed $seed \
  --out $out --set count_match=100 --set variance_match=1 --set variance_match_relative=true \
  --set variance_match_scales=4 --set variance_match_start=1000 --set acg_match=10 \
  --set acg_match_start=1000 --set ema_decay=0.999 "$@" >> $out.log 2>&1
if [ "${RASTERS:-0}" = 1 ]; then
  taskset -c $core .venv/bin/python $code/benchmarks/raster_retina.py --data /tmp/uniform.npz \
    --curve $out --lags 10 --variants history,same_bin --out-name raster_eval.json > $out.eval.log 2>&1
fi
