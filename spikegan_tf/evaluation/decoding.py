"""Stimulus decoders for conditional generation: real against generated windows.

A multinomial logistic-regression decoder (:class:`LogisticDecoder`: softmax
with an L2 penalty, fitted by L-BFGS-B with its analytic gradient; no
scikit-learn) on each window's spike counts, trained on real windows and tested
on generated ones and the reverse (:func:`decoding_report`), next to real-vs-real
accuracy; :func:`covariate_decoding_report` does the same for covariates with
ridge regression (R^2). Part of :mod:`spikegan_tf.evaluation.conditional`'s
checks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spikegan_tf.errors import ConfigError, SpikeDataError
from spikegan_tf.evaluation.conditional import _CHUNK, _covariates, _labels, _source, _subset
from spikegan_tf.params import Integer, Real, check_param
from spikegan_tf.validation import format_values

__all__ = ["window_features", "softmax_loss", "LogisticDecoder", "decoding_report",
           "covariate_decoding_report"]


def window_features(windows: Any, n_chunks: int = 1) -> np.ndarray:
    """Spike count of each neuron in each of ``n_chunks`` consecutive chunks of the window.

    Chunk ``j`` holds bins ``j*T//n_chunks .. (j+1)*T//n_chunks - 1``; features are
    ordered neuron by neuron (neuron ``i``, chunk ``j`` at ``i*n_chunks + j``).

    Returns
    -------
    numpy.ndarray
        float64 ``(n_windows, n_neurons * n_chunks)``.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([[[1, 1, 0, 1], [0, 0, 0, 1]]], np.uint8)
    >>> window_features(w).tolist(), window_features(w, 2).tolist()
    ([[3.0, 1.0]], [[2.0, 1.0, 0.0, 1.0]])
    """
    src = _source(windows, "windows")
    check_param("n_chunks", n_chunks, Integer(min=1, max=src.n_bins))
    starts = np.arange(n_chunks) * src.n_bins // n_chunks
    out = np.empty((src.n_windows, src.n_neurons * n_chunks))
    for k, w in enumerate(src.iter_windows(_CHUNK)):
        c = np.add.reduceat(w, starts, axis=2, dtype=np.float64)
        out[k * _CHUNK:k * _CHUNK + len(w)] = c.reshape(len(w), -1)
    return out


def softmax_loss(params: np.ndarray, features: np.ndarray, onehot: np.ndarray,
                 l2: float) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of softmax regression plus ``l2/2 * ||W||^2``, and its gradient.

    ``params`` is the flattened ``(n_features + 1, n_classes)`` matrix of the weights
    ``W`` with the (unpenalised) intercepts as its last row.

    Examples
    --------
    >>> import numpy as np
    >>> loss, grad = softmax_loss(np.zeros(6), np.ones((4, 2)), np.eye(2)[[0, 1, 0, 1]], 0.1)
    >>> bool(np.isclose(loss, np.log(2))), grad.shape
    (True, (6,))
    """
    d, k = features.shape[1], onehot.shape[1]
    w = params.reshape(d + 1, k)
    logits = features @ w[:-1] + w[-1]
    logits = logits - logits.max(axis=1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    n = features.shape[0]
    loss = -(onehot * logp).sum() / n + 0.5 * l2 * float((w[:-1] ** 2).sum())
    err = (np.exp(logp) - onehot) / n
    grad = np.vstack([features.T @ err + l2 * w[:-1], err.sum(axis=0, keepdims=True)])
    return float(loss), grad.ravel()


class LogisticDecoder:
    """Multinomial logistic regression (softmax, L2) decoding a window's condition.

    Features are :func:`window_features` standardised on the training windows
    (constant features stay 0). The fit minimises :func:`softmax_loss` from zero
    with ``scipy.optimize.minimize(method="L-BFGS-B")`` and the analytic gradient:
    deterministic, no randomness.

    Parameters
    ----------
    l2 : float
        Penalty on the weights (on the mean loss; not on the intercepts).
    n_chunks : int
        Time chunks per window for the features (1: spike count per neuron).
    max_iter : int
    tol : float
        Gradient tolerance of L-BFGS-B.

    Attributes
    ----------
    classes_ : numpy.ndarray
        The training labels, sorted.
    coef_, intercept_ : numpy.ndarray
        ``(n_features, n_classes)`` and ``(n_classes,)`` on standardised features.
    mean_, scale_ : numpy.ndarray
        The standardisation.
    window_shape_ : tuple of int
        ``(n_neurons, n_bins)`` of the training windows (other windows are refused).
    n_iter_ : int
    converged_ : bool

    Examples
    --------
    >>> import numpy as np
    >>> w = np.zeros((4, 2, 3), np.uint8); w[[1, 3], 1] = 1; w[[0, 2], 0, 0] = 1
    >>> LogisticDecoder().fit(w, np.array([0, 1, 0, 1])).predict(w).tolist()
    [0, 1, 0, 1]
    """

    def __init__(self, l2: float = 1e-3, n_chunks: int = 1, max_iter: int = 1000,
                 tol: float = 1e-6) -> None:
        check_param("l2", l2, Real(min=0))
        check_param("n_chunks", n_chunks, Integer(min=1))
        check_param("max_iter", max_iter, Integer(min=1))
        check_param("tol", tol, Real(min=0, min_open=True))
        self.l2, self.n_chunks, self.max_iter, self.tol = float(l2), n_chunks, max_iter, tol

    def _features(self, windows: Any) -> np.ndarray:
        if not hasattr(self, "coef_"):
            raise ConfigError("This LogisticDecoder is not fitted: call fit(windows, labels) "
                              "first.")
        src = _source(windows, "windows")
        if src.shape[1:] != self.window_shape_:
            raise SpikeDataError(f"`windows` have {src.n_neurons} neurons x {src.n_bins} bins but "
                                 f"the decoder was fitted on {self.window_shape_[0]} x "
                                 f"{self.window_shape_[1]}.")
        return (window_features(src, self.n_chunks) - self.mean_) / self.scale_

    def fit(self, windows: Any, labels: Any) -> LogisticDecoder:
        """Fit on windows ``(n, n_neurons, n_bins)`` and their integer labels; return ``self``."""
        from scipy.optimize import minimize

        src = _source(windows, "windows")
        x = window_features(src, self.n_chunks)
        y = _labels(labels, x.shape[0], "labels", "windows")
        classes, yi = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise ConfigError(f"`labels` must hold at least two conditions to decode. Received "
                              f"only {format_values(classes)}.")
        self.mean_ = x.mean(axis=0)
        sd = x.std(axis=0)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        x = (x - self.mean_) / self.scale_
        onehot = np.eye(classes.size)[yi]
        res = minimize(softmax_loss, np.zeros((x.shape[1] + 1) * classes.size), jac=True,
                       args=(x, onehot, self.l2), method="L-BFGS-B",
                       options={"maxiter": self.max_iter, "gtol": self.tol, "ftol": 1e-15})
        w = res.x.reshape(x.shape[1] + 1, classes.size)
        self.classes_, self.coef_, self.intercept_ = classes, w[:-1], w[-1]
        self.window_shape_ = src.shape[1:]
        self.n_iter_, self.converged_ = int(res.nit), bool(res.success)
        return self

    def predict_proba(self, windows: Any) -> np.ndarray:
        """Probability of each class (``classes_`` order), ``(n, n_classes)``."""
        z = self._features(windows) @ self.coef_ + self.intercept_
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def predict(self, windows: Any) -> np.ndarray:
        """The most probable class of each window."""
        proba = self.predict_proba(windows)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, windows: Any, labels: Any) -> float:
        """Fraction of windows whose label is predicted."""
        pred = self.predict(windows)
        return float(np.mean(pred == _labels(labels, pred.size, "labels", "windows")))


