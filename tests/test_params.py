"""Declarative parameter constraints (issue 13, item 5): one validator, errors that carry names."""

from __future__ import annotations

import numpy as np
import pytest

from spikegan_tf.cli._args import flag_error
from spikegan_tf.errors import ConfigError
from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.gan.train_config import TrainConfig
from spikegan_tf.params import (
    Boolean,
    Integer,
    Options,
    ParamError,
    Real,
    RuleError,
    check_param,
    validate_params,
)


@pytest.mark.parametrize("constraint, good, bad, text", [
    (Integer(min=1), [1, np.int64(7)], [0, 1.0, True, "3", None], "an integer >= 1"),
    (Integer(min=0), [0, 5], [-1, 0.5], "a non-negative integer"),
    (Integer(min=2, max=4), [2, 4], [1, 5], "an integer in [2, 4]"),
    (Real(min=0, min_open=True), [1e-9, 3, np.float32(2)], [0, -1, float("nan"), float("inf"),
                                                           False, "1"], "a number > 0"),
    (Real(min=0, max=1, max_open=True), [0, 0.999], [1, -0.1], "in [0, 1)"),
    (Real(min=0, max=1, min_open=True, kind="a probability"), [1, 0.5], [0],
     "a probability in (0, 1]"),
    (Options("a", "b"), ["a"], ["c", None, 1], "one of ('a', 'b')"),
    (Options(1, 2), [1, 2], [True, 1.0, 3], "one of (1, 2)"),
    (Boolean(), [True, False], [0, 1, "yes", None], "True or False"),
])
def test_each_constraint_accepts_and_refuses_exactly(constraint, good, bad, text):
    for value in good:
        check_param("p", value, constraint)
    for value in bad:
        with pytest.raises(ParamError) as info:
            check_param("p", value, constraint)
        assert info.value.param == "p" and info.value.expected == text
        assert info.value.received is value
        assert str(info.value).startswith(f"`p` must be {text}. Received {value!r}")


def test_none_and_alternatives_and_the_type_note():
    check_param("limit", None, [Real(min=0, min_open=True), None])
    with pytest.raises(ParamError, match=r"^`limit` must be a number > 0 or None\. "
                                         r"Received 0\.$"):
        check_param("limit", 0, [Real(min=0, min_open=True), None])
    # a value of the wrong kind says its type; one of the right kind does not
    with pytest.raises(ParamError, match=r"Received 2\.0 \(float\)\.$"):
        check_param("n", 2.0, Integer(min=1))
    with pytest.raises(ParamError, match=r"Received '0\.2' \(str\)\.$"):
        check_param("slope", "0.2", Real(min=0, max=1))


def test_validate_params_reports_the_first_bad_parameter_in_spec_order():
    spec = {"a": Integer(min=1), "b": Integer(min=1), "c": Boolean()}
    validate_params(spec, {"a": 1, "b": 2, "c": True})
    with pytest.raises(ParamError) as info:
        validate_params(spec, {"a": 1, "b": 0, "c": "no"})
    assert info.value.param == "b"


def test_rule_errors_name_every_parameter_of_the_rule():
    err = RuleError("{low} must be below {high}. Received 0.5 and 0.2.", ("low", "high"))
    assert str(err) == "`low` must be below `high`. Received 0.5 and 0.2."
    assert err.with_names({"low": "--low"}) == "`--low` must be below `high`. Received 0.5 and 0.2."


def test_the_cli_names_flags_from_the_error_not_from_its_text():
    with pytest.raises(ParamError) as info:
        TrainConfig(batch_size=0)
    flagged = flag_error(info.value, {"batch_size": "--batch-size"})
    assert type(flagged) is ConfigError
    assert str(flagged) == "`--batch-size` must be an integer >= 1. Received 0."
    other = ConfigError("`batch_size` is mentioned in free text")
    assert flag_error(other, {"batch_size": "--batch-size"}) is other


@pytest.mark.parametrize("fields, param", [
    (dict(leaky_slope="0.2"), "leaky_slope"),   # was accepted (float("0.2"))
    (dict(init_stddev=None), "init_stddev"),     # was a bare TypeError
    (dict(architecture="rnn"), "architecture"),
    (dict(latent_dim=0), "latent_dim"),
    (dict(n_bins=30), "n_bins"),                 # a rule of the conv critic, same error type
])
def test_model_config_errors_carry_the_parameter(fields, param):
    with pytest.raises(ParamError) as info:
        ModelConfig(**{"n_neurons": 4, "n_bins": 32, **fields})
    assert info.value.param == param


@pytest.mark.parametrize("fields, param", [
    (dict(learning_rate=0), "learning_rate"), (dict(beta_1=1.0), "beta_1"),
    (dict(critic_input="logits"), "critic_input"), (dict(jit_compile=1), "jit_compile"),
    (dict(max_minutes=-1), "max_minutes"), (dict(seed=None), "seed"),
])
def test_train_config_errors_carry_the_parameter(fields, param):
    with pytest.raises(ParamError) as info:
        TrainConfig(**fields)
    assert info.value.param == param
