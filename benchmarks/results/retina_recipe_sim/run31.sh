#!/bin/bash
# usage: [CODE=snapshot] [MINUTES=170] run31.sh CORE DATASET SEED NAME MAX_STEPS [SRC] [extra args]
# Session 31: run.sh's recipe (the retina's long-raster recipe) into results/retina_recipe_sim/NAME,
# continuing SRC's checkpoints and curve when SRC is given (not "-"), to MAX_STEPS, a point every
# 1,000 iterations; then the rasters (sample seeds 1-3, filter alone and both couplings).
core=$1; ds=$2; seed=$3; name=$4; steps=$5; src=$6; shift 6
cd /work/main
code=${CODE:-/tmp/benchcode31}
export PYTHONPATH=$code:$code/benchmarks TF_CPP_MIN_LOG_LEVEL=2
root=benchmarks/results/retina_recipe_sim
out=$root/$name
if [ "$src" != "-" ] && [ ! -d $out ]; then
  mkdir -p $out && cp -r $root/$src/checkpoints $root/$src/curve.json $root/$src/curve.jsonl $out/
fi
taskset -c $core .venv/bin/python $code/benchmarks/retina_curve.py --data /tmp/$ds.npz --model-set architecture=temporal --model-set latent_scales=5 --model-set temporal_layers=6 --model-set critic_head_units=64 --train-bins 256 --set batch_size=16 --minutes ${MINUTES:-170} --max-steps $steps --eval-every 1000 --seed $seed --out $out "$@" >> $out.log 2>&1
taskset -c $core .venv/bin/python $code/benchmarks/raster_retina.py --data /tmp/$ds.npz --curve $out --lags 10 --variants history,same_bin --out-name raster_eval.json > $out.eval.log 2>&1
