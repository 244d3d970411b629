"""Export a training run in one or more formats, atomically, with measured parity.

Everything goes to TF Serving's layout ``<out>/<name>/<version>/``::

    <out>/<name>/<version>/
        saved_model.pb, variables/, assets/spikegan_metadata.json   (savedmodel)
        model.onnx                                                  (onnx)
        model-float16.onnx, model-int8.onnx                         (onnx, precision=...)
        model.tflite                                                (tflite)
        export.json        metadata + files + the parity measured

TF Serving pointed at ``<out>/<name>`` serves the highest integer version and
ignores the extra files. The version is built in a hidden temporary directory
beside the target (``<out>/<name>/.tmp-<version>-*``), every format is
reloaded and compared with the Keras generator, and only then is the directory
renamed into place: a failed or interrupted export leaves nothing behind, and
an existing version is replaced only with ``overwrite=True``.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spikegan_tf.errors import ConfigError, RunDirError
from spikegan_tf.gan.rundir import GENERATOR_FILE, RunDir
from spikegan_tf.validation import check_positive_int, check_seed

from .metadata import build_metadata
from .parity import Parity
from .precision import FILES as PRECISION_FILES
from .precision import StatisticalParity, parse_precisions

__all__ = ["FORMATS", "FILES", "MANIFEST", "ExportResult", "parse_formats", "export_run"]

FORMATS = ("savedmodel", "onnx", "tflite")
FILES = {"onnx": "model.onnx", "tflite": "model.tflite"}
MANIFEST = "export.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_run` wrote."""

    path: Path
    name: str
    version: int
    files: dict[str, Path]
    parity: dict[str, Parity]
    metadata: dict[str, Any] = field(repr=False)
    statistical: dict[str, StatisticalParity] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """Human-readable report: files written and parity measured."""
        out = [f"wrote {self.path}{os.sep}"]
        for fmt, path in self.files.items():
            what = "(signatures serving_default, sample)" if fmt == "savedmodel" else \
                f"({path.stat().st_size / 1e6:.2f} MB)"
            out.append(f"  {fmt:<12} {path}{os.sep if path.is_dir() else ''} {what}")
        out.append(f"  {'metadata':<12} {self.path / MANIFEST}")
        any_parity = next(iter(self.parity.values()), None)
        if any_parity is not None:
            out.append(f"parity with the Keras generator on {any_parity.n_windows} windows:")
            out += [f"  {p.summary()}" for p in self.parity.values()]
        if self.statistical:
            n = next(iter(self.statistical.values())).n_windows
            out.append(f"statistical parity with the float32 ONNX model on {n} windows "
                       "(error / noise floor of the training data):")
            out += [f"  {p.summary()}" for p in self.statistical.values()]
        return out


def parse_formats(formats: str | Sequence[str]) -> tuple[str, ...]:
    """Return the requested formats in canonical order, rejecting unknown ones.

    Examples
    --------
    >>> parse_formats("onnx,savedmodel")
    ('savedmodel', 'onnx')
    >>> parse_formats("onnx,pb")
    Traceback (most recent call last):
    ...
    spikegan_tf.errors.ConfigError: Unknown export format 'pb'. Choose from savedmodel, onnx, tflite (comma-separated).
    """
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    items = [str(f).strip().lower() for f in items if str(f).strip()]
    if not items:
        raise ConfigError(f"`formats` must name at least one of {', '.join(FORMATS)}. "
                          f"Received {formats!r}.")
    for f in items:
        if f not in FORMATS:
            raise ConfigError(f"Unknown export format {f!r}. Choose from "
                              f"{', '.join(FORMATS)} (comma-separated).")
    return tuple(f for f in FORMATS if f in items)


