"""TrainConfig, data preparation, validation errors and progress (no training)."""

from __future__ import annotations

import io

import numpy as np
import pytest

from spikegan_tf.data import SpikeRecording
from spikegan_tf.data.splits import prepare_data
from spikegan_tf.errors import ConfigError, SpikeDataError
from spikegan_tf.gan.callbacks import ProgressLine
from spikegan_tf.gan.held_out import validation_errors
from spikegan_tf.gan.train_config import TrainConfig


def test_the_paper_recipe_is_the_papers_and_the_default_differs_only_where_measured():
    paper = TrainConfig.from_recipe("paper")
    assert (paper.n_critic, paper.gp_weight, paper.learning_rate, paper.beta_1, paper.beta_2,
            paper.batch_size, paper.init_output_bias, paper.critic_input) == (
        5, 10.0, 1e-4, 0.0, 0.9, 64, False, "probabilities")
    cfg = TrainConfig()
    assert (cfg.learning_rate, cfg.init_output_bias, cfg.critic_input) == (3e-4, True, "spikes")
    assert TrainConfig.from_recipe("paper", learning_rate=2e-4).learning_rate == 2e-4
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="`recipe` must be one of .*'pap'"):
        TrainConfig.from_recipe("pap")
    with pytest.raises(ConfigError, match="`critic_input` must be one of .*'spike'"):
        TrainConfig(critic_input="spike")


@pytest.mark.parametrize("kwargs, match", [
    (dict(batch_size=0), "batch_size"),
    (dict(n_critic=1.5), "n_critic"),
    (dict(learning_rate=0.0), "learning_rate"),
    (dict(learning_rate=float("nan")), "learning_rate"),
    (dict(beta_2=1.0), "beta_2"),
    (dict(gp_weight=-1.0), "gp_weight"),
    (dict(max_steps=None, max_minutes=None), "stopping rule"),
    (dict(max_minutes=-2.0), "max_minutes"),
    (dict(seed=None), "seed"),
    (dict(seed=-1), "seed"),
    (dict(jit_compile="yes"), "jit_compile"),
    (dict(eval_every=-1), "eval_every"),
    (dict(gp_every=0), "gp_every"),
    (dict(critic_learning_rate=0.0), "critic_learning_rate"),
])
def test_config_errors_name_the_field(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        TrainConfig(**kwargs)


def test_from_dict_rejects_unknown_keys():
    with pytest.raises(ConfigError, match="Unknown training configuration keys \\['lr'\\]"):
        TrainConfig.from_dict({"lr": 1e-3})


def test_raster_is_split_in_time_with_a_gap():
    raster = np.zeros((100, 3), np.uint8)
    raster[:, 0] = np.arange(100) % 2  # a clock to recognise time bins
    raster[np.arange(100), 1] = (np.arange(100) >= 60)  # marks the late part
    data = prepare_data(raster, 8, val_fraction=0.2, stride=2)
    assert data.is_raster and data.n_bins == 8 and data.stride == 2
    n_train_bins = data.train.spikes.shape[0]
    assert data.train.spikes[:, 1].sum() == max(0, n_train_bins - 60)
    # validation windows come from the end, after a gap of n_bins bins
    assert data.val.shape[1:] == (3, 8)
    assert n_train_bins + 8 + (len(data.val) - 1) * 2 + 8 <= 100
    assert data.n_train == (n_train_bins - 8) // 2 + 1
    assert data.info["n_val"] == len(data.val) and data.info["kind"] == "raster"


def _ids(windows):
    return sorted((windows[:, :, 0] * (1 << np.arange(4))).sum(axis=1).tolist())


def test_windows_are_split_by_sample_without_overlap():
    ids = np.arange(16)
    windows = np.zeros((16, 4, 2), np.uint8)
    windows[:, :, 0] = (ids[:, None] >> np.arange(4)) & 1  # window i spells i in binary
    data = prepare_data(windows, val_fraction=0.25, seed=3)
    assert data.train.spikes.shape == (12, 4, 2) and data.val.shape == (4, 4, 2)
    train, val = _ids(data.train.spikes), _ids(data.val)
    assert set(train).isdisjoint(val) and sorted(train + val) == ids.tolist()
    assert _ids(prepare_data(windows, val_fraction=0.25, seed=3).val) == val
    assert data.info["kind"] == "windows" and data.n_train == 12


def test_recording_metadata_is_recorded():
    rec = SpikeRecording(np.zeros((200, 2), np.uint8), kind="raster", source="rec.npy",
                         bin_width=0.02)
    data = prepare_data(rec, 8)
    assert data.info["source"] == "rec.npy" and data.info["bin_width"] == 0.02
    assert data.info["n_time_bins"] == 200


@pytest.mark.parametrize("spikes, n_bins, match", [
    (np.zeros((5, 3), np.uint8), 8, "fewer than"),
    (np.zeros((4, 3, 8), np.uint8), 16, "16 was"),
    (np.zeros((4, 3, 8, 1), np.uint8), None, "raster \\(time_bins, n_neurons\\) or windows"),
    (np.full((20, 3), 2), 4, "binary"),
])
def test_bad_data_is_a_clear_error(spikes, n_bins, match):
    with pytest.raises((SpikeDataError, ConfigError), match=match):
        prepare_data(spikes, n_bins, val_fraction=0.0)


def test_raster_needs_n_bins():
    with pytest.raises(ConfigError, match="n_bins"):
        prepare_data(np.zeros((50, 2), np.uint8))


def test_validation_errors_against_hand_computed_statistics():
    ref = np.zeros((2, 2, 2), np.uint8)
    ref[0, 0, :] = 1  # neuron 0 fires in both bins of window 0
    cand = np.zeros_like(ref)
    err = validation_errors(ref, cand)
    # firing probability: ref (0.5, 0), cand (0, 0)
    assert err["firing_rate_mae"] == pytest.approx(0.25)
    # spike-count distribution: ref P(K=0)=0.5, P(K=1)=0.5; cand P(K=0)=1
    assert err["spike_count_mae"] == pytest.approx((0.5 + 0.5 + 0.0) / 3)
    # covariance over the 4 bins (ddof=1): neuron 0 is 1 1 0 0, variance 1/3; neuron 1 is
    # silent; cand's covariances are all 0 -> mean |diff| over the 2 x 2 matrix = (1/3) / 4
    assert err["covariance_mae"] == pytest.approx(1 / 12)
    assert validation_errors(ref, ref) == {"firing_rate_mae": 0.0, "covariance_mae": 0.0,
                                           "spike_count_mae": 0.0}


def test_progress_line_shows_rate_eta_and_losses():
    out = io.StringIO()
    p = ProgressLine(target=100, minutes=None, verbose=1, stream=out)
    p.on_train_begin(0, {})
    p.t0 -= 2.0  # pretend 2 s have passed
    p.update(50, {"d_loss": -0.5, "g_loss": 1.25}, force=True)
    line = out.getvalue()
    assert "step 50/100" in line and "steps/s" in line and "ETA 0:02" in line
    assert "d_loss -0.5" in line and "g_loss 1.25" in line
    quiet = io.StringIO()
    silent = ProgressLine(10, None, verbose=0, stream=quiet)
    silent.on_train_begin(0, {})
    silent.update(5, {}, force=True)
    assert quiet.getvalue() == ""
