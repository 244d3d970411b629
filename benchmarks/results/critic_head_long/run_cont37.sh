#!/bin/bash
# usage: [CODE=snapshot] run_cont37.sh CORE SEED NAME STEPS [extra retina_curve args]: the retina
# recipe's one run recipe9k_seedSEED continued from its 9,000-iteration checkpoint to STEPS with
# the extra settings (e.g. --set acg_variance_match=1), into NAME_seedSEED, then its expected
# raster's pieces (raster_pieces.py, filter alone) and single rasters (raster_retina.py, sample
# seeds 1-3, filter alone). Session 37: does matching the windows' burstiness spread
# (acg_variance_match) narrow the pieces' autocorrelogram scatter? A NAME without extra
# settings is the control (the same iterations without the term). Rerun with a larger STEPS to
# go on; each STEPS writes its own raster_pieces_STEPS.json and raster_eval_history_STEPS.json.
core=$1; seed=$2; name=$3; steps=$4; shift 4
cd /work/main
code=${CODE:-/tmp/benchcode37}
export PYTHONPATH=$code:$code/benchmarks SPIKEGAN_RETINA_DIR=/work/shared/data/retina TF_CPP_MIN_LOG_LEVEL=2
base=benchmarks/results/critic_head_long
src=$base/recipe9k_seed$seed
out=$base/${name}_seed$seed
if [ ! -d $out ]; then
  mkdir -p $out/checkpoints
  cp $src/curve.json $src/curve.jsonl $out/
  cp $src/checkpoints/ckpt-9000.* $out/checkpoints/
  printf 'model_checkpoint_path: "ckpt-9000"\nall_model_checkpoint_paths: "ckpt-9000"\n' \
    > $out/checkpoints/checkpoint
fi
taskset -c $core .venv/bin/python $code/benchmarks/retina_curve.py --recipe raster \
  --model-set critic_head_units=64 --model-set architecture=temporal --model-set latent_scales=5 \
  --model-set temporal_layers=6 --train-bins 256 --set batch_size=16 --minutes ${MINUTES:-170} \
  --max-steps $steps --eval-every 1000 --seed $seed --out $out "$@" >> $out.log 2>&1
taskset -c $core .venv/bin/python $code/benchmarks/raster_pieces.py --curve $out --long 5 \
  --block-floor $base/../raster_floor/retina.json --out-name raster_pieces_$steps.json \
  > $out.pieces_$steps.log 2>&1
if [ "${SINGLE:-1}" = 1 ]; then
  taskset -c $core .venv/bin/python $code/benchmarks/raster_retina.py --curve $out --lags 10 \
    --variants history --out-name raster_eval_history_$steps.json > $out.eval_$steps.log 2>&1
fi
