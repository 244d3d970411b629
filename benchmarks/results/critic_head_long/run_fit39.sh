#!/bin/bash
# usage: run_fit39.sh CORE SEED...: session 39. Is the retina rasters' autocorrelogram error the
# spike-history filter's fit noise? benchmarks/raster_fit_settings.py on avspw10_seedS (the raster
# recipe's 12,000-iteration generators): the filter solved with fit seeds 0, 1, 2 on 256
# stretches (the default) and on 1,024, each scored as one raster 5x the held-out split (sample
# seed 1; the fit with seed 0 and 256 stretches is raster_pieces_12000.json's "whole").
core=$1; shift
cd /work/main
code=${CODE:-/tmp/benchcode39}
export PYTHONPATH=$code:$code/benchmarks SPIKEGAN_RETINA_DIR=/work/shared/data/retina TF_CPP_MIN_LOG_LEVEL=2
base=benchmarks/results/critic_head_long
for seed in "$@"; do
  taskset -c $core .venv/bin/python $code/benchmarks/raster_fit_settings.py \
    --curve $base/avspw10_seed$seed --long 5 --settings '{}' '{"seed": 1}' '{"seed": 2}' \
    '{"n_chains": 1024}' '{"n_chains": 1024, "seed": 1}' '{"n_chains": 1024, "seed": 2}' \
    --out $base/fit_seeds_avspw10_seed$seed.json > $base/fit_seeds_avspw10_seed$seed.log 2>&1
done
# Then, for seed 3 (whose fits scatter most), is it the fit's convergence? The same with
# --settings '{"iterations": 75}' '{"iterations": 75, "seed": 1}' '{"iterations": 75, "seed": 2}'
# --out fit_iterations_avspw10_seed3.json (no: the same ratios as 25 iterations).
