"""Model configuration: a frozen, validated dataclass that travels as JSON."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from spikegan_tf.errors import ConfigError
from spikegan_tf.params import Integer, Options, ParamError, Real, validate_params

__all__ = ["ModelConfig", "dataclass_from_dict"]


def dataclass_from_dict(cls: type, data: Any, what: str) -> Any:
    """Build the frozen dataclass ``cls`` from a dict, rejecting unknown keys by name.

    Examples
    --------
    >>> dataclass_from_dict(ModelConfig, {"n_neurons": 3, "n_bins": 8, "colour": 1}, "model configuration")
    Traceback (most recent call last):
    ...
    spikegan_tf.errors.ConfigError: Unknown model configuration keys ['colour']. Known keys: [...].
    """
    if not isinstance(data, dict):
        raise ConfigError(f"A {what} must be a dict. Received {type(data).__name__}.")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"Unknown {what} keys {unknown}. Known keys: {sorted(known)}.")
    return cls(**data)

_ARCHITECTURES = ("conv", "fc", "temporal")
_UPSAMPLING = ("resize", "transpose")
#: What each field accepts (checked by :func:`spikegan_tf.params.validate_params`).
_CONSTRAINTS = {
    "n_neurons": Integer(min=1),
    "n_bins": Integer(min=1),
    "latent_dim": [Integer(min=1), None],
    "architecture": Options(*_ARCHITECTURES),
    "num_layers": Integer(min=1),
    "num_features": Integer(min=1),
    "kernel_size": Integer(min=1),
    "upsampling": Options(*_UPSAMPLING),
    "output_kernel": Integer(min=0),
    "num_units": Integer(min=1),
    "fc_layers": Integer(min=1),
    "leaky_slope": Real(min=0, max=1, max_open=True),
    "init_stddev": Real(min=0, min_open=True),
    "latent_channels": Integer(min=1),
    "temporal_layers": Integer(min=1),
    "temporal_features": Integer(min=1),
    "latent_scales": Integer(min=1),
    "temporal_init": Options("glorot", "he"),
    "critic_lags": Integer(min=0),
    "critic_neuron_filters": Integer(min=0),
    "critic_neuron_kernel": Integer(min=1),
    "critic_head_units": Integer(min=0),
    "critic_scales": Integer(min=1),
    "critic_counts": Integer(min=0),
    "n_classes": Integer(min=0),
    "n_covariates": Integer(min=0),
    "label_dim": Integer(min=1),
}


@dataclass(frozen=True)
class ModelConfig:
    """Shape and architecture of a Spike-GAN generator/critic pair.

    Defaults are the paper's semi-convolutional retina model: 2 layers, critic
    features 128 then 256, kernel 5, stride 2, latent dimension 128.

    Parameters
    ----------
    n_neurons : int
        Neurons per window (the convolutions' channels).
    n_bins : int
        Time bins per window; must be divisible by ``2 ** num_layers`` for ``conv``.
    latent_dim : int, optional
        Dimension of the standard-normal latent vector ``z`` (default 128; for
        ``temporal`` it is ``latent_bins * latent_channels``, the flattened
        latent sequence behind one window).
    architecture : {"conv", "fc", "temporal"}
        ``"conv"``: the paper's semi-convolutional design (neurons are channels,
        Conv1D over time). ``"fc"``: the paper's fully connected variant.
        ``"temporal"``: a generator that is stationary by construction -- a
        latent vector per time bin, ``temporal_layers`` dilated ``"valid"``
        Conv1D (dilations 1, 2, 4, ...) and a per-bin output, so every bin is
        the same function of the noise around it. No bin position is special
        (no edge or period-2 pattern in the time course), and it generates a
        continuous raster of any length with no seams (the critic is the conv
        critic).
    num_layers : int
        Convolutional layers in the critic (and upsampling blocks in the generator).
    num_features : int
        Features of the critic's first convolution; doubled in each further layer.
    kernel_size : int
        Temporal kernel width of every convolution.
    upsampling : {"transpose", "resize"}
        Generator upsampling: stride-2 transposed convolution (the default) or
        nearest-neighbour resize + Conv1D (what the reference code does).
        Measured (``benchmarks/bench_upsampling.py``: the paper's ``uniform``
        data, 16 x 32, 6000 steps, 2 seeds), transposed convolutions fit every
        statistic as well or better (autocorrelogram error 0.032 vs 0.063,
        firing probability 0.026 vs 0.038, time course 0.036 vs 0.049,
        covariance 0.015 vs 0.015) with 46 % fewer generator FLOPs (4.2 vs
        7.8 MFLOP per retina window: ~10 % of a training step); exported
        graphs use the same polyphase form for both.
    output_kernel : int
        0 (the default): the last upsampling block outputs the logits. ``k > 0``:
        it outputs ``num_features`` channels (LeakyReLU) and a stride-1 Conv1D
        of kernel ``k`` at full resolution maps them to the logits, mixing the
        two phases of the last stride-2 upsampling (conv generator only).
    num_units : int
        Hidden units per layer of the ``fc`` variant.
    fc_layers : int
        Hidden layers of the ``fc`` generator (the critic has ``fc_layers``
        LeakyReLU layers too), 4 in the reference code.
    leaky_slope : float
        Negative slope of the LeakyReLU activations.
    init_stddev : float
        Standard deviation of the normal weight initialiser (0.02 in the reference).
        The ``temporal`` generator's dilated stack uses Glorot-uniform instead
        (with 0.02 the signal shrinks ~3x per layer).
    latent_channels : int
        ``temporal`` only: latent features per time bin.
    temporal_layers : int
        ``temporal`` only: dilated convolutions of the generator.
    temporal_features : int
        ``temporal`` only: features of each dilated convolution.
    latent_scales : int
        ``temporal`` only: time scales of the latent sequence. With ``S > 1``
        the latent channels are smoothed by a trainable per-channel
        convolution that starts as moving averages over 1, 2, 4, ...,
        ``2**(S-1)`` bins (channel ``c`` gets scale ``c % S``), so slow
        population fluctuations need not be built from white noise.
    temporal_init : {"glorot", "he"}
        ``temporal`` only: the dilated convolutions' initialiser. ``"glorot"``
        (the default): Glorot-uniform, with which each LeakyReLU layer passes on
        about two thirds of the latent input's variation (a fresh generator of
        six layers keeps 4% of it). ``"he"``: He-uniform, which keeps it (56-70%
        after six); on ``uniform`` the six-layer generator started learning in
        two seeds of two with it and in one of five without
        (``benchmarks/RESULTS.md``, "Stuck, not slow"). Not measured on the
        retina yet.
    critic_lags : int
        ``K > 0`` gives the critic a second input path: each neuron's lagged
        self-coincidences ``sum_t x[n, t] * x[n, t + k]`` for ``k = 1..K``
        (``n_neurons * K`` features, straight into the score layer), so a
        linear direction of the critic measures the autocorrelogram, which the
        strided convolutions see only through their receptive fields. 0 (the
        default) is the paper's critic. Must be smaller than ``n_bins``.
    critic_neuron_filters : int
        ``F > 0`` gives the critic a per-neuron temporal path: ``F`` filters of
        ``critic_neuron_kernel`` bins for each neuron alone (a depthwise Conv1D
        at full resolution, LeakyReLU), averaged over the window's positions,
        into the score layer. The shared strided convolutions mix all neurons
        at half resolution; this path lets the critic learn each neuron's own
        spike patterns (bursts, gaps: the autocorrelogram and the ISIs).
        0 (the default) is the paper's critic.
    critic_neuron_kernel : int
        Width in bins of the per-neuron filters (at most ``n_bins``).
    critic_head_units : int
        ``U > 0`` gives the critic's score a hidden layer (Dense ``U``,
        LeakyReLU) on its features, beside the features themselves. The
        paper's conv critic scores a window with one linear layer on its
        strided convolutions' features, so its score is a *sum* of functions
        of ``critic_receptive_field``-bin patches (13 bins by default): bins
        further apart never meet, and the generator is never told about
        correlations at longer lags, however long the training windows. With
        a hidden layer the score can depend on the whole window. 0 (the
        default) is the paper's critic.
    critic_scales : int
        ``S > 1`` gives the conv critic ``S - 1`` more copies of its
        convolutions (own weights), each on the window averaged over
        ``2**s`` bins (``s = 1 .. S-1``), their features beside the full
        resolution's into the score: a multi-scale critic, as audio GANs use
        for structure longer than one discriminator's patch (Kumar et al.
        2019, MelGAN). The score stays a sum over patches, so it is as
        shift-invariant as the paper's, but the coarsest patches span
        ``critic_receptive_field`` = ``13 * 2**(S-1)`` bins (kernel 5, two
        layers): slow rate co-fluctuations reach the critic at a cost of at
        most twice the paper critic's convolutions. ``n_bins`` must be
        divisible by ``2**(num_layers + S - 1)``. 1 (the default) is the
        paper's critic.
    critic_counts : int
        ``C > 0`` gives the critic each window's histogram of population spike
        counts: how many of its bins hold 0, 1, ..., ``C - 1`` spikes and
        ``C`` or more (:class:`~spikegan_tf.gan.networks.CountHistogram`,
        ``C + 1`` features into the score layer), so one linear direction of
        the critic measures P(K), the distribution of synchronous spikes,
        which the convolutions must otherwise build from their features. Its
        gradient at a spike is what flipping that spike does to the
        histogram. It is a path of its own in
        :func:`~spikegan_tf.gan.networks.critic_paths`, so
        ``TrainConfig.gp_per_path`` gives it its own gradient penalty. 0 (the
        default) is the paper's critic; at most ``n_neurons``.
    n_classes : int
        Conditional models: number of label classes (0: no label input). The
        generator takes the one-hot label as a second input (embedded into
        ``label_dim`` values beside ``z``, plus a per-class offset of every
        neuron's logit); the critic is a projection critic (Miyato & Koyama
        2018): ``score = w . phi(x) + embed(label) . phi(x)``.
    n_covariates : int
        Conditional models: covariates per bin (0: none). The generator takes
        ``(n_bins, n_covariates)`` as an input, pooled to every resolution of
        the upsampling and mapped to the logits bin by bin; the critic sees
        them as extra channels beside the neurons.
    label_dim : int
        Size of the generator's label embedding.

    Examples
    --------
    >>> cfg = ModelConfig(n_neurons=50, n_bins=32)
    >>> cfg.critic_features
    (128, 256)
    >>> ModelConfig(n_neurons=4, n_bins=30)
    Traceback (most recent call last):
    ...
    spikegan_tf.params.ParamError: `n_bins` must be divisible by 2**num_layers = 4 for the conv critic. Received 30.
    """

    n_neurons: int
    n_bins: int
    latent_dim: int | None = None
    architecture: str = "conv"
    num_layers: int = 2
    num_features: int = 128
    kernel_size: int = 5
    upsampling: str = "transpose"
    output_kernel: int = 0
    num_units: int = 512
    fc_layers: int = 4
    leaky_slope: float = 0.2
    init_stddev: float = 0.02
    latent_channels: int = 8
    temporal_layers: int = 4
    temporal_features: int = 64
    latent_scales: int = 1
    temporal_init: str = "glorot"
    critic_lags: int = 0
    critic_neuron_filters: int = 0
    critic_neuron_kernel: int = 8
    critic_head_units: int = 0
    critic_scales: int = 1
    critic_counts: int = 0
    n_classes: int = 0
    n_covariates: int = 0
    label_dim: int = 16

    def __post_init__(self) -> None:
        validate_params(_CONSTRAINTS, dataclasses.asdict(self))
        # latent_dim: the size of the flat z every sampler draws. The temporal
        # generator's z is its latent sequence, so its size follows from the rest.
        expected = (self.latent_bins * self.latent_channels
                    if self.architecture == "temporal" else None)
        if self.latent_dim is None:
            object.__setattr__(self, "latent_dim", expected or 128)
        if expected is not None and self.latent_dim != expected:
            raise ParamError(
                "latent_dim", f"latent_bins * latent_channels = {self.latent_bins} * "
                f"{self.latent_channels} = {expected} for the temporal architecture (or None)",
                self.latent_dim)
        if self.n_classes == 1:
            raise ParamError("n_classes", "0 (no labels) or at least 2", self.n_classes)
        if self.critic_lags >= self.n_bins:
            raise ParamError("critic_lags", f"smaller than n_bins = {self.n_bins}",
                             self.critic_lags)
        if self.critic_neuron_filters and self.critic_neuron_kernel > self.n_bins:
            raise ParamError("critic_neuron_kernel", f"at most n_bins = {self.n_bins}",
                             self.critic_neuron_kernel)
        if self.critic_counts > self.n_neurons:
            raise ParamError("critic_counts", f"at most n_neurons = {self.n_neurons}",
                             self.critic_counts)
        if self.architecture == "fc" and self.critic_scales > 1:
            raise ParamError("critic_scales", "1 for the fc critic (it sees whole windows)",
                             self.critic_scales)
        if self.architecture in ("conv", "temporal"):  # the conv critic halves time per layer
            factor = 2 ** (self.num_layers + self.critic_scales - 1)  # at the coarsest scale
            if self.n_bins % factor:
                what = ("2**num_layers" if self.critic_scales == 1
                        else "2**(num_layers + critic_scales - 1)")
                critic = "conv" if self.critic_scales == 1 else "multi-scale"
                raise ParamError("n_bins", f"divisible by {what} = {factor} for the {critic} "
                                 "critic", self.n_bins)
            if self.num_features % 2:
                raise ParamError("num_features", "even", self.num_features)

    @property
    def conditional(self) -> bool:
        """Whether the networks take condition inputs (labels and/or covariates)."""
        return bool(self.n_classes or self.n_covariates)

    @property
    def receptive_field(self) -> int:
        """``temporal``: time bins of latent noise that one output bin depends on.

        ``1 + (kernel_size - 1) * (2**temporal_layers - 1) + smoothing_width - 1``;
        two bins further apart than this share no noise.

        Examples
        --------
        >>> ModelConfig(n_neurons=3, n_bins=32, architecture="temporal").receptive_field
        61
        """
        return (1 + (self.kernel_size - 1) * (2**self.temporal_layers - 1)
                + self.smoothing_width - 1)

    @property
    def critic_receptive_field(self) -> int:
        """Bins that one term of the critic's score sees.

        The conv critic without a head (``critic_head_units=0``, the paper's)
        scores a window as a sum of functions of patches of
        ``1 + (kernel_size - 1) * (2**num_layers - 1)`` bins: structure at
        longer lags never reaches it. With ``critic_scales = S`` the coarsest
        scale's patches, ``2**(S-1)`` times as long. The fixed features add
        their own spans: ``critic_lags = K`` pairs of bins ``K`` apart
        (``K + 1`` bins), ``critic_neuron_filters`` ``critic_neuron_kernel``
        bins, ``critic_counts`` one bin. With a head, or the fc critic, the
        whole window (``n_bins``).

        Examples
        --------
        >>> ModelConfig(n_neurons=3, n_bins=128).critic_receptive_field
        13
        >>> ModelConfig(n_neurons=3, n_bins=128, critic_scales=4).critic_receptive_field
        104
        >>> ModelConfig(n_neurons=3, n_bins=128, critic_lags=20).critic_receptive_field
        21
        >>> ModelConfig(n_neurons=3, n_bins=128, critic_head_units=64).critic_receptive_field
        128
        """
        if self.architecture == "fc" or self.critic_head_units:
            return self.n_bins
        patch = 1 + (self.kernel_size - 1) * (2**self.num_layers - 1)
        spans = [patch * 2 ** (self.critic_scales - 1), self.critic_lags + 1,
                 self.critic_neuron_kernel if self.critic_neuron_filters else 1]
        return min(self.n_bins, max(spans))

    @property
    def smoothing_width(self) -> int:
        """``temporal``: bins of the latent smoothing (``2**(latent_scales - 1)``)."""
        return 2 ** (self.latent_scales - 1)

    @property
    def latent_bins(self) -> int:
        """``temporal``: latent time steps behind one window (``n_bins + receptive_field - 1``)."""
        return self.n_bins + self.receptive_field - 1

    @property
    def critic_features(self) -> tuple[int, ...]:
        """Features of each critic convolution (doubling per layer)."""
        return tuple(self.num_features * 2**i for i in range(self.num_layers))

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration as a JSON-serialisable dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Build a configuration from :meth:`to_dict` output, rejecting unknown keys.

        Examples
        --------
        >>> ModelConfig.from_dict({"n_neurons": 3, "n_bins": 8}).n_bins
        8
        """
        return dataclass_from_dict(cls, data, "model configuration")

    def to_json(self) -> str:
        """Return the configuration as an indented JSON string."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)
