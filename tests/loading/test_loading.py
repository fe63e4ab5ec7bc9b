"""Strict checkpoint loading: every tensor accounted for, clear errors otherwise."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from remyfold.errors import WeightsError
from remyfold.loading import checkpoint_key_to_model, convert_state_dict, load_model, read_config
from remyfold.model import ESMFold, FoldingConfig

DATA = Path(__file__).parents[1] / "data"


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _edit_safetensors(directory: Path, edit) -> None:
    from safetensors.torch import load_file, save_file

    path = directory / "model.safetensors"
    state = load_file(str(path))
    edit(state)
    save_file(state, str(path))


def test_loads_tiny_checkpoint_exactly(tiny_weights_dir, tiny_reference):
    model = load_model(tiny_weights_dir)
    ours = model.state_dict()
    for name, value in tiny_reference.state_dict().items():
        key = name.replace(".attention.self.", ".attention.mha.").replace("esm.rotary_embeddings", "esm.rotary")
        if name.startswith("esm.contact_head."):
            continue
        assert torch.equal(ours[key], value.float()), name


@pytest.mark.parametrize(
    "edit, words",
    [
        (lambda s: s.pop("trunk.blocks.0.tri_mul_in.linear_z.weight"), ["missing", "tri_mul_in.linear_z.weight"]),
        (lambda s: s.__setitem__("trunk.extra.weight", torch.zeros(2)), ["unexpected", "trunk.extra.weight"]),
        (lambda s: s.__setitem__("ptm_head.bias", torch.zeros(3)), ["shape", "ptm_head.bias"]),
    ],
)
def test_mismatch_is_an_error_naming_the_tensor(tiny_weights_dir, tmp_path, edit, words):
    directory = _copy(tiny_weights_dir, tmp_path / "w")
    _edit_safetensors(directory, edit)
    with pytest.raises(WeightsError) as err:
        load_model(directory)
    for word in words:
        assert word in str(err.value)
    assert "\n" not in str(err.value)


def test_config_mismatch_is_an_error(tiny_weights_dir, tmp_path):
    directory = _copy(tiny_weights_dir, tmp_path / "w")
    config = json.loads((directory / "config.json").read_text())
    config["esmfold_config"]["trunk"]["num_blocks"] = 3
    (directory / "config.json").write_text(json.dumps(config))
    with pytest.raises(WeightsError, match="missing .*trunk.blocks.2"):
        load_model(directory)


def test_pytorch_bin_and_sharded_checkpoints_load(tiny_reference, tmp_path):
    reference = load_model_from(tiny_reference, tmp_path / "st", safe=True)
    for kwargs in ({"safe": False}, {"safe": True, "max_shard_size": "100KB"}):
        other = load_model_from(tiny_reference, tmp_path / str(len(list(tmp_path.iterdir()))), **kwargs)
        for k, v in reference.state_dict().items():
            assert torch.equal(v, other.state_dict()[k]), (kwargs, k)


def load_model_from(reference, directory: Path, safe: bool, max_shard_size: str | None = None):
    kwargs = {"max_shard_size": max_shard_size} if max_shard_size else {}
    reference.save_pretrained(str(directory), safe_serialization=safe, **kwargs)
    return load_model(directory)


def test_missing_files_are_clear_errors(tmp_path):
    with pytest.raises(WeightsError, match="no config.json"):
        load_model(tmp_path)
    shutil.copy(DATA / "esmfold_v1_config.json", tmp_path / "config.json")
    with pytest.raises(WeightsError, match="no model.safetensors or pytorch_model.bin"):
        load_model(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"truncated")
    with pytest.raises(WeightsError, match="cannot read"):
        load_model(tmp_path)


def test_non_folding_config_is_rejected(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "esm", "hidden_size": 8}))
    with pytest.raises(WeightsError, match="not an ESMFold model"):
        read_config(tmp_path)


def test_full_esmfold_v1_names_and_shapes_match_on_meta_device():
    """The 3.5B configuration: the reference's parameter names/shapes map one-to-one onto ours."""
    transformers = pytest.importorskip("transformers")
    raw = json.loads((DATA / "esmfold_v1_config.json").read_text())
    with torch.device("meta"):
        reference = transformers.EsmForProteinFolding(transformers.EsmConfig(**raw))
        ours = ESMFold(FoldingConfig.from_hf_dict(raw))
    ref_state = reference.state_dict()
    # Hub-style names too: per-layer rotary buffers and legacy LayerNorm gamma/beta.
    hub_style = {k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v
                 for k, v in ref_state.items() if k.startswith("esm.encoder.layer.")}  # fmt: skip
    for i in range(raw["num_hidden_layers"]):
        hub_style[f"esm.encoder.layer.{i}.attention.self.rotary_embeddings.inv_freq"] = ref_state[
            "esm.rotary_embeddings.inv_freq"]  # fmt: skip
    expected = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
    assert sum(p.numel() for p in ours.parameters()) > 3.4e9
    for state in (ref_state, {**{k: v for k, v in ref_state.items() if not k.startswith("esm.encoder.layer.")},
                              **hub_style}):  # fmt: skip
        converted = {k: tuple(v.shape) for k, v in _convert_meta(state).items()}
        assert converted == expected


def _convert_meta(state):
    # convert_state_dict compares duplicate rotary copies with torch.equal, which meta tensors can't do.
    rotary = {k: v for k, v in state.items() if "rotary" in k}
    assert rotary and {checkpoint_key_to_model(k) for k in rotary} == {"esm.rotary.inv_freq"}
    out = convert_state_dict({k: v for k, v in state.items() if k not in rotary})
    out["esm.rotary.inv_freq"] = next(iter(rotary.values()))
    return out
