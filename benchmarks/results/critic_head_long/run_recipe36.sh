#!/bin/bash
# usage: run_recipe36.sh CORE SEED: run_recipe34.sh (the retina recipe as one run, 9,000
# iterations, rasters, slow variance) then run_long35.sh (the expected raster, 5x the held-out
# length) on the same core; session 36 re-trains seeds 0-2, whose generators are on no machine
cd "$(dirname "$0")"
export CODE=${CODE:-/tmp/benchcode36}
bash run_recipe34.sh $1 $2
bash run_long35.sh $1 recipe9k_seed$2
