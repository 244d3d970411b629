#!/bin/bash
# usage: uniform_cm.sh SEED WEIGHT: session 26's count_match on `uniform` (session 20's recipe, 4,000 iterations)
# /tmp/uniform.npz: np.savez(path, data=simulate.uniform(1, 16, 120000, seed=0).spikes[0].T), as session 20's temporal_uniform_long
seed=$1; w=$2
cd /work/main
export PYTHONPATH=/tmp/benchcode26:/tmp/benchcode26/benchmarks TF_CPP_MIN_LOG_LEVEL=2
out=benchmarks/results/temporal_uniform_cm/cm${w}_seed${seed}
mkdir -p benchmarks/results/temporal_uniform_cm
.venv/bin/python /tmp/benchcode26/benchmarks/retina_curve.py --data /tmp/uniform.npz --num-features 32 --model-set architecture=temporal --model-set latent_scales=5 --max-steps 4000 --minutes 60 --eval-every 2000 --seed $seed --set count_match=$w --out $out > $out.log 2>&1
.venv/bin/python /tmp/benchcode26/benchmarks/raster_retina.py --data /tmp/uniform.npz --curve $out --variants history > $out.eval.log 2>&1