def default_name(run_dir: str | os.PathLike) -> str:
    """Model name derived from the run directory's name (``spikegan`` if unusable)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(run_dir).resolve().name).strip("._-")
    return name or "spikegan"


def _prepare_base(out: str | os.PathLike, name: str) -> Path:
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise RunDirError(f"Output directory '{out}' is a file, not a directory.")
    base = out / name
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunDirError(f"Cannot create the output directory '{base}': "
                          f"{exc.strerror or exc}.") from None
    if not os.access(base, os.W_OK | os.X_OK):
        raise RunDirError(f"Output directory '{base}' is not writable.")
    return base


def _next_version(base: Path) -> int:
    versions = [int(p.name) for p in base.iterdir() if p.name.isdigit() and p.is_dir()]
    return max(versions, default=0) + 1


def _commit(tmp: Path, target: Path, overwrite: bool) -> None:
    """Rename ``tmp`` to ``target``, replacing an existing ``target`` only if ``overwrite``."""
    old = None
    if target.exists():
        if not overwrite:
            raise RunDirError(f"Version directory '{target}' already exists (written while this "
                              "export ran); pass --overwrite (overwrite=True) or choose another "
                              "--version.")
        old = target.with_name(f".old-{target.name}-{uuid.uuid4().hex[:8]}")
        os.rename(target, old)
    try:
        os.rename(tmp, target)
    except OSError as exc:
        if old is not None:
            os.rename(old, target)
        raise RunDirError(f"Could not move the export into '{target}': {exc}") from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def with_bin_width(run_config: dict[str, Any], bin_width: float | None) -> dict[str, Any]:
    """``run_config`` with ``bin_width`` in its data section (checked against the run's).

    Examples
    --------
    >>> with_bin_width({"model": {}, "data": {"bin_width": None}}, 0.02)["data"]
    {'bin_width': 0.02}
    >>> with_bin_width({"model": {}, "data": {"bin_width": 0.02}}, 0.01)
    Traceback (most recent call last):
    ...
    spikegan_tf.errors.ConfigError: `bin_width` 0.01 s disagrees with the 0.02 s per bin the run was trained on; leave it out.
    """
    if bin_width is None:
        return run_config
    if (isinstance(bin_width, bool) or not isinstance(bin_width, (int, float))
            or not math.isfinite(bin_width) or bin_width <= 0):
        raise ConfigError(f"`bin_width` must be a positive number of seconds. "
                          f"Received {bin_width!r}.")
    data = dict(run_config.get("data") or {})
    known = data.get("bin_width")
    if known is not None and not math.isclose(float(known), bin_width, rel_tol=1e-9):
        raise ConfigError(f"`bin_width` {bin_width:g} s disagrees with the {float(known):g} s "
                          "per bin the run was trained on; leave it out.")
    data["bin_width"] = float(bin_width)
    return {**run_config, "data": data}


def export_run(run_dir: str | os.PathLike, out: str | os.PathLike,
               formats: str | Sequence[str] = ("savedmodel", "onnx"), *,
               name: str | None = None, version: int | None = None, overwrite: bool = False,
               parity_windows: int = 256, parity_seed: int = 0, opset: int = 17,
               lean: bool = True, bin_width: float | None = None,
               precision: str | Sequence[str] | None = None, floor_data: Any = None,
               floor_key: str | None = None, parity_statistics_windows: int = 8192
               ) -> ExportResult:
    """Export a run's generator to ``<out>/<name>/<version>/``.

    Parameters
    ----------
    run_dir : path-like
        Training run directory (``config.json`` + ``generator.keras``).
    out : path-like
        Model base directory (TF Serving's ``--model_base_path`` parent).
    formats : str or sequence of str
        Any of ``"savedmodel"``, ``"onnx"``, ``"tflite"`` (a comma-separated string works).
    name : str, optional
        Model name (TF Serving's ``--model_name``); default: the run directory's name.
    version : int, optional
        Integer version; default: one more than the highest existing version.
    overwrite : bool
        Replace an existing version directory (atomically).
    parity_windows : int
        Windows compared with the Keras generator for every format.
    parity_seed : int
        Seed of the sampling-protocol draws used for the parity check.
    opset : int
        ONNX opset (>= 17).
    lean : bool
        Export the polyphase graph (see :mod:`.graph`) rather than the Keras call
        for ONNX and TFLite.
    bin_width : float, optional
        Seconds per bin, recorded in the metadata when the run's training data
        had none (windows files, simulated data); must agree with the run's
        when it has one.
    precision : str or sequence of str, optional
        Lighter-precision ONNX variants to write beside ``model.onnx``:
        ``"float16"``, ``"int8"`` (see :mod:`.precision`). Each must pass the
        statistical parity check against the float32 model.
    floor_data : path-like or array_like, optional
        The training data whose noise floor the statistical parity uses
        (default: the file recorded in the run's ``config.json``).
    floor_key : str, optional
        Key of the spikes in ``floor_data`` when it is a file.
    parity_statistics_windows : int
        Windows sampled from each model for the statistical parity.

    Returns
    -------
    ExportResult

    Raises
    ------
    ConfigError
        Unknown format, bad name or version.
    RunDirError
        Run directory without ``config.json``/``generator.keras``, an output
        directory that cannot be written, or an existing version without
        ``overwrite``.
    ExportError
        A converter failed, or an export does not reload or does not match the
        Keras model (nothing is written then).

    Examples
    --------
    >>> result = export_run("runs/retina", "models", "savedmodel,onnx")  # doctest: +SKIP
    >>> print("\\n".join(result.lines()))                                 # doctest: +SKIP
    """
    formats = parse_formats(formats)
    name = default_name(run_dir) if name is None else str(name)
    if not _NAME.match(name):
        raise ConfigError(f"`name` must be letters, digits, '.', '_' or '-' (TF Serving model "
                          f"name). Received {name!r}.")
    if version is not None:
        version = check_positive_int(version, "version")
    parity_windows = check_positive_int(parity_windows, "parity_windows")
    parity_seed = check_seed(parity_seed)
    precisions = parse_precisions(precision)
    if precisions and "onnx" not in formats:
        raise ConfigError(f"`precision` {', '.join(precisions)} makes variants of the ONNX "
                          "model: add onnx to `formats`.")
    stat_windows = check_positive_int(parity_statistics_windows, "parity_statistics_windows")
    run = RunDir(run_dir)
    run_config = with_bin_width(run.read_config(), bin_width)  # RunDirError if not a run
    from spikegan_tf.gan.config import ModelConfig

    config = ModelConfig.from_dict(run_config["model"])  # ConfigError if malformed
    if not run.generator_path.is_file():
        raise RunDirError(f"Run directory '{run_dir}' has no {GENERATOR_FILE} (the trained "
                          "generator): train first, or pass the directory of a finished run.")
    if config.conditional and (precisions or "tflite" in formats):
        raise ConfigError("A conditional model exports to savedmodel and onnx; lighter "
                          "precisions and tflite are for unconditional models.")
    floor = (_training_floor(run_config, config, floor_data, floor_key)
             if precisions else None)  # before anything is written: a refusal leaves nothing
    base = _prepare_base(out, name)
    if version is None:
        version = _next_version(base)
    target = base / str(version)
    if target.exists() and not overwrite:
        raise RunDirError(f"Version directory '{target}' already exists; pass --overwrite "
                          "(overwrite=True) to replace it or choose another --version.")

    from spikegan_tf.gan.history import history_coupling, history_filter

    from .graph import float32_generator, plan_generator
    from .parity import protocol_conditions, protocol_inputs

    generator = run.load_generator()
    history = history_filter(generator)
    coupling = history_coupling(generator)
    lean_graph = lean and plan_generator(generator, config) is not None
    metadata = build_metadata(run_config, source=str(Path(run_dir).resolve()),
                              graph="polyphase" if lean_graph else "keras", history=history,
                              coupling=coupling)
    latent = int(generator.inputs[0].shape[-1])
    z, u = protocol_inputs(parity_windows, latent, config.n_neurons, config.n_bins, parity_seed)
    cond = protocol_conditions(parity_windows, config, parity_seed)
    ref = float32_generator(generator, config)([z, *cond.values()] if cond else z,
                                               training=False)
    ref = ref.numpy() if hasattr(ref, "numpy") else ref
    raster_ref = None  # (reference probs, z_sequence, u) of the raster model
    if config.architecture == "temporal":
        from .raster import PARITY_BINS, raster_inputs, raster_metadata, reference_probs

        metadata = raster_metadata(metadata, config)
        rz, ru = raster_inputs(config, PARITY_BINS, parity_seed or 0)
        raster_ref = (reference_probs(generator, config, rz), rz, ru)

    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=base))
    except OSError as exc:
        raise RunDirError(f"Cannot write into the output directory '{base}': "
                          f"{exc.strerror or exc}.") from None
    try:
        # mkdtemp makes the directory private (0700); the version must be readable by
        # a TF Serving process running as another user, like its parent directory
        os.chmod(tmp, base.stat().st_mode & 0o777)
        files: dict[str, Path] = {}
        parity: dict[str, Parity] = {}
        if "savedmodel" in formats:
            from .savedmodel import verify_savedmodel, write_savedmodel

            write_savedmodel(generator, config, tmp, metadata)
            parity["savedmodel"] = verify_savedmodel(tmp, ref, z, u, cond, history=history,
                                                    coupling=coupling).check()
            files["savedmodel"] = target
            if raster_ref is not None:
                from .savedmodel import verify_savedmodel_raster

                parity["savedmodel-raster"] = verify_savedmodel_raster(
                    tmp, *raster_ref, history=history, coupling=coupling).check()
        if "onnx" in formats:
            from .onnx_export import verify_onnx, write_onnx

            write_onnx(generator, config, tmp / FILES["onnx"], metadata, opset=opset, lean=lean)
            parity["onnx"] = verify_onnx(tmp / FILES["onnx"], ref, z, u, cond, history=history,
                                          coupling=coupling).check()
            files["onnx"] = target / FILES["onnx"]
            if raster_ref is not None:  # the temporal generator's continuous-raster model
                from .raster import RASTER_FILE, verify_raster_onnx, write_raster_onnx

                write_raster_onnx(generator, config, tmp / RASTER_FILE, metadata, opset=opset)
                parity["onnx-raster"] = verify_raster_onnx(
                    tmp / RASTER_FILE, *raster_ref, config.receptive_field,
                    history=history, coupling=coupling).check()
                files["onnx-raster"] = target / RASTER_FILE
        statistical: dict[str, StatisticalParity] = {}
        for prec in precisions:
            from .precision import convert, statistical_parity

            convert(tmp / FILES["onnx"], tmp / PRECISION_FILES[prec], prec)
            statistical[prec] = statistical_parity(
                tmp / FILES["onnx"], tmp / PRECISION_FILES[prec], prec, floor,
                n_windows=stat_windows, seed=parity_seed).check()
            files[f"onnx-{prec}"] = target / PRECISION_FILES[prec]
        if "tflite" in formats:
            from .tflite import verify_tflite, write_tflite

            write_tflite(generator, config, tmp / FILES["tflite"], lean=lean)
            parity["tflite"] = verify_tflite(tmp / FILES["tflite"], ref, z, u, history=history,
                                              coupling=coupling).check()
            files["tflite"] = target / FILES["tflite"]
        manifest = {
            **metadata,
            "name": name,
            "version": version,
            "files": {fmt: os.path.relpath(p, target) for fmt, p in files.items()},
            "parity": {fmt: p.to_dict() for fmt, p in parity.items()},
            "statistical_parity": {k: p.to_dict() for k, p in statistical.items()},
            "parity_seed": parity_seed,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True,
                                               default=str) + "\n")
        _commit(tmp, target, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ExportResult(target, name, version, files, parity, metadata, statistical)


def _training_floor(run_config: dict[str, Any], config: Any, floor_data: Any,
                    floor_key: str | None) -> dict[str, float]:
    """Noise floor of the run's training data: held-out part against the training part.

    The data are split as training split them (``val_fraction``, ``stride``,
    the run's seed; 10% when the run held nothing out).
    """
    from spikegan_tf.data import load_spikes
    from spikegan_tf.errors import SpikeGANError
    from spikegan_tf.gan.rundir import split_as_trained

    from .precision import training_floor

    info = run_config.get("data") or {}
    if floor_data is None:
        source, key = info.get("source"), info.get("key")
        if not source or not Path(str(source)).is_file():
            raise RunDirError(
                "A lighter-precision export is checked against the noise floor of the training "
                f"data, but the run's training data '{source}' is not a readable file: pass "
                "--data FILE (floor_data=...).")
        floor_data, floor_key = source, floor_key or key
    if isinstance(floor_data, (str, os.PathLike)):
        floor_data = load_spikes(floor_data, key=floor_key)
    data = split_as_trained(floor_data, run_config,
                            val_fraction=float(info.get("val_fraction") or 0.0) or 0.1)
    if data.n_neurons != config.n_neurons:
        raise SpikeGANError(f"The floor data have {data.n_neurons} neurons but the run's "
                            f"generator makes {config.n_neurons}; pass the run's training data.")
    if data.val is None:
        raise SpikeGANError("The floor data are too short to hold out a part for the noise "
                            "floor; pass the run's training data.")
    return training_floor(data.train.spikes, data.val, config.n_bins)
