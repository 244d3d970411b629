"""An ONNX Runtime session on an exported model, for the TF-free rig runtime: threads, no
spinning by default, the model file checked and named in every error, and its metadata.

Needs only numpy and onnxruntime; never imports TensorFlow.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from spikegan_tf.errors import RunDirError, SpikeGANError
from spikegan_tf.gan.sampling import resolve_seed, sampling_streams
from spikegan_tf.validation import check_positive_int

from .metadata import from_onnx_props
from .stream import PrefetchStream

__all__ = ["OnnxSession", "WindowSession", "session_options"]


def _ort() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise SpikeGANError(
            "The rig runtime needs onnxruntime: pip install onnxruntime "
            "(or 'spikegan-tf[export]')."
        ) from None
    return onnxruntime


def session_options(intra_op_threads: int = 1, spin: bool = False) -> Any:
    """Return the ``onnxruntime.SessionOptions`` the rig runtime uses.

    All graph optimisations (operator fusion: ``MatMul + Add + LeakyRelu`` into
    one ``FusedGemm``), ``intra_op_threads`` threads for one operator,
    sequential execution and no inter-operator pool -- the low-jitter
    set-up for one window at a time.

    ``spin=False`` (the default here, unlike ONNX Runtime's) makes the
    operator threads sleep between calls instead of busy-waiting for the
    next one, so an idle model leaves the rig's other cores alone; with one
    thread there is no pool and the setting changes nothing.

    Examples
    --------
    >>> opts = session_options(2)
    >>> opts.intra_op_num_threads, opts.get_session_config_entry("session.intra_op.allow_spinning")
    (2, '0')
    """
    ort = _ort()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = check_positive_int(intra_op_threads, "intra_op_threads")
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    return opts


_EXPECTED = "the model.onnx written by `spikegan export --format onnx`"


def _model_file(path: Path) -> Path:
    """``path`` itself, or the ``model.onnx`` inside an export's version directory."""
    if path.is_dir():
        if (path / "model.onnx").is_file():
            return path / "model.onnx"
        raise RunDirError(f"'{path}' is a directory without a model.onnx; pass {_EXPECTED}.")
    if not path.is_file():
        raise RunDirError(f"ONNX model '{path}' does not exist (expected {_EXPECTED}).")
    return path


class OnnxSession:
    """What every rig sampler shares: one ONNX Runtime session, its metadata, hash and seed.

    Subclasses set ``_expected`` (what the file should be, for error messages)
    and check the graph's inputs and outputs.
    """

    _expected = _EXPECTED

    def __init__(self, path: Path, seed: int | None, intra_op_threads: int, spin: bool,
                 providers: list[str] | None = None) -> None:
        self._path = path
        self._providers = providers or ["CPUExecutionProvider"]
        self._spin = bool(spin)
        self._session = self._new_session(intra_op_threads)
        meta = self._session.get_modelmeta().custom_metadata_map
        self.metadata: dict[str, Any] = from_onnx_props(meta, source=str(self._path))
        self._sha256 = hashlib.sha256(self._path.read_bytes()).hexdigest()
        self._seed = resolve_seed(seed)
        self._prefetching: PrefetchStream | None = None

    def _new_session(self, threads: int) -> Any:
        ort = _ort()
        try:
            return ort.InferenceSession(str(self._path), session_options(threads, self._spin),
                                        providers=self._providers)
        except Exception as exc:  # not an ONNX file, unsupported ops...
            detail = " ".join(str(exc).split())  # ONNX Runtime's messages span lines
            raise RunDirError(f"ONNX Runtime cannot load '{self._path}' (expected "
                              f"{self._expected}): {detail}") from None

    def _names(self) -> tuple[list[str], list[str]]:
        return ([i.name for i in self._session.get_inputs()],
                [o.name for o in self._session.get_outputs()])

    @property
    def seed(self) -> int:
        """The seed of this session (pass it back to replay the session)."""
        return self._seed

    @property
    def path(self) -> Path:
        """The ONNX file."""
        return self._path

    @property
    def bin_width(self) -> float | None:
        """Bin width (seconds) of the training data, if it was known."""
        return self.metadata.get("bin_width")

    def _check_no_prefetch(self, what: str) -> None:
        if self._prefetching is not None:
            raise SpikeGANError(f"Cannot {what} while a prefetching stream of this sampler is "
                                "open; close it first (or use `with sampler.stream(...)`).")


class WindowSession(OnnxSession):
    """A window model: inputs ``z (batch, latent)`` and ``u (batch, neurons, bins)``.

    What the unconditional and the conditional rig samplers share: the
    window's shape read from the graph, the protocol's two random streams and
    the session record.
    """

    def _input_shapes(self) -> dict[str, Any]:
        return {i.name: i.shape for i in self._session.get_inputs()}

    def _set_window_shape(self, inputs: dict[str, Any]) -> None:
        self._latent = int(inputs["z"][1])
        self._neurons, self._bins = int(inputs["u"][1]), int(inputs["u"][2])

    @property
    def n_neurons(self) -> int:
        """Neurons per window."""
        return self._neurons

    @property
    def n_bins(self) -> int:
        """Time bins per window."""
        return self._bins

    @property
    def latent_dim(self) -> int:
        """Dimension of the latent vector ``z``."""
        return self._latent

    @property
    def windows_drawn(self) -> int:
        """Windows drawn (handed out) since construction or the last ``reset``."""
        live = self._prefetching
        return self._drawn + (live.handed_out if live is not None else 0)

    def _restart_streams(self) -> None:
        """The protocol's ``z`` and ``u`` streams from :attr:`seed`, nothing drawn yet."""
        self._z_rng, self._u_rng = sampling_streams(self._seed)
        self._drawn = 0

    def _record(self) -> dict[str, Any]:
        """What any window session's log needs to replay it."""
        return {"model": str(self._path), "sha256": self._sha256, "seed": self._seed,
                "windows_drawn": self.windows_drawn, "n_neurons": self._neurons,
                "n_bins": self._bins, "bin_width": self.bin_width}