def decoding_report(real_train: Any, labels_train: Any, real_test: Any, labels_test: Any,
                    generated: Any, generated_labels: Any, *, l2: float = 1e-3,
                    n_chunks: int = 1) -> dict[str, Any]:
    """Decode the condition across real and generated windows (:class:`LogisticDecoder`).

    Returns
    -------
    dict
        Accuracies (fractions) ``real_to_real`` (trained on ``real_train``, tested on
        ``real_test``), ``real_to_generated`` (tested on ``generated``),
        ``generated_to_real`` (trained on ``generated``, tested on ``real_test``);
        ``chance`` (always guessing the most frequent class of ``real_test``);
        ``real_to_generated_pp`` and ``generated_to_real_pp``: differences from
        ``real_to_real`` in percentage points; ``n_classes``, ``n_windows``
        (``train``, ``test``, ``generated``), ``features``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> def windows(n):
    ...     y = np.arange(n) % 3
    ...     p = np.full((n, 3, 5), 0.05); p[np.arange(n), y] = 0.6  # neuron y fires for y
    ...     return (rng.random(p.shape) < p).astype(np.uint8), y
    >>> rep = decoding_report(*windows(300), *windows(150), *windows(150))
    >>> rep["chance"], rep["real_to_real"] > 0.9, abs(rep["real_to_generated_pp"]) < 5
    (0.3333333333333333, True, True)
    """
    src = {k: _source(v, k) for k, v in (("real_train", real_train), ("real_test", real_test),
                                         ("generated", generated))}
    y_train = _labels(labels_train, src["real_train"].n_windows, "labels_train", "real_train")
    y_test = _labels(labels_test, src["real_test"].n_windows, "labels_test", "real_test")
    y_gen = _labels(generated_labels, src["generated"].n_windows, "generated_labels", "generated")
    _subset(y_test, y_train, "labels_test", "labels_train")
    _subset(y_gen, y_train, "generated_labels", "labels_train")
    real = LogisticDecoder(l2, n_chunks).fit(src["real_train"], y_train)
    fake = LogisticDecoder(l2, n_chunks).fit(src["generated"], y_gen)
    rr = real.score(src["real_test"], y_test)
    rg = real.score(src["generated"], y_gen)
    gr = fake.score(src["real_test"], y_test)
    return {
        "real_to_real": rr, "real_to_generated": rg, "generated_to_real": gr,
        "chance": float(np.unique(y_test, return_counts=True)[1].max() / y_test.size),
        "real_to_generated_pp": 100 * (rg - rr), "generated_to_real_pp": 100 * (gr - rr),
        "n_classes": int(real.classes_.size),
        "n_windows": {"train": int(y_train.size), "test": int(y_test.size),
                      "generated": int(y_gen.size)},
        "features": "spike count per neuron" + (f" in each of {n_chunks} time chunks"
                                                if n_chunks > 1 else ""),
    }


