"""Query a spikegan SavedModel served by TensorFlow Serving over REST.

Needs only numpy and the standard library on the client::

    spikegan export --run runs/retina --format savedmodel --out models --name retina
    docker run -p 8501:8501 -v "$PWD/models/retina:/models/retina" \\
        -e MODEL_NAME=retina tensorflow/serving
    python examples/tf_serving_request.py --model retina --seed 7 -n 4
    python examples/tf_serving_request.py --dry-run -n 1    # print the request bodies only

Two signatures:

* ``serving_default``, row format (``instances``): the client draws ``z`` and
  ``u`` with the package's sampling protocol, so the spikes equal
  ``spikegan_tf.gan.sampling.sample(generator, n, seed)``;
* ``sample``, columnar format (``inputs``): the server draws with TensorFlow's
  stateless RNG from ``seed`` (reproducible, but not the numpy protocol).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request

import numpy as np


def protocol_draws(n: int, latent_dim: int, n_neurons: int, n_bins: int, seed: int):
    """The sampling protocol of spikegan_tf.gan.sampling (numpy only)."""
    z_ss, u_ss = np.random.SeedSequence(seed).spawn(2)
    z = np.random.default_rng(z_ss).standard_normal((n, latent_dim), dtype=np.float32)
    u = np.random.default_rng(u_ss).random((n, n_neurons, n_bins), dtype=np.float32)
    return z, u


def serving_default_body(z: np.ndarray, u: np.ndarray) -> dict:
    """Row format: one instance per window, each naming its inputs."""
    return {"signature_name": "serving_default",
            "instances": [{"z": zi.tolist(), "u": ui.tolist()} for zi, ui in zip(z, u, strict=True)]}


def sample_body(n: int, seed: int) -> dict:
    """Columnar format: named scalar inputs."""
    return {"signature_name": "sample", "inputs": {"num_samples": n, "seed": seed}}


def post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)


def shapes_from_server(base: str) -> tuple[int, int, int]:
    """(latent_dim, n_neurons, n_bins) from TF Serving's model metadata endpoint."""
    with urllib.request.urlopen(f"{base}/metadata", timeout=30) as resp:
        meta = json.load(resp)
    inputs = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"]
    z_dims = [int(d["size"]) for d in inputs["z"]["tensor_shape"]["dim"]]
    u_dims = [int(d["size"]) for d in inputs["u"]["tensor_shape"]["dim"]]
    return z_dims[1], u_dims[1], u_dims[2]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="TF Serving REST requests for a spikegan model.")
    ap.add_argument("--url", default="http://localhost:8501")
    ap.add_argument("--model", default="retina", help="TF Serving model name")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("-n", type=int, default=4, help="windows to request")
    ap.add_argument("--shape", type=int, nargs=3, default=None,
                    metavar=("LATENT", "NEURONS", "BINS"),
                    help="skip the metadata request (default in --dry-run: 128 50 32)")
    ap.add_argument("--dry-run", action="store_true", help="print the request bodies only")
    args = ap.parse_args(argv)
    try:
        return _requests(args)
    except urllib.error.HTTPError as exc:  # the server answered with an error
        detail = " ".join(exc.read().decode(errors="replace").split())[:300]
        print(f"{ap.prog}: error: TF Serving at {args.url} answered {exc.code} {exc.reason}"
              f"{': ' + detail if detail else ''}", file=sys.stderr)
    except (urllib.error.URLError, OSError) as exc:  # no server, wrong host or port
        reason = getattr(exc, "reason", exc)
        print(f"{ap.prog}: error: cannot reach TF Serving at {args.url} ({reason}); start it "
              "(see the docker command at the top of this file) or pass --url", file=sys.stderr)
    except (KeyError, ValueError) as exc:  # not the answer of a spikegan model
        print(f"{ap.prog}: error: unexpected answer from {args.url} for model "
              f"'{args.model}': {exc!r}", file=sys.stderr)
    return 2


def _requests(args: argparse.Namespace) -> int:
    base = f"{args.url}/v1/models/{args.model}"
    shape = args.shape or ((128, 50, 32) if args.dry_run else shapes_from_server(base))
    z, u = protocol_draws(args.n, *shape, seed=args.seed)
    bodies = {"serving_default": serving_default_body(z, u),
              "sample": sample_body(args.n, args.seed)}
    if args.dry_run:
        for name, body in bodies.items():
            text = json.dumps(body)
            print(f"POST {base}:predict  ({name}, {len(text)} bytes)")
            print(text if len(text) < 400 else text[:300] + " ...")
        return 0
    rows = post(f"{base}:predict", bodies["serving_default"])["predictions"]
    spikes = np.array([r["spikes"] for r in rows], dtype=np.uint8)
    print(f"serving_default: spikes {spikes.shape}, mean rate {spikes.mean():.3f} "
          f"(= spikegan_tf.gan.sampling.sample(generator, {args.n}, seed={args.seed}))")
    cols = post(f"{base}:predict", bodies["sample"])["outputs"]
    spikes = np.array(cols["spikes"], dtype=np.uint8)
    print(f"sample: spikes {spikes.shape}, mean rate {spikes.mean():.3f} (server-side "
          f"stateless draws, seed {args.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
