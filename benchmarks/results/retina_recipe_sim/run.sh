#!/bin/bash
# usage: [CODE=snapshot] [MINUTES=55] run.sh CORE DATASET SEED [extra args]
# The retina's long-raster recipe (sessions 22-26: temporal generator with 6 layers and 5 latent
# scales, 256-bin training windows, batch 16, critic head of 64 units) on a simulated raster:
# /tmp/DATASET.npz holds, under key `data`,
#   uniform: simulate.uniform(1, 16, 120000, seed=0).spikes[0].T
#   packets: simulate.packets(1, 32, 120000, seed=0).spikes[0].T
# as session 20's temporal_{uniform,packets}_long. Then rasters as long as the held-out split
# (sample seeds 1-3) with the filter alone and with both couplings, and the slow variance.
core=$1; ds=$2; seed=$3; shift 3
cd /work/main
code=${CODE:-/tmp/benchcode30}
export PYTHONPATH=$code:$code/benchmarks TF_CPP_MIN_LOG_LEVEL=2
out=benchmarks/results/retina_recipe_sim/${ds}_seed${seed}
taskset -c $core .venv/bin/python $code/benchmarks/retina_curve.py --data /tmp/$ds.npz --model-set architecture=temporal --model-set latent_scales=5 --model-set temporal_layers=6 --model-set critic_head_units=64 --train-bins 256 --set batch_size=16 --minutes ${MINUTES:-55} --max-steps 6000 --eval-every 1000 --seed $seed --out $out "$@" >> $out.log 2>&1
taskset -c $core .venv/bin/python $code/benchmarks/raster_retina.py --data /tmp/$ds.npz --curve $out --lags 10 --variants history,same_bin --out-name raster_eval.json > $out.eval.log 2>&1
taskset -c $core .venv/bin/python $code/benchmarks/raster_slow_variance.py --data /tmp/$ds.npz --curve $out --factor 1 --lags 10 --out benchmarks/results/retina_recipe_sim/slow_variance_${ds}_seed${seed}.json > $out.sv.log 2>&1