def _ridge(x: np.ndarray, y: np.ndarray, alpha: float):
    mean, sd = x.mean(axis=0), x.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    z = (x - mean) / sd
    w = np.linalg.solve(z.T @ z + alpha * np.eye(z.shape[1]), z.T @ (y - y.mean(axis=0)))
    return lambda x2: ((x2 - mean) / sd) @ w + y.mean(axis=0)


def _r2(y: np.ndarray, pred: np.ndarray) -> list[float]:
    tot = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    res = ((y - pred) ** 2).sum(axis=0)
    return [float(1 - r / t) if t > 0 else float("nan") for r, t in zip(res, tot, strict=True)]


def covariate_decoding_report(real_train: Any, covariates_train: Any, real_test: Any,
                              covariates_test: Any, generated: Any, generated_covariates: Any,
                              *, alpha: float = 1.0, n_chunks: int = 1) -> dict[str, Any]:
    """Decode each window's mean covariate from its spike counts (ridge regression), as R^2.

    Ridge on :func:`window_features` standardised on the training set, penalty
    ``alpha * ||w||^2`` on the sum of squared errors, intercept unpenalised.

    Returns
    -------
    dict
        ``real_to_real``, ``real_to_generated``, ``generated_to_real``: R^2 averaged over
        covariates (the same train/test roles as :func:`decoding_report`);
        ``per_covariate``: the same keys with one R^2 per covariate;
        ``real_to_generated_diff``, ``generated_to_real_diff``: differences from
        ``real_to_real``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> def windows(n):
    ...     c = rng.random((n, 4, 1)); p = np.repeat(c.transpose(0, 2, 1), 3, axis=1)
    ...     return (rng.random((n, 3, 4)) < p).astype(np.uint8), c
    >>> rep = covariate_decoding_report(*windows(400), *windows(200), *windows(200))
    >>> 0.3 < rep["real_to_real"] < 1, sorted(rep["per_covariate"])
    (True, ['generated_to_real', 'real_to_generated', 'real_to_real'])
    """
    check_param("alpha", alpha, Real(min=0))
    sets = {"real_train": (real_train, covariates_train, "covariates_train"),
            "real_test": (real_test, covariates_test, "covariates_test"),
            "generated": (generated, generated_covariates, "generated_covariates")}
    x, y = {}, {}
    for name, (data, cov, cov_name) in sets.items():
        s = _source(data, name)
        y[name] = _covariates(cov, cov_name, s.n_windows, s.n_bins).mean(axis=1)
        x[name] = window_features(s, n_chunks)
    if len({v.shape[1] for v in x.values()}) != 1:
        raise SpikeDataError("`real_train`, `real_test` and `generated` must have as many "
                             f"neurons. Received {[v.shape[1] // n_chunks for v in x.values()]}.")
    if len({v.shape[1] for v in y.values()}) != 1:
        raise SpikeDataError("`covariates_train`, `covariates_test` and `generated_covariates` "
                             f"must have as many covariates. Received "
                             f"{[v.shape[1] for v in y.values()]}.")
    real = _ridge(x["real_train"], y["real_train"], alpha)
    fake = _ridge(x["generated"], y["generated"], alpha)
    per = {"real_to_real": _r2(y["real_test"], real(x["real_test"])),
           "real_to_generated": _r2(y["generated"], real(x["generated"])),
           "generated_to_real": _r2(y["real_test"], fake(x["real_test"]))}
    out: dict[str, Any] = {k: float(np.mean(v)) for k, v in per.items()}
    out["real_to_generated_diff"] = out["real_to_generated"] - out["real_to_real"]
    out["generated_to_real_diff"] = out["generated_to_real"] - out["real_to_real"]
    out["per_covariate"] = per
    return out


# ---------------------------------------------------------------------------- tuning
