import math

import pytest

from vae.config import PRESETS, ConfigError, TrainConfig, preset


def test_tutorial_preset_is_the_seed_recipe():
    tutorial = preset("tutorial")
    assert (tutorial.arch, tutorial.hidden_dim, tutorial.latent_dim) == ("dense", 256, 2)
    assert (tutorial.optimizer, tutorial.learning_rate) == ("rmsprop", 1e-3)
    assert (tutorial.epochs, tutorial.batch_size) == (10, 256)
    assert (tutorial.loss, tutorial.model, tutorial.beta) == ("tutorial", "vae", 1.0)


def test_default_keeps_the_seed_architecture_with_the_true_elbo():
    default = preset("default")
    assert (default.arch, default.hidden_dim, default.latent_dim, default.epochs) == ("dense", 256, 2, 10)
    assert default.loss == "elbo"


def test_other_presets_differ_from_default_in_one_way():
    default = preset("default")
    assert preset("autoencoder") == default.replace(model="ae")
    assert preset("latent16") == default.replace(latent_dim=16)
    assert preset("conv") == default.replace(arch="conv")
    assert set(PRESETS) == {"default", "tutorial", "autoencoder", "latent16", "conv", "conditional"}


def test_unknown_preset_names_the_choices():
    with pytest.raises(ConfigError, match="default, tutorial"):
        preset("nope")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("latent_dim", 0, "from 1 to 64"),
    ("latent_dim", 65, "from 1 to 64"),
    ("latent_dim", 2.5, "whole number"),
    ("latent_dim", True, "whole number"),
    ("epochs", 10**9, "from 1 to 1000"),
    ("batch_size", 0, "from 1 to 60000"),
    ("hidden_dim", -3, "from 8 to 2048"),
    ("seed", -1, "from 0"),
    ("train_subset", 0, "from 1 to 60000"),
    ("learning_rate", math.nan, "from 1e-06 to 1"),
    ("learning_rate", math.inf, "from 1e-06 to 1"),
    ("learning_rate", 0.0, "from 1e-06 to 1"),
    ("learning_rate", "0.1", "must be a number"),
    ("beta", -0.5, "from 0 to 100"),
    ("optimizer", "sgd", "one of rmsprop, adam"),
    ("loss", "mse", "one of elbo, tutorial"),
    ("arch", "rnn", "one of dense, conv"),
    ("model", "gan", "one of vae, ae"),
])
def test_invalid_values_raise_one_error_naming_field_and_range(field, value, message):
    with pytest.raises(ConfigError, match=message) as caught:
        TrainConfig(**{field: value})
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}:")


def test_config_is_frozen():
    with pytest.raises(AttributeError):
        TrainConfig().epochs = 3


def test_integer_float_fields_are_stored_as_floats():
    assert TrainConfig(learning_rate=1, beta=0).learning_rate == 1.0


def test_round_trip_through_a_dict():
    config = TrainConfig(latent_dim=16, optimizer="rmsprop", train_subset=1000)
    assert TrainConfig.from_dict(config.to_dict()) == config


def test_from_dict_refuses_unknown_keys_and_wrong_types():
    with pytest.raises(ConfigError, match="unknown setting"):
        TrainConfig.from_dict({**TrainConfig().to_dict(), "dropout": 0.5})
    with pytest.raises(ConfigError, match="latent_dim"):
        TrainConfig.from_dict({**TrainConfig().to_dict(), "latent_dim": "2"})
    with pytest.raises(ConfigError, match="JSON object"):
        TrainConfig.from_dict([1, 2])
