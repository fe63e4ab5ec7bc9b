"""EngineSettings: the engine's defaults written once, every bad value refused in one line."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from remyfold.errors import InputError
from remyfold.settings import (
    DEFAULT_MAX_LENGTH,
    DEFAULT_MAX_TOKENS_PER_BATCH,
    DEFAULT_WEIGHTS,
    PRECISION_HELP,
    PRECISIONS,
    EngineSettings,
)


def test_defaults():
    settings = EngineSettings()
    assert (settings.weights, settings.device, settings.precision, settings.attention) == (
        DEFAULT_WEIGHTS, "auto", "fp32", "auto")  # fmt: skip
    assert (settings.num_recycles, settings.chunk_size, settings.threads) == (None, None, None)
    assert (settings.max_tokens_per_batch, settings.max_length) == (DEFAULT_MAX_TOKENS_PER_BATCH, DEFAULT_MAX_LENGTH)
    assert PRECISIONS == ("fp32", "bf16", "fp32-lm16", "tf32") and all(PRECISION_HELP[p] for p in PRECISIONS)


@pytest.mark.parametrize(("field", "value", "flag"), [
    ("device", "gpu", "--device gpu"),
    ("device", "cuda:x", "--device cuda:x"),
    ("precision", "fp8", "--precision fp8"),
    ("attention", "flash", "--attention flash"),
    ("num_recycles", -1, "--num-recycles -1"),
    ("num_recycles", 1.5, "--num-recycles 1.5"),
    ("chunk_size", 0, "--chunk-size 0"),
    ("threads", -2, "--threads -2"),
    ("threads", True, "--threads True"),
    ("max_tokens_per_batch", 0, "--max-tokens-per-batch 0"),
    ("max_length", -5, "--max-length -5"),
])  # fmt: skip
def test_each_bad_value_is_one_line_naming_its_flag(field, value, flag):
    with pytest.raises(InputError) as err:
        EngineSettings(**{field: value})
    message = str(err.value)
    assert message.startswith(flag + ":") and "\n" not in message


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:3"])
def test_good_devices_pass_without_torch_checks(device):
    assert EngineSettings(device=device).device == device  # whether the GPU exists is checked at load


def test_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        EngineSettings().precision = "bf16"  # type: ignore[misc]


def test_predict_options_hold_the_engine_settings(tmp_path):
    from remyfold.pipeline import PredictOptions

    options = PredictOptions(tmp_path, device="cpu", num_recycles=2, overwrite=True)
    assert options.engine == EngineSettings(device="cpu", num_recycles=2)
    assert (options.device, options.num_recycles, options.overwrite) == ("cpu", 2, True)
    moved = dataclasses.replace(options, device="cuda:1")
    assert moved.engine == EngineSettings(device="cuda:1", num_recycles=2) and moved.overwrite
    with pytest.raises(InputError, match="--chunk-size 0"):
        PredictOptions(tmp_path, chunk_size=0)
    with pytest.raises(TypeError):
        PredictOptions(tmp_path, recycles=2)


def test_predict_parser_takes_its_defaults_and_precisions_from_the_settings():
    from remyfold.commands import predict

    parser = argparse.ArgumentParser()
    predict.add_arguments(parser)
    args = parser.parse_args(["x.fa", "--out", "o"])
    defaults = EngineSettings()
    assert (args.weights, args.device, args.precision, args.max_length, args.max_tokens_per_batch) == (
        defaults.weights, defaults.device, defaults.precision, defaults.max_length, defaults.max_tokens_per_batch)  # fmt: skip
    [action] = [a for a in parser._actions if "--precision" in a.option_strings]
    assert all(name in action.metavar and PRECISION_HELP[name] in action.help for name in PRECISIONS)


def test_serve_takes_its_engine_settings_and_offers_every_precision(tmp_path):
    from remyfold.commands import serve
    from remyfold.serve.config import ServeConfig

    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    args = parser.parse_args(["--data", str(tmp_path), "--precision", "fp32-lm16"])
    assert args.precision == "fp32-lm16"
    assert (args.weights, args.max_tokens_per_batch) == (DEFAULT_WEIGHTS, DEFAULT_MAX_TOKENS_PER_BATCH)
    config = ServeConfig(data_dir=tmp_path, precision="fp32-lm16", chunk_size=64)
    assert config.engine == EngineSettings(precision="fp32-lm16", chunk_size=64)
    with pytest.raises(InputError, match="--precision fp8"):
        ServeConfig(data_dir=tmp_path, precision="fp8")


def test_api_checks_the_settings_before_loading_anything(tmp_path):
    from remyfold.api import Folder

    with pytest.raises(InputError, match="^--precision fp8: choose one of fp32, bf16, fp32-lm16, tf32$"):
        Folder.from_pretrained(tmp_path / "no-weights-here", precision="fp8")
