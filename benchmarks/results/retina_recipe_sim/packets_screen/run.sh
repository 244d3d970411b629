#!/bin/bash
# usage: run.sh CORE NAME SEED [extra]: session 32's packets screen, 1,500 iterations, a point every
# 500, no raster evaluation: the long-raster recipe's model (run31.sh's command) with extra args
core=$1; name=$2; seed=$3; shift 3
cd /work/main
code=${CODE:-/tmp/benchcode32}
export PYTHONPATH=$code:$code/benchmarks TF_CPP_MIN_LOG_LEVEL=2
out=benchmarks/results/retina_recipe_sim/packets_screen/$name
taskset -c $core .venv/bin/python $code/benchmarks/retina_curve.py --data /tmp/packets.npz --model-set architecture=temporal --model-set latent_scales=5 --model-set temporal_layers=6 --model-set critic_head_units=64 --train-bins 256 --set batch_size=16 --minutes 60 --max-steps 1500 --eval-every 500 --seed $seed --out $out "$@" >> $out.log 2>&1
