"""Tests of remyfold.weights: local directories, a fake offline hub cache, and the missing-weights error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from remyfold.errors import WeightsError
from remyfold.weights import content_revision, resolve_weights

COMMIT = "0123456789abcdef0123456789abcdef01234567"
# The missing-weights line, its cache path counted as a typical 28-character one (~/.cache/huggingface/hub).
MAX_MESSAGE = 250 - 28 + len("<cache>")


def make_weights_dir(directory, weights_name="model.safetensors", payload=b"\x00" * 64):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps({"model_type": "esm"}))
    (directory / weights_name).write_bytes(payload)
    return directory


def make_hub_cache(cache, repo_id="org/tiny-fold", commit=COMMIT, weights_name="model.safetensors"):
    """Lay out ``cache`` like a Hugging Face hub cache holding one snapshot of ``repo_id`` on ``main``."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    make_weights_dir(repo / "snapshots" / commit, weights_name)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    return repo / "snapshots" / commit


@pytest.fixture
def offline_cache(tmp_path, monkeypatch):
    """An empty hub cache, with the network disabled (env read now, constants set at import)."""
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


@pytest.mark.parametrize("weights_name", ["model.safetensors", "pytorch_model.bin"])
def test_local_directory(tmp_path, weights_name):
    directory = make_weights_dir(tmp_path / "esm_tiny", weights_name)
    resolved = resolve_weights(directory)
    assert resolved.directory == directory.resolve()
    assert resolved.name == "esm_tiny"
    assert resolved.revision.startswith("local-") and len(resolved.revision) == len("local-") + 12
    assert resolve_weights(str(directory)).revision == resolved.revision  # deterministic


def test_content_revision_changes_with_content(tmp_path):
    a = make_weights_dir(tmp_path / "a", payload=b"\x00" * (3 << 20))
    b = make_weights_dir(tmp_path / "b", payload=b"\x00" * (3 << 20 - 1) + b"\x01")  # differs in the last MiB
    c = make_weights_dir(tmp_path / "c", payload=b"\x00" * (3 << 20))
    assert content_revision(a) == content_revision(c)
    assert content_revision(a) != content_revision(b)


def test_sharded_local_directory(tmp_path):
    directory = make_weights_dir(tmp_path / "sharded", "model-00001-of-00002.safetensors")
    index = {"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}
    (directory / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(WeightsError, match="missing model-00002-of-00002.safetensors"):
        resolve_weights(directory)
    (directory / "model-00002-of-00002.safetensors").write_bytes(b"x")
    assert resolve_weights(directory).directory == directory.resolve()


def test_incomplete_local_directory(tmp_path):
    directory = tmp_path / "partial"
    directory.mkdir()
    (directory / "config.json").write_text("{}")
    with pytest.raises(WeightsError, match="missing model.safetensors"):
        resolve_weights(directory)


def test_path_like_spec_that_does_not_exist(tmp_path):
    with pytest.raises(WeightsError, match="no such directory"):
        resolve_weights(str(tmp_path / "nowhere"))
    with pytest.raises(WeightsError, match="is a file"):
        resolve_weights(make_weights_dir(tmp_path / "d") / "config.json")


@pytest.mark.parametrize("weights_name", ["model.safetensors", "pytorch_model.bin"])
def test_hub_cache_offline(offline_cache, weights_name):
    snapshot = make_hub_cache(offline_cache, weights_name=weights_name)
    resolved = resolve_weights("org/tiny-fold")
    assert resolved.directory == snapshot.resolve()
    assert (resolved.name, resolved.revision) == ("org/tiny-fold", COMMIT)


def test_incomplete_hub_snapshot_counts_as_missing(offline_cache):
    snapshot = make_hub_cache(offline_cache)
    (snapshot / "model.safetensors").unlink()  # an interrupted download
    with pytest.raises(WeightsError, match="not found"):
        resolve_weights("org/tiny-fold")


def test_missing_offline_is_one_line_and_fast(offline_cache):
    start = time.perf_counter()
    with pytest.raises(WeightsError) as info:
        resolve_weights("facebook/esmfold_v1")
    assert time.perf_counter() - start < 5
    message = str(info.value)
    assert "\n" not in message and len(message.replace(str(offline_cache), "<cache>")) <= MAX_MESSAGE
    for part in ("facebook/esmfold_v1", "HF_HUB_OFFLINE", str(offline_cache),
                 "remyfold weights download facebook/esmfold_v1", "--weights"):  # fmt: skip
        assert part in message


def test_missing_unreachable_hub_is_fast(tmp_path, monkeypatch):
    """With the network allowed but the Hub unreachable (a closed local port), fail within seconds."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # discard port: connection refused
    start = time.perf_counter()
    with pytest.raises(WeightsError, match="not downloaded: .*unreachable") as info:
        resolve_weights("org/absent")
    assert time.perf_counter() - start < 15
    assert len(str(info.value).replace(str(tmp_path), "<cache>")) <= MAX_MESSAGE


def test_env_vars_respected_in_a_fresh_process(tmp_path):
    """HF_HUB_CACHE and HF_HUB_OFFLINE set in the environment, as a user would."""
    make_hub_cache(tmp_path / "cache")
    env = dict(os.environ, HF_HUB_CACHE=str(tmp_path / "cache"), HF_HUB_OFFLINE="1")
    code = "from remyfold.weights import resolve_weights; print(resolve_weights('org/tiny-fold').revision)"
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == COMMIT


@pytest.fixture
def cli_main(monkeypatch):
    """``remyfold.cli.main`` with only the ``weights`` command attached (independent of the others)."""
    from remyfold import cli

    monkeypatch.setattr(cli, "COMMANDS", {"weights": "remyfold.commands.weights"})
    return cli.main


def test_weights_path_command(offline_cache, cli_main, capsys):
    main = cli_main
    snapshot = make_hub_cache(offline_cache)
    assert main(["weights", "path", "org/tiny-fold"]) == 0
    assert capsys.readouterr().out.strip() == f"{snapshot.resolve()}\torg/tiny-fold\t{COMMIT}"
    assert main(["weights", "path", "org/other"]) == 2
    assert "not found" in capsys.readouterr().err


def test_weights_download_offline_is_an_error(offline_cache, cli_main, capsys):
    main = cli_main
    assert main(["weights", "download", "org/tiny-fold"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("remyfold weights: error: cannot download org/tiny-fold") and "\n" not in error


@pytest.mark.parametrize("offline", [False, True])
def test_weights_path_says_hf_hub_offline_only_when_set(tmp_path, monkeypatch, cli_main, capsys, offline):
    """`weights path` never downloads; it blames HF_HUB_OFFLINE only when that is set."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    if offline:
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    else:
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    assert cli_main(["weights", "path", "org/absent"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and ("HF_HUB_OFFLINE is set" in error) == offline
