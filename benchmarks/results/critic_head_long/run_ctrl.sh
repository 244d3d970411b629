#!/bin/bash
# session 23's control for critic_head_long: the paper's critic, same recipe, resumed from session 22's 1,000-step checkpoint, one wall hour on one core as the runs it controls, at most their 8,000 iterations
cd /work/main
export PYTHONPATH=/tmp/benchcode23:/tmp/benchcode23/benchmarks SPIKEGAN_RETINA_DIR=/work/shared/data/retina TF_CPP_MIN_LOG_LEVEL=2
out=benchmarks/results/critic_head_long/nohead_seed0
taskset -c 0 .venv/bin/python /tmp/benchcode23/benchmarks/retina_curve.py --model-set architecture=temporal --model-set latent_scales=5 --model-set temporal_layers=6 --train-bins 256 --set batch_size=16 --minutes 60 --max-steps 8000 --eval-every 1000 --seed 0 --out $out >> $out.log 2>&1
taskset -c 0 .venv/bin/python /tmp/benchcode23/benchmarks/raster_retina.py --curve $out --lags 10 --variants history --out-name raster_eval_history.json > $out.eval.log 2>&1
taskset -c 0 .venv/bin/python /tmp/benchcode23/benchmarks/raster_slow_variance.py --curve $out --factor 1 --lags 10 --out benchmarks/results/critic_head_long/slow_variance_nohead_seed0.json > $out.sv.log 2>&1
