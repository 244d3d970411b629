"""Train Spike-GAN on your own recording (.mat / .npy / .npz) and draw synthetic spikes.

Usage::

    python examples/train_on_recording.py --data my_recording.mat --key data --bins 32 \\
        --steps 20000 --out runs/my_recording
    python examples/train_on_recording.py --data $SPIKEGAN_RETINA_DIR/original_data_num_neurons_50_1.mat \\
        --key data --bins 32 --minutes 5 --out runs/retina_try

The file holds a binary raster ``(time_bins, neurons)`` (use ``--neurons-first``
if it is stored ``(neurons, time_bins)``) or windows ``(samples, neurons,
bins)``. The script trains (Ctrl-C stops cleanly after saving a checkpoint;
run it again with ``--resume`` to continue), then draws windows with the
trained generator, which is an ordinary Keras model.
"""

from __future__ import annotations

import argparse

import keras
import numpy as np

from spikegan_tf import SpikeGAN
from spikegan_tf.data import load_spikes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help=".mat/.npy/.npz spike file")
    parser.add_argument("--key", default=None, help="array name inside a .mat/.npz file")
    parser.add_argument("--neurons-first", action="store_true",
                        help="the raster is stored (neurons, time_bins)")
    parser.add_argument("--bins", type=int, default=32, help="bins per window (32)")
    parser.add_argument("--steps", type=int, default=20000, help="generator steps (20000)")
    parser.add_argument("--minutes", type=float, default=None, help="or a time budget")
    parser.add_argument("--out", default="runs/my_recording", help="run directory")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    parser.add_argument("--n-samples", type=int, default=1000, help="windows to draw (1000)")
    args = parser.parse_args()

    # 1. load: validated uint8 spikes, a raster (time_bins, neurons) or windows
    recording = load_spikes(args.data, key=args.key, neurons_first=args.neurons_first)
    print(f"loaded {recording.kind} {recording.spikes.shape} from {args.data}")

    # 2. train: the paper's model and WGAN-GP settings; a raster is windowed on the fly and
    #    its last 10 % held out (in time) for validation
    gan = SpikeGAN(n_neurons=recording.n_neurons, n_bins=args.bins)
    gan.fit(recording, steps=None if args.minutes else args.steps, minutes=args.minutes,
            seed=0, run_dir=args.out, resume=args.resume)
    result = gan.result_
    print(f"trained to step {result.step} ({result.stopped}); validation: {result.validation}")

    # 3. sample: Bernoulli draws from the generator's firing probabilities
    samples = gan.sample(args.n_samples, seed=0)
    np.save(f"{args.out}/samples.npy", samples)
    print(f"{len(samples)} windows {samples.shape[1:]} -> {args.out}/samples.npy; "
          f"mean firing probability {samples.mean():.4f} "
          f"(data: {recording.spikes.mean():.4f})")

    # 4. the generator is a plain Keras model: z (n, 128) -> probabilities (n, neurons, bins)
    generator = keras.models.load_model(f"{args.out}/generator.keras", safe_mode=True)
    z = np.random.default_rng(1).standard_normal((4, generator.input_shape[-1])).astype("float32")
    print("probabilities of 4 windows:", generator.predict(z, verbose=0).shape)


if __name__ == "__main__":
    main()
