#!/bin/bash
# usage: run_weight26.sh CORE WEIGHT SEED: run_long26.sh's training (windows only, no rasters) at another count_match weight, --minutes 33
core=$1; w=$2; seed=$3
cd /work/main
export PYTHONPATH=/tmp/benchcode26:/tmp/benchcode26/benchmarks SPIKEGAN_RETINA_DIR=/work/shared/data/retina TF_CPP_MIN_LOG_LEVEL=2
out=benchmarks/results/critic_head_long/head64cm${w}_seed${seed}
taskset -c $core .venv/bin/python /tmp/benchcode26/benchmarks/retina_curve.py --model-set architecture=temporal --model-set latent_scales=5 --model-set temporal_layers=6 --train-bins 256 --set batch_size=16 --minutes 33 --max-steps 4000 --eval-every 1000 --seed $seed --out $out --model-set critic_head_units=64 --set count_match=$w >> $out.log 2>&1
