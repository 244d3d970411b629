"""Metadata that travels with every exported model (TF-free).

One JSON object describes an export: window shape, latent dimension, bin
width when the training data had one, the spike layout, the sampling protocol,
the training-data summary from the run's ``config.json`` and the package
version. It is stored

* in a SavedModel as the asset ``assets/spikegan_metadata.json``;
* in an ONNX file as ``metadata_props`` (key ``spikegan`` holds the JSON, and
  the main fields have their own keys for tools such as Netron);
* beside every export as ``export.json`` (with the parity measured).
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping
from typing import Any

from spikegan_tf._version import __version__
from spikegan_tf.errors import RunDirError
from spikegan_tf.gan.history import encode_coupling

__all__ = [
    "SCHEMA",
    "METADATA_KEY",
    "ASSET_NAME",
    "LAYOUT",
    "SAMPLING_PROTOCOL",
    "build_metadata",
    "to_onnx_props",
    "from_onnx_props",
]

SCHEMA = "spikegan_tf.export/1"
METADATA_KEY = "spikegan"
ASSET_NAME = "spikegan_metadata.json"
LAYOUT = "(batch, n_neurons, n_bins)"
SAMPLING_PROTOCOL = (
    "z_rng, u_rng = (numpy.random.default_rng(s) for s in "
    "numpy.random.SeedSequence(seed).spawn(2)); "
    "z = z_rng.standard_normal((n, latent_dim), dtype=float32); "
    "u = u_rng.random((n, n_neurons, n_bins), dtype=float32); "
    "spikes = uint8(u < probs)"
)
HISTORY_RULE = (
    "for t in 0..n_bins-1: drive = sum over l = min(lags, t) down to 1 of filter[n][l-1] * "
    "spikes[t-l], added in that order; q = probs[t] where drive == 0, else 1 / (1 + exp(-(log(probs[t]) - "
    "log(1 - probs[t]) + drive))); spikes[t] = uint8(u[t] < q)  (float32)"
)
COUPLING_RULE = (
    "with a coupling (n_neurons x n_neurons, row-major: coupling[n][j] is the effect of "
    "neuron j's spike at t-1 on neuron n at t; stored as base64 of little-endian int16 "
    "multiples of 2**-10): drive[n] at t >= 1 also gets "
    "sum_j coupling[n][j] * spikes[t-1][j], added after the filter's terms (every coupling "
    "entry is a multiple of 2**-10, so this sum is exact in float32 in any order). A coupling "
    "of 2 x n_neurons x n_neurons entries holds a same-bin coupling first (strictly lower "
    "triangular), then the lag-1 one: the neurons of a bin are drawn in index order, neuron n's "
    "drive then also getting sum_{j<n} same_bin[n][j] * spikes[t][j] (exact), added last"
)
_FLAT_KEYS = ("n_neurons", "n_bins", "latent_dim", "bin_width", "layout", "package_version")


def build_metadata(run_config: Mapping[str, Any], *, source: str | None = None,
                   graph: str = "keras", history: Any = None,
                   coupling: Any = None) -> dict[str, Any]:
    """Return the metadata dict of an export from a run's ``config.json`` content.

    Parameters
    ----------
    run_config : mapping
        Parsed ``config.json``: ``model`` (a ``ModelConfig`` dict) and optional
        ``data`` (``bin_width``, firing-probability summary, source...) and
        ``train`` sections.
    source : str, optional
        The run directory the model came from.
    history : numpy.ndarray, optional
        The generator's spike-history filter ``(n_neurons, lags)``
        (:mod:`spikegan_tf.gan.history`): recorded with the rule that draws the
        spikes from it, for users of ``probs``.
    coupling : numpy.ndarray, optional
        The generator's lag-1 coupling between neurons ``(n_neurons, n_neurons)``,
        recorded in the same section with its rule.
    graph : {"keras", "polyphase"}
        How the exported graph expresses the generator.

    Examples
    --------
    >>> meta = build_metadata({"model": {"n_neurons": 3, "n_bins": 8, "latent_dim": 16},
    ...                        "data": {"bin_width": 0.02}})
    >>> meta["n_neurons"], meta["bin_width"], meta["layout"]
    (3, 0.02, '(batch, n_neurons, n_bins)')
    """
    model = dict(run_config["model"])
    data = dict(run_config.get("data") or {})
    bin_width = data.get("bin_width")
    inputs = {
        "z": "float32 (batch, latent_dim) standard-normal draws",
        "u": f"float32 {LAYOUT} uniform [0, 1) draws",
    }
    conditions = None
    if model.get("n_classes") or model.get("n_covariates"):
        classes = (data.get("conditions") or {}).get("classes")
        conditions = {"classes": classes, "n_covariates": int(model.get("n_covariates") or 0)}
        if model.get("n_classes"):
            inputs["label"] = ("float32 (batch, n_classes) one-hot label: column i is "
                               "conditions.classes[i]")
        if model.get("n_covariates"):
            inputs["covariates"] = "float32 (batch, n_bins, n_covariates) covariates per bin"
    spikes = f"uint8 {LAYOUT} spikes, u < probs"
    extra: dict[str, Any] = {}
    if history is not None:
        spikes = f"uint8 {LAYOUT} spikes, drawn bin after bin with spike_history"
        extra["spike_history"] = {"lags": int(history.shape[1]), "rule": HISTORY_RULE,
                                  "filter": [[float(v) for v in row] for row in history]}
        if coupling is not None:
            extra["spike_history"]["coupling_rule"] = COUPLING_RULE
            extra["spike_history"]["coupling"] = encode_coupling(coupling)
    return {
        "schema": SCHEMA,
        "package": "spikegan_tf",
        "package_version": __version__,
        "n_neurons": int(model["n_neurons"]),
        "n_bins": int(model["n_bins"]),
        "latent_dim": int(model.get("latent_dim", 128)),
        "bin_width": None if bin_width is None else float(bin_width),
        "layout": LAYOUT,
        "inputs": inputs,
        "conditions": conditions,
        "outputs": {
            "probs": f"float32 {LAYOUT} firing probabilities",
            "spikes": spikes,
        },
        **extra,
        "sampling_protocol": SAMPLING_PROTOCOL,
        "graph": graph,
        "model": model,
        "training_data": data,
        "train": dict(run_config.get("train") or {}),
        "source_run": source,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def to_onnx_props(metadata: Mapping[str, Any]) -> dict[str, str]:
    """Return ONNX ``metadata_props`` (string to string) for ``metadata``.

    Examples
    --------
    >>> props = to_onnx_props({"n_neurons": 3, "n_bins": 8, "bin_width": None})
    >>> props["n_neurons"], props["bin_width"], from_onnx_props(props)["n_bins"]
    ('3', 'unknown', 8)
    """
    props = {METADATA_KEY: json.dumps(metadata, sort_keys=True, default=str)}
    for key in _FLAT_KEYS:
        if key in metadata:
            value = metadata[key]
            props[key] = "unknown" if value is None else str(value)
    return props


def from_onnx_props(props: Mapping[str, str], *, source: str | None = None) -> dict[str, Any]:
    """Parse the metadata written by :func:`to_onnx_props` (e.g. onnxruntime's
    ``get_modelmeta().custom_metadata_map``).

    Raises
    ------
    RunDirError
        If the ``spikegan`` key is missing or is not a JSON object.
    """
    where = f" '{source}'" if source else ""
    text = props.get(METADATA_KEY)
    if text is None:
        raise RunDirError(
            f"The ONNX file{where} has no '{METADATA_KEY}' metadata property: it was not "
            "written by `spikegan export` (found keys: "
            f"{sorted(props) or 'none'})."
        )
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RunDirError(f"The '{METADATA_KEY}' metadata of{where} is not valid JSON: {exc}.") \
            from None
    if not isinstance(meta, dict):
        raise RunDirError(f"The '{METADATA_KEY}' metadata of{where} is not a JSON object.")
    return meta
