"""The temporal (stationary) generator and its continuous rasters: Keras, CLI, export, runtime."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spikegan_tf import SpikeGAN
from spikegan_tf.cli import main
from spikegan_tf.errors import ConfigError
from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.gan.history import history_filter
from spikegan_tf.gan.networks import build_generator, build_raster_generator, set_output_bias
from spikegan_tf.gan.raster import sample_raster
from spikegan_tf.gan.sampling import iter_raster_chunks, raster_draws

CFG = ModelConfig(n_neurons=3, n_bins=8, num_features=4, architecture="temporal",
                  temporal_layers=2, temporal_features=8, latent_channels=4)


@pytest.fixture(scope="module")
def generator():
    g = build_generator(CFG, seed=1)
    set_output_bias(g, CFG, [0.1, 0.3, 0.5])
    for layer in g.layers:  # make the output depend visibly on the noise
        if layer.name == "logits":
            layer.kernel.assign(np.random.default_rng(0).normal(0, 0.5, layer.kernel.shape))
    return g


def test_config_derives_the_latent_size_and_refuses_a_wrong_one():
    assert CFG.receptive_field == 1 + 4 * 3 == 13
    assert CFG.latent_bins == 8 + 12 and CFG.latent_dim == 20 * 4
    assert ModelConfig.from_dict(CFG.to_dict()) == CFG
    assert ModelConfig(n_neurons=2, n_bins=8).latent_dim == 128  # other architectures: 128
    with pytest.raises(ConfigError, match="latent_bins \\* latent_channels = 20 \\* 4 = 80"):
        ModelConfig(n_neurons=3, n_bins=8, architecture="temporal", temporal_layers=2,
                    latent_channels=4, latent_dim=128)


def test_raster_model_is_shift_equivariant_and_windows_are_its_pieces(generator):
    raster = build_raster_generator(generator, CFG)
    z = np.random.default_rng(2).standard_normal((2, 200, 4)).astype("float32")
    whole = raster(z).numpy()
    assert whole.shape == (2, 200 - 12, 3)
    # shifting the noise shifts the output: every bin is the same function of its noise
    np.testing.assert_allclose(raster(z[:, 37:]).numpy(), whole[:, 37:], atol=1e-6)
    # a window of the window model is the raster model on the same latent slice
    flat = z[:, 50:50 + CFG.latent_bins].reshape(2, -1)
    window = generator(flat).numpy()  # (2, neurons, bins)
    np.testing.assert_allclose(window.transpose(0, 2, 1), whole[:, 50:58], atol=1e-6)


def test_sample_raster_does_not_depend_on_chunking_and_continues(generator):
    a = sample_raster(generator, CFG, 5000, seed=3, chunk=4096)
    b = sample_raster(generator, CFG, 5000, seed=3, chunk=333)
    assert a.dtype == np.uint8 and a.shape == (5000, 3)
    assert np.array_equal(a, b)
    # chunks shorter than the receptive field overlap more than one chunk back
    short = max(1, CFG.receptive_field // 3)
    assert np.array_equal(sample_raster(generator, CFG, 1000, seed=3, chunk=short), a[:1000])
    assert np.array_equal(sample_raster(generator, CFG, 1700, seed=3, start=3300), a[3300:])
    assert not np.array_equal(sample_raster(generator, CFG, 5000, seed=4), a)
    # the spikes are the protocol's draws against the raster model's probabilities
    z = raster_draws(3, 0, 0, 100 + 12, 4)[None]
    p = build_raster_generator(generator, CFG)(z).numpy()[0]
    u = raster_draws(3, 1, 0, 100, 3)
    assert np.array_equal(a[:100], (u < p).astype(np.uint8))
    # rates follow the bias: neuron 2 fires most
    assert a.mean(0)[0] < a.mean(0)[1] < a.mean(0)[2]


def test_sample_raster_into_a_memory_map(generator, tmp_path):
    out = np.lib.format.open_memmap(tmp_path / "r.npy", mode="w+", dtype=np.uint8,
                                    shape=(3000, 3))
    sample_raster(generator, CFG, 3000, seed=0, chunk=1000, out=out)
    out.flush()
    assert np.array_equal(np.load(tmp_path / "r.npy"), sample_raster(generator, CFG, 3000,
                                                                     seed=0))
    with pytest.raises(ConfigError, match="`out` must be a uint8 array of shape"):
        sample_raster(generator, CFG, 10, seed=0, out=np.zeros((10, 2), np.uint8))


def test_window_architectures_refuse_rasters():
    cfg = ModelConfig(n_neurons=3, n_bins=8, num_features=4, latent_dim=8)
    with pytest.raises(ConfigError, match="Continuous rasters need the temporal architecture"):
        sample_raster(build_generator(cfg), cfg, 100, seed=0)
    with pytest.raises(ValueError, match="temporal"):
        build_raster_generator(build_generator(cfg), cfg)


def test_protocol_draws_are_keyed_by_position():
    whole = raster_draws(9, 1, 0, 4000, 3)
    assert np.array_equal(raster_draws(9, 1, 1023, 1025, 3), whole[1023:1025])
    assert not np.array_equal(raster_draws(9, 0, 0, 10, 3), raster_draws(9, 1, 0, 10, 3))
    f = lambda z: np.ones((1, z.shape[1] - 1, 2), np.float32)  # noqa: E731 wrong width
    with pytest.raises(ConfigError, match="returned"):
        next(iter_raster_chunks(f, 10, 0, latent_channels=2, n_neurons=3, receptive_field=2))


@pytest.fixture(scope="module")
def temporal_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("temporal")
    x = (np.random.default_rng(0).random((3000, 3)) < [0.05, 0.1, 0.2]).astype(np.uint8)
    gan = SpikeGAN(**{k: v for k, v in CFG.to_dict().items()})
    gan.fit(x, steps=3, batch_size=16, verbose=0, run_dir=root / "run")
    return gan, root / "run"


def test_a_trained_temporal_model_saves_loads_and_draws_the_same_raster(temporal_run, tmp_path):
    gan, run = temporal_run
    r = gan.sample_raster(2000, seed=5)
    assert np.array_equal(SpikeGAN.load(run).sample_raster(2000, seed=5), r)
    assert gan.sample(4, seed=0).shape == (4, 3, 8)  # windows still work


def test_cli_samples_a_raster_and_refuses_bad_requests(temporal_run, tmp_path, capsys):
    gan, run = temporal_run
    out = tmp_path / "r.npy"
    assert main(["sample", "--run", str(run), "--raster", "--length", "2500", "--seed", "5",
                 "--chunk-size", "300", "--out", str(out)]) == 0  # chunks change nothing
    assert "continuous raster of 2500 bins x 3 neurons" in capsys.readouterr().out
    assert np.array_equal(np.load(out), gan.sample_raster(2500, seed=5))
    for argv, msg in [(["--raster", "--n", "5"], "`--raster` takes the raster's length"),
                      (["--length", "5"], "`--length` applies to `--raster`"),
                      ([], "Give the number of windows")]:
        assert main(["sample", "--run", str(run), "--out", str(tmp_path / "x.npy"),
                     *argv]) != 0
        err = capsys.readouterr().err
        assert msg in err and "Traceback" not in err
    assert not (tmp_path / "x.npy").exists()


def test_cli_refuses_a_raster_from_a_window_run(tmp_path, capsys):
    x = (np.random.default_rng(0).random((40, 3, 8)) < 0.2).astype(np.uint8)
    gan = SpikeGAN(n_neurons=3, n_bins=8, num_features=4, latent_dim=8)
    gan.fit(x, steps=1, batch_size=16, verbose=0, run_dir=tmp_path / "conv")
    assert main(["sample", "--run", str(tmp_path / "conv"), "--raster", "--length", "10",
                 "--out", str(tmp_path / "x.npy")]) != 0
    assert "'conv' architecture, which draws independent windows" in capsys.readouterr().err
    assert not (tmp_path / "x.npy").exists()


@pytest.fixture(scope="module")
def exported(temporal_run, tmp_path_factory):
    pytest.importorskip("tf2onnx")
    from spikegan_tf.export import export_run

    gan, run = temporal_run
    return export_run(run, tmp_path_factory.mktemp("models"), "savedmodel,onnx", name="t")


def test_export_writes_a_seamless_raster_model_with_parity(exported):
    assert {"onnx-raster", "savedmodel-raster"} <= set(exported.parity)
    for fmt in ("onnx-raster", "savedmodel-raster"):
        assert exported.parity[fmt].ok and exported.parity[fmt].probs_max_abs_diff < 1e-5
    manifest = json.loads((exported.path / "export.json").read_text())
    assert manifest["files"]["onnx-raster"] == "raster.onnx"
    assert manifest["raster"]["receptive_field"] == 13


def test_rig_runtime_draws_the_keras_raster(temporal_run, exported):
    from spikegan_tf.export.raster_runtime import RasterSampler

    gan, _ = temporal_run
    keras_raster = gan.sample_raster(6000, seed=11)
    sampler = RasterSampler(exported.path, seed=11, chunk=1000)
    assert sampler.receptive_field == 13 and sampler.n_neurons == 3
    # the published generator carries a spike-history filter (the default), drawn with its
    # drive carried across chunks, seeks and streams in both runtimes
    h = history_filter(gan.generator_)
    assert h.shape == (3, 10) and np.any(h)
    np.testing.assert_array_equal(
        np.asarray(sampler.metadata["spike_history"]["filter"], np.float32), h)
    first = sampler.sample(2500)
    rest = sampler.sample(3500)
    assert np.array_equal(np.concatenate([first, rest]), keras_raster)
    assert sampler.bins_drawn == 6000 and sampler.record()["seed"] == 11
    sampler.seek(100)
    bins = [next(it) for it in [sampler.stream(bins=1, chunk=64)] for _ in range(300)]
    assert np.array_equal(np.concatenate(bins), keras_raster[100:400])
    assert sampler.bins_drawn == 400
    sampler.seek(1000)
    with sampler.stream(bins=4, prefetch=256, chunk=128) as stream:
        got = np.concatenate([next(stream) for _ in range(200)])
    assert np.array_equal(got, keras_raster[1000:1800])
    assert sampler.bins_drawn == 1800
    assert np.array_equal(sampler.sample(10), keras_raster[1800:1810])


def test_cli_samples_a_raster_from_the_onnx_model(temporal_run, exported, tmp_path):
    gan, _ = temporal_run
    out = tmp_path / "o.npy"
    assert main(["sample", "--model", str(exported.path / "raster.onnx"), "--raster",
                 "--length", "3000", "--seed", "2", "--out", str(out), "--session"]) == 0
    raster = gan.sample_raster(3000, seed=2)
    assert np.array_equal(np.load(out), raster)
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["raster_file"] == "o.npy" and record["shape"] == [3000, 3]
    assert "--raster --length 3000 --seed 2" in record["replay"]
    raw = np.frombuffer(out.read_bytes()[record["data_offset"]:], np.uint8)
    assert np.array_equal(raw.reshape(3000, 3), raster)  # the layout the record states


def test_evaluate_a_continuous_raster_of_a_run_with_its_seam_test(temporal_run, tmp_path,
                                                                  capsys):
    gan, run = temporal_run
    real = tmp_path / "real.npy"
    np.save(real, (np.random.default_rng(1).random((4000, 3)) < 0.1).astype(np.uint8))
    assert main(["evaluate", "--real", str(real), "--bins", "17", "--max-lag", "16",
                 "--run", str(run), "--raster-length", "6000", "--no-figures",
                 "--out", str(tmp_path / "ev")]) == 0
    out = capsys.readouterr().out
    assert "continuous raster of 6000 bins" in out
    results = json.loads((tmp_path / "ev" / "results.json").read_text())
    assert results["settings"]["n_bins"] == 17 and results["n_windows"]["run"] == 6000 - 16
    seams = json.loads((tmp_path / "ev" / "seams.json").read_text())
    (report,) = seams.values()
    assert report["segment_length"] == 256 and 0.0 <= report["auc"] <= 1.0
    assert main(["evaluate", "--real", str(real), "--run", str(run), "--raster-length", "100",
                 "--n", "5", "--out", str(tmp_path / "e2")]) != 0
    assert "`--raster-length T` draws one raster" in capsys.readouterr().err
    assert main(["evaluate", "--real", str(real), "--run", str(run), "--raster-length", "5000",
                 "--out", str(tmp_path / "e3")]) != 0
    assert "must be at least 5376 bins" in capsys.readouterr().err
    assert not (tmp_path / "e3").exists()


def test_evaluate_expected_scores_the_same_seeds_raster_drawn_on(temporal_run, tmp_path,
                                                                 capsys):
    gan, run = temporal_run
    rng = np.random.default_rng(1)
    real, floor = tmp_path / "real.npy", tmp_path / "floor.npy"
    np.save(real, (rng.random((12000, 3)) < 0.1).astype(np.uint8))
    np.save(floor, (rng.random((5400, 3)) < 0.1).astype(np.uint8))
    common = ["evaluate", "--real", str(real), "--noise-floor", str(floor), "--bins", "8",
              "--no-figures", "--seed", "3", "--n-memorization", "20"]
    assert main(common + ["--run", str(run), "--raster-length", "5400", "--expected", "2",
                          "--block-floor", "2", "--out", str(tmp_path / "ev")]) == 0
    assert "drawn on to 10800 bins for --expected" in capsys.readouterr().out
    got = json.loads((tmp_path / "ev" / "results.json").read_text())
    assert got["n_windows"]["run"] == 5400 - 7
    assert got["n_windows"]["run (2x long: expected)"] == 10800 - 7
    assert any("drawn on to 10800 bins" in note and "its first 5400 bins are 'run'" in note
               for note in got["notes"])  # the report says what the row is
    # oracle: the same seed's rasters of both lengths, scored as generated files
    np.save(tmp_path / "one.npy", gan.sample_raster(5400, seed=3))
    np.save(tmp_path / "two.npy", gan.sample_raster(10800, seed=3))
    assert main(common + ["--generated", str(tmp_path / "one.npy"), "--generated",
                          str(tmp_path / "two.npy"), "--labels", "run,run (2x long: expected)",
                          "--out", str(tmp_path / "oracle")]) == 0
    want = json.loads((tmp_path / "oracle" / "results.json").read_text())
    assert got["results"] == want["results"]
    # the seam test and the block floor are the scored raster's alone
    assert list(json.loads((tmp_path / "ev" / "seams.json").read_text())) == [
        "run", "held-out data at the same boundaries"]
    blocks = json.loads((tmp_path / "ev" / "block_floor.json").read_text())
    assert list(blocks["generated"]) == ["run"] and blocks["length"] == 5400
    assert main(common + ["--run", str(run), "--expected", "2",
                          "--out", str(tmp_path / "bad")]) != 0
    err = capsys.readouterr().err
    assert "`--expected K` draws the --raster-length raster on" in err
    assert "Received --expected 2 without it" in err and "Traceback" not in err
    # a --generated set may not take the label the expected raster will have
    assert main(common + ["--run", str(run), "--raster-length", "5400", "--expected", "2",
                          "--generated", str(tmp_path / "two.npy"), "--labels",
                          "run (2x long: expected)", "--out", str(tmp_path / "bad")]) != 0
    assert "has the label 'run (2x long: expected)'" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def _slow_generator():
    """A hand-set temporal generator: both neurons follow a 16-bin moving average of the noise."""
    cfg = ModelConfig(n_neurons=4, n_bins=16, num_features=4, kernel_size=1,
                      architecture="temporal", temporal_layers=1, temporal_features=1,
                      latent_channels=1, latent_scales=5)
    g = build_generator(cfg, seed=0)
    g.get_layer("latent_smooth").kernel.assign(np.full((16, 1, 1), 0.25, np.float32))
    g.get_layer("tconv_1").kernel.assign(np.ones((1, 1, 1), np.float32))
    g.get_layer("tconv_1").bias.assign(np.zeros(1, np.float32))
    g.get_layer("logits").kernel.assign(np.full((1, 1, 4), 3.0, np.float32))
    g.get_layer("logits").bias.assign(np.full(4, -2.0, np.float32))
    return cfg, g


def test_slow_structure_crosses_window_boundaries_only_in_the_raster():
    """The cheap variant of the states test: a slow model's raster has no seams, its joined
    windows do (the classifier finds them), with the same statistics inside a window."""
    from spikegan_tf.evaluation.seams import seam_classifier_auc
    from spikegan_tf.gan.sampling import sample

    cfg, g = _slow_generator()
    assert cfg.receptive_field == 16
    raster = sample_raster(g, cfg, 32_000, seed=0, chunk=16)  # a model call every window
    joined = sample(g, 2000, seed=0).transpose(0, 2, 1).reshape(-1, 4)
    assert seam_classifier_auc(raster, 16, seed=0) < 0.56
    assert seam_classifier_auc(joined, 16, seed=0) > 0.62  # 0.69 measured
    # lag-12 covariance of the population: the raster keeps it across boundaries; joined
    # windows only in the 4 of 16 pairs inside one window
    def lag_cov(x, lag):
        pop = x.sum(1).astype(float) - x.sum(1).mean()
        return float((pop[:-lag] * pop[lag:]).mean())
    assert lag_cov(raster, 12) > 2.5 * lag_cov(joined, 12) > 0
    np.testing.assert_allclose(raster.mean(), joined.mean(), rtol=0.05)


@pytest.mark.slow  # 2,000 training steps: ~70-80 CPU-s
def test_a_tiny_temporal_model_learns_states_without_seams():
    """Issue 14 item 6: a tiny temporal model trained on slow states carries them across the
    boundaries where its own independent windows, joined, leave seams. Measured on seeds 0-2
    (benchmarks/results/raster_states.json): seam AUC 0.48/0.50/0.51 for the raster against
    0.65/0.64/0.62 for its joined windows."""
    from spikegan_tf.data.states import states
    from spikegan_tf.evaluation.seams import seam_classifier_auc

    sim = states(60_000, 8, dwell=20, low=0.02, high=0.2, seed=0)
    gan = SpikeGAN(n_neurons=8, n_bins=32, num_features=16, architecture="temporal",
                   temporal_layers=3, temporal_features=32, latent_channels=4)
    gan.fit(sim.spikes, steps=2000, batch_size=64, n_critic=2, verbose=0, seed=0)
    raster = gan.sample_raster(60_000, seed=1)
    joined = gan.sample(60_000 // 32, seed=1).transpose(0, 2, 1).reshape(-1, 8)
    auc_raster = seam_classifier_auc(raster, 32, seed=0)
    auc_joined = seam_classifier_auc(joined, 32, seed=0)
    assert auc_raster < 0.55 and auc_joined > auc_raster + 0.08, (auc_raster, auc_joined)
    # it learnt the states: the lag-1 covariance has the data's order of magnitude (1.2-1.7x
    # the exact one in the benchmark; multi-threaded training is not bit-reproducible)
    from spikegan_tf import statistics as stats

    got = stats.lagged_covariance(raster, n_bins=9, max_lag=8)[0].mean()
    want = sim.ground_truth["expected_lagged_covariance"][0].mean()
    assert 0.4 * want < got < 2.5 * want


def test_cli_trains_resumes_and_samples_a_temporal_run(tmp_path, capsys):
    data = tmp_path / "rec.npy"
    np.save(data, (np.random.default_rng(0).random((3000, 3)) < 0.1).astype(np.uint8))
    run = tmp_path / "run"
    flags = ["--num-features", "4", "--batch-size", "16", "--architecture", "temporal",
             "--temporal-layers", "2", "--temporal-features", "8", "--latent-channels", "4",
             "--latent-scales", "3", "--eval-every", "0", "--quiet"]
    assert main(["train", "--data", str(data), "--bins", "8", "--out", str(run),
                 "--max-steps", "2", *flags]) == 0
    assert "receptive field 16 bins" in capsys.readouterr().out  # 1 + 4 * 3 + (4 - 1)
    model = json.loads((run / "config.json").read_text())["model"]
    assert (model["architecture"], model["latent_scales"], model["latent_dim"]) == (
        "temporal", 3, (8 + 15) * 4)
    assert main(["train", "--out", str(run), "--resume", "--max-steps", "4", "--quiet"]) == 0
    steps = [int(p.name.split("-")[1].split(".")[0])
             for p in (run / "checkpoints").glob("ckpt-*.index")]
    assert max(steps) == 4  # resumed from 2 to 4
    out = tmp_path / "r.npy"
    assert main(["sample", "--run", str(run), "--raster", "--length", "500", "--out",
                 str(out)]) == 0
    assert np.array_equal(np.load(out), SpikeGAN.load(run).sample_raster(500, seed=0))


def test_raster_sampler_refuses_the_window_model_by_name(exported, tmp_path):
    from spikegan_tf.errors import RunDirError
    from spikegan_tf.export.raster_runtime import RasterSampler

    with pytest.raises(RunDirError, match="is not a raster model.*pass the raster.onnx"):
        RasterSampler(exported.path / "model.onnx")
    with pytest.raises(RunDirError, match="directory without a raster.onnx"):
        RasterSampler(tmp_path)


def test_he_initialised_dilated_layers_keep_the_latent_signal_through_a_deep_stack():
    import keras

    def signal(init: str) -> float:  # std over latent draws of the last dilated layer's output
        cfg = ModelConfig(n_neurons=4, n_bins=64, architecture="temporal", temporal_layers=6,
                          temporal_init=init)
        g = build_generator(cfg, seed=0)
        z = np.random.default_rng(1).standard_normal((64, cfg.latent_dim)).astype("float32")
        out = keras.Model(g.input, g.get_layer("tact_6").output)(z).numpy()
        kernels = [g.get_layer(f"tconv_{i}").kernel.numpy() for i in (2, 3)]
        return float(out.std(axis=0).mean()), kernels

    glorot, (g2, g3) = signal("glorot")
    he, (h2, h3) = signal("he")
    # He-uniform: variance 2 / fan_in (fan_in = kernel 5 x 64 features); Glorot: 2 / (in + out)
    assert np.var(h2) == pytest.approx(2 / 320, rel=0.1)
    assert np.var(g3) == pytest.approx(2 / 640, rel=0.1)
    assert he > 0.3 and glorot < 0.1 and he > 5 * glorot
    with pytest.raises(ConfigError, match="temporal_init"):
        ModelConfig(n_neurons=4, n_bins=8, architecture="temporal", temporal_init="normal")


def test_cli_temporal_init_reaches_the_run_config(tmp_path):
    raster = (np.random.default_rng(0).random((400, 3)) < 0.2).astype("u1")
    np.save(tmp_path / "r.npy", raster)
    run = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "r.npy"), "--bins", "8", "--out", str(run),
                 "--architecture", "temporal", "--temporal-init", "he", "--max-steps", "1",
                 "--eval-every", "0", "--num-features", "4", "--temporal-features", "4",
                 "--quiet"]) == 0
    assert json.loads((run / "config.json").read_text())["model"]["temporal_init"] == "he"
