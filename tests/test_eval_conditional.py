"""Conditional evaluation: per-condition floors, decoders and tuning curves against exact oracles."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.optimize import minimize

from spikegan_tf.data.source import windowed_spikes
from spikegan_tf.errors import ConfigError, SpikeDataError
from spikegan_tf.evaluation import (
    LogisticDecoder,
    compare,
    compare_by_condition,
    conditional_markdown,
    covariate_decoding_report,
    covariate_groups,
    decoding_report,
    softmax_loss,
    tuning_correlation,
    tuning_curves,
    window_features,
)
from spikegan_tf.params import ParamError


def tuned(rng, n, n_classes=4, n_neurons=5, n_bins=6, high=0.6, low=0.05):
    """Windows whose neuron ``label`` fires more; labels cycle over the classes."""
    y = np.arange(n) % n_classes
    p = np.full((n, n_neurons, n_bins), low)
    p[np.arange(n), y] = high
    return (rng.random(p.shape) < p).astype(np.uint8), y


def conditioned(rng, n, rates=(0.1, 0.25, 0.4)):
    y = np.arange(n) % len(rates)
    p = np.asarray(rates)[y][:, None, None]
    return (rng.random((n, 4, 6)) < p).astype(np.uint8), y


# ------------------------------------------------------------------ per condition

def test_per_condition_ratios_equal_compare_on_each_subset(rng):
    ref, yr = conditioned(rng, 300)
    held, yh = conditioned(rng, 150)
    gen, yg = conditioned(rng, 150, rates=(0.12, 0.2, 0.4))
    ref, yr = np.concatenate([ref, ref[:30]]), np.concatenate([yr, np.full(30, 7)])
    held, yh = np.concatenate([held, held[:20]]), np.concatenate([yh, np.full(20, 7)])
    gen, yg = np.concatenate([gen, gen[:5]]), np.concatenate([yg, np.full(5, 7)])  # too few
    order = rng.permutation(len(yg))  # conditions in another order than in the other sets
    gen, yg = gen[order], yg[order]
    res = compare_by_condition(ref, yr, held, yh, gen, yg, max_lag=2, min_windows=10)
    assert res.conditions == (0, 1, 2)
    assert list(res.skipped) == [7] and "5 generated windows" in res.skipped[7]
    assert res.n_windows[7] == (30, 20, 5) and res.n_windows[0] == (100, 50, 50)
    by_hand = {c: compare(ref[yr == c], {"generated": gen[yg == c]}, held[yh == c], max_lag=2)
               for c in (0, 1, 2)}
    assert set(res.statistic_names) == set(by_hand[0].metrics["generated"])
    for name in res.statistic_names:
        expected = np.array([by_hand[c].ratio("generated", name) for c in (0, 1, 2)])
        np.testing.assert_array_equal(res.ratios(name), expected)
        s = res.summary()[name]
        ok = np.isfinite(expected)
        assert s["n_conditions"] == ok.sum()
        if ok.any():
            assert s["median"] == pytest.approx(np.median(expected[ok]))
            assert s["max"] == expected[ok].max()
            assert s["worst_condition"] == (0, 1, 2)[int(np.nanargmax(expected))]
    # condition 0's generated rate is off (0.12 vs 0.1): its rate ratio is the worst
    assert res.summary()["firing_probability"]["worst_condition"] == 0
    json.dumps(res.to_dict(), allow_nan=False)


def test_small_conditions_raise_when_asked_and_when_nothing_is_left(rng):
    ref, yr = conditioned(rng, 60)
    held, yh = conditioned(rng, 30)
    with pytest.raises(ConfigError, match=r"Too few windows in condition 0: 10 held-out windows"):
        compare_by_condition(ref, yr, held, yh, ref, yr, min_windows=11, on_small="raise")
    with pytest.raises(ConfigError, match="No condition has `min_windows`=50"):
        compare_by_condition(ref, yr, held, yh, ref, yr, min_windows=50)
    with pytest.raises(ParamError, match="`on_small` must be one of"):
        compare_by_condition(ref, yr, held, yh, ref, yr, on_small="drop")


def test_covariate_groups_are_exact_quantiles(rng):
    values = rng.normal(size=101)
    cov = np.repeat(values[:, None, None], 5, axis=1) + np.array([-1, 0, 0, 0, 1.0])[:, None]
    labels = covariate_groups(cov, 4)  # window means are `values`
    edges = np.quantile(values, [0.25, 0.5, 0.75])
    expected = (values[:, None] >= edges).sum(axis=1)
    np.testing.assert_array_equal(labels, expected)
    assert np.bincount(labels).tolist() == [25, 25, 25, 26]  # an edge value joins the upper group
    other = rng.normal(size=(20, 5, 2))
    two = np.concatenate([other, cov[:20]], axis=2)
    ref = np.concatenate([rng.normal(size=(101, 5, 2)), cov], axis=2)
    np.testing.assert_array_equal(covariate_groups(two, 4, reference=ref, covariate=2),
                                  expected[:20])
    with pytest.raises(ConfigError, match="`covariate` must name the covariate"):
        covariate_groups(two, 4)


# ---------------------------------------------------------------------- decoding

def test_softmax_gradient_matches_finite_differences(rng):
    x = rng.normal(size=(30, 4))
    onehot = np.eye(3)[rng.integers(0, 3, 30)]
    params = rng.normal(size=(5 * 3))
    _, grad = softmax_loss(params, x, onehot, 0.3)
    eps = 1e-6
    fd = np.array([(softmax_loss(params + eps * e, x, onehot, 0.3)[0]
                    - softmax_loss(params - eps * e, x, onehot, 0.3)[0]) / (2 * eps)
                   for e in np.eye(params.size)])
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)


def test_window_features_count_spikes_per_chunk(rng):
    w = (rng.random((7, 3, 10)) < 0.5).astype(np.uint8)
    chunks = [w[:, :, :3], w[:, :, 3:6], w[:, :, 6:]]  # 10 bins in 3 chunks: starts 0, 3, 6
    expected = np.stack([c.sum(axis=2) for c in chunks], axis=2).reshape(7, 9)
    np.testing.assert_array_equal(window_features(w, 3), expected)
    raster = (rng.random((40, 3)) < 0.5).astype(np.uint8)
    src = windowed_spikes(raster, n_bins=10, stride=3)
    np.testing.assert_array_equal(window_features(src, 2), window_features(src.windows(), 2))


def test_separable_data_is_decoded_perfectly(rng):
    def separable(n):
        w, y = tuned(rng, n, n_bins=8, high=0.1, low=0.1)
        w[:, :, 3:] = 0
        w[np.arange(n), y, :6] = 1  # own neuron >= 6 spikes, the others <= 3
        return w, y
    w, y = separable(200)
    test, yt = separable(100)
    dec = LogisticDecoder().fit(w, y)
    assert dec.score(w, y) == 1.0 and dec.score(test, yt) == 1.0
    assert dec.converged_
    again = LogisticDecoder().fit(w, y)  # deterministic
    np.testing.assert_array_equal(again.coef_, dec.coef_)


def test_two_classes_agree_with_a_binary_logistic_fit(rng):
    w, y = tuned(rng, 200, n_classes=2, high=0.3, low=0.2)
    l2 = 0.1
    dec = LogisticDecoder(l2=l2, tol=1e-10).fit(w, y)
    x = window_features(w)
    z = (x - x.mean(0)) / x.std(0)

    def binary(p):  # mean log loss of sigmoid(z @ v + c); softmax's W penalty = l2/4 |v|^2
        v, c = p[:-1], p[-1]
        s = z @ v + c
        loss = np.mean(np.logaddexp(0, s) - y * s) + l2 / 4 * v @ v
        e = (1 / (1 + np.exp(-s)) - y) / len(y)
        return loss, np.append(z.T @ e + l2 / 2 * v, e.sum())

    fit = minimize(binary, np.zeros(z.shape[1] + 1), jac=True, method="BFGS",
                   options={"gtol": 1e-12})
    p1 = 1 / (1 + np.exp(-(z @ fit.x[:-1] + fit.x[-1])))
    np.testing.assert_allclose(dec.predict_proba(w)[:, 1], p1, atol=1e-6)
    np.testing.assert_allclose(dec.coef_[:, 1] - dec.coef_[:, 0], fit.x[:-1], atol=1e-5)


def test_identical_generated_windows_decode_like_real_ones(rng):
    train, y_train = tuned(rng, 200, high=0.3, low=0.15)
    test, y_test = tuned(rng, 120, high=0.3, low=0.15)
    rep = decoding_report(train, y_train, test, y_test, test, y_test)
    assert rep["real_to_generated"] == rep["real_to_real"] and rep["real_to_generated_pp"] == 0
    assert 0.4 < rep["real_to_real"] < 1  # neither trivial nor chance
    rep2 = decoding_report(train, y_train, test, y_test, train, y_train)
    assert rep2["generated_to_real"] == rep["real_to_real"]
    assert rep["chance"] == 0.25 and rep["n_classes"] == 4
    assert rep["n_windows"] == {"train": 200, "test": 120, "generated": 120}


def test_uninformative_generated_labels_decode_at_chance(rng):
    train, y_train = tuned(rng, 400)
    test, y_test = tuned(rng, 400)
    gen, _ = tuned(rng, 100)
    # every generated window once with each label: the labels carry no information, the
    # optimum is W = 0 (uniform probabilities) and generated -> real is exactly chance
    rep = decoding_report(train, y_train, test, y_test, np.repeat(gen, 4, axis=0),
                          np.tile(np.arange(4), 100))
    assert rep["real_to_real"] > 0.9
    assert rep["generated_to_real"] == rep["chance"] == 0.25
    assert rep["generated_to_real_pp"] == pytest.approx(100 * (0.25 - rep["real_to_real"]))
    # shuffled labels: a real decoder finds them at chance level
    shuffled = decoding_report(train, y_train, test, y_test, gen, rng.permutation(np.arange(100) % 4))
    assert abs(shuffled["real_to_generated"] - 0.25) < 0.15
    assert shuffled["generated_to_real_pp"] < -25  # chance on average; the mapping varies


def test_covariate_decoding_is_ordinary_least_squares_without_penalty(rng):
    def windows(n):
        c = rng.random((n, 6, 2))
        p = 0.1 + 0.6 * c[:, :, :1].transpose(0, 2, 1).repeat(3, axis=1)
        return (rng.random((n, 3, 6)) < p).astype(np.uint8), c
    (a, ca), (b, cb) = windows(150), windows(80)
    rep = covariate_decoding_report(a, ca, b, cb, b, cb, alpha=0.0)
    xa = np.column_stack([window_features(a), np.ones(150)])
    coef = np.linalg.lstsq(xa, ca.mean(axis=1), rcond=None)[0]
    pred = np.column_stack([window_features(b), np.ones(80)]) @ coef
    yb = cb.mean(axis=1)
    r2 = 1 - ((yb - pred) ** 2).sum(0) / ((yb - yb.mean(0)) ** 2).sum(0)
    np.testing.assert_allclose(rep["per_covariate"]["real_to_real"], r2, rtol=1e-9)
    assert rep["real_to_generated"] == rep["real_to_real"] and rep["real_to_generated_diff"] == 0
    assert r2[0] > 0.15 and abs(r2[1]) < 0.1  # the spikes carry covariate 0 only


# ------------------------------------------------------------------------ tuning

def test_tuning_curves_exact_on_a_hand_made_example():
    w = np.zeros((5, 3, 4), np.uint8)
    w[0, 0] = 1            # class 0: neuron 0 in every bin
    w[1, 0, :2] = 1        # class 0: neuron 0 in half of the bins
    w[2, 1, 0] = 1         # class 2: neuron 1 in one bin
    w[3, 2, :3] = 1        # class 2: neuron 2 in three bins
    w[4, :, :] = 0         # class 2: silent
    labels = np.array([0, 0, 2, 2, 2])
    curves = tuning_curves(w, labels, n_classes=4)
    expected = np.array([[6 / 8, 0, 0], [np.nan] * 3, [0, 1 / 12, 3 / 12], [np.nan] * 3])
    np.testing.assert_array_equal(curves, expected)
    raster = w.transpose(0, 2, 1).reshape(20, 3)  # the same windows as a raster
    np.testing.assert_array_equal(
        tuning_curves(windowed_spikes(raster, n_bins=4, stride=4), labels, 4), expected)
    with pytest.raises(ConfigError, match=r"`labels` must be in 0..1 \(n_classes=2\). Received "
                                          r"values \{2\}"):
        tuning_curves(w, labels, n_classes=2)


def test_tuning_correlation_is_pearson_over_entries(rng):
    truth = rng.random((6, 4))
    est = truth + 0.1 * rng.normal(size=truth.shape)
    assert tuning_correlation(est, truth) == pytest.approx(
        np.corrcoef(est.ravel(), truth.ravel())[0, 1])
    per = tuning_correlation(est, truth, per_neuron=True)
    np.testing.assert_allclose(per, [np.corrcoef(est[:, i], truth[:, i])[0, 1] for i in range(4)])
    assert tuning_correlation(3 * truth + 1, truth) == pytest.approx(1.0)
    est[0, 0] = np.nan  # an empty class is left out
    mask = np.isfinite(est.ravel())
    assert tuning_correlation(est, truth) == pytest.approx(
        np.corrcoef(est.ravel()[mask], truth.ravel()[mask])[0, 1])


# -------------------------------------------------------------------------- errors

@pytest.mark.parametrize("call, error, message", [
    (lambda w, y: decoding_report(w, y[:-1], w, y, w, y), SpikeDataError,
     r"^`labels_train` has 39 labels but `real_train` has 40 windows: give one label per window\.$"),
    (lambda w, y: decoding_report(w, y.astype(float), w, y, w, y), SpikeDataError,
     r"^`labels_train` must be a 1-D array of integer labels\. Received shape \(40,\), "
     r"dtype float64\.$"),
    (lambda w, y: tuning_curves(w, y[:, None]), SpikeDataError,
     r"^`labels` must be a 1-D array of integer labels\. Received shape \(40, 1\)"),
    (lambda w, y: decoding_report(w, y, w, y, w, y + 3), ConfigError,
     r"^`generated_labels` holds condition\(s\) \{3, 4, 5\} that `labels_train` does not"),
    (lambda w, y: compare_by_condition(w, y, w, y, w, np.where(y == 0, 9, y)), ConfigError,
     r"^`generated_labels` holds condition\(s\) \{9\} that `reference_labels` does not"),
    (lambda w, y: covariate_groups(np.full((4, 6, 1), np.nan)), SpikeDataError,
     r"^`covariates` must be finite\. Received 24 NaN and 0 infinite values\.$"),
    (lambda w, y: covariate_decoding_report(w, np.zeros((40, 5, 1)), w, np.zeros((40, 6, 1)),
                                            w, np.zeros((40, 6, 1))), SpikeDataError,
     r"^`covariates_train` must have shape \(40, 6, n_covariates\), one covariate series per "
     r"window\. Received shape \(40, 5, 1\)\.$"),
    (lambda w, y: LogisticDecoder().fit(w, np.zeros(40, int)), ConfigError,
     r"^`labels` must hold at least two conditions to decode\. Received only \{0\}\.$"),
    (lambda w, y: LogisticDecoder(l2=-1.0), ParamError, r"^`l2` must be a number >= 0"),
    (lambda w, y: LogisticDecoder().fit(w, y).score(w[:, :4], y), SpikeDataError,
     r"^`windows` have 4 neurons x 6 bins but the decoder was fitted on 5 x 6\.$"),
    (lambda w, y: LogisticDecoder().predict(w), ConfigError, r"is not fitted: call fit"),
    (lambda w, y: window_features(w, 7), ParamError, r"^`n_chunks` must be an integer in \[1, 6\]"),
])
def test_errors_are_one_line_naming_the_argument(rng, call, error, message):
    w, y = tuned(rng, 40, n_classes=3)
    with pytest.raises(error, match=message) as info:
        call(w, y)
    assert "\n" not in str(info.value)


# ------------------------------------------------------------------ report, figure

def test_markdown_lists_conditions_or_summarises_them(rng):
    ref, yr = conditioned(rng, 120)
    held, yh = conditioned(rng, 60)
    res = compare_by_condition(ref, yr, held, yh, held, yh, max_lag=2)
    text = conditional_markdown(res, tuning_r={"generated": 0.961, "held-out": 0.99})
    lines = text.splitlines()
    header = next(ln for ln in lines if ln.startswith("| condition"))
    assert header.split(" | ")[2:4] == ["firing_probability", "covariance"]
    rows = [ln for ln in lines if ln.startswith(("| 0 |", "| 1 |", "| 2 |"))]
    assert len(rows) == 3 and rows[0].startswith("| 0 | 40 / 20 / 20 | 1.00x | 1.00x")
    assert any(ln.startswith("| **max** (3 conditions)") for ln in lines)
    assert "r = 0.961 (generated), r = 0.990 (held-out)" in text
    short = conditional_markdown(res, max_conditions=2).splitlines()
    assert not any(ln.startswith("| 0 |") for ln in short)
    worst = next(ln for ln in short if ln.startswith("| worst condition"))
    assert worst.split(" | ")[2] in {"0", "1", "2"}


def test_plot_conditional_writes_a_png(rng, tmp_path):
    pytest.importorskip("matplotlib")
    from spikegan_tf.evaluation import plot_conditional

    ref, yr = conditioned(rng, 120)
    held, yh = conditioned(rng, 60)
    res = compare_by_condition(ref, yr, held, yh, held, yh, max_lag=2)
    truth = tuning_curves(ref, yr)
    path = plot_conditional(tmp_path / "conditional.png", comparison=res,
                            tuning=tuning_curves(held, yh), reference_tuning=truth)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ConfigError, match="needs `comparison`"):
        plot_conditional(tmp_path / "x.png")
