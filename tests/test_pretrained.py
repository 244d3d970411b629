"""The pretrained retina generator shipped with the package."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spikegan_tf import SpikeGAN
from spikegan_tf.errors import ConfigError
from spikegan_tf.gan import pretrained


@pytest.fixture(scope="module")
def retina():
    return SpikeGAN.pretrained("retina50")


def test_retina50_samples_realistic_retina_windows(retina):
    x = retina.sample(2000, seed=0)
    assert x.shape == (2000, 50, 32) and x.dtype == np.uint8
    assert set(np.unique(x)) <= {0, 1}
    # the recording fires with probability 0.038 per bin; the README reports the ratio
    cfg = json.loads((pretrained.path("retina50") / "config.json").read_text())
    assert abs(x.mean() / 0.0381 - 1) < 0.12, x.mean()
    assert 0.85 < cfg["pretrained"]["rate_ratio"] < 1.15
    # retinal activity is correlated: many more synchronous bins than independent neurons give
    k = x.sum(axis=1).ravel()
    p = x.mean(axis=(0, 2))
    independent_p5 = 1 - np.mean([(np.random.default_rng(1).random((4000, 50)) < p).sum(1) < 5])
    assert np.mean(k >= 5) > 1.5 * independent_p5
    np.testing.assert_array_equal(retina.sample(50, seed=3), retina.sample(50, seed=3))


def test_retina50_documents_its_evaluation_and_the_data_citation():
    text = pretrained.describe("retina50")
    cfg = json.loads((pretrained.path("retina50") / "config.json").read_text())
    assert "Marre" in text and "Tkacik" in text and "Molano-Mazon" in text
    for ratio in cfg["pretrained"]["ratio_to_floor"].values():  # every number is in the README
        assert f"| {ratio:.2f} |" in text
    assert f"{cfg['pretrained']['step']:,} generator iterations" in text


def test_unknown_pretrained_name_is_a_one_line_error():
    with pytest.raises(ConfigError, match=r"`name` must be one of \['retina50'\]\. Received 'v1'"):
        SpikeGAN.pretrained("v1")
