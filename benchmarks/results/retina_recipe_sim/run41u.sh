#!/bin/bash
# usage: [CODE=snapshot] run41u.sh CORE SEED NAME: session 41. uniform's best generator
# (pw10_uniform_seed0: run37u.sh's f128 settings to 10,000 iterations, then run39.sh's late
# terms --set acg_variance_match=0.1 --set pair_match=10 to 12,000) trained again from scratch in
# one directory, retina_recipe_sim/NAME, because trained weights do not outlive a machine. Scoring
# (the same-bin coupling that can silence, for uniform's synchronous groups) is run separately.
core=$1; seed=$2; name=$3
cd /work/main
code=${CODE:-/tmp/benchcode41}
export PYTHONPATH=$code:$code/benchmarks TF_CPP_MIN_LOG_LEVEL=2
out=benchmarks/results/retina_recipe_sim/$name
train() {
  taskset -c $core .venv/bin/python $code/benchmarks/retina_curve.py --data /tmp/uniform.npz \
    --model-set architecture=temporal --model-set latent_scales=5 --model-set temporal_layers=4 \
    --model-set temporal_init=he --model-set critic_head_units=64 \
    --model-set temporal_features=128 --train-bins 256 --set batch_size=16 --minutes 170 \
    --eval-every 1000 --seed $seed --out $out --set count_match=100 --set variance_match=1 \
    --set variance_match_relative=true --set variance_match_scales=4 \
    --set variance_match_start=1000 --set acg_match=10 --set acg_match_start=1000 \
    --set ema_decay=0.999 "$@" >> $out.log 2>&1
}
train --max-steps 10000
train --max-steps 12000 --set acg_variance_match=0.1 --set pair_match=10
