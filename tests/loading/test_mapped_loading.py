"""The loader's no-copy path: weights are views of the mapped checkpoint; peak RSS ≈ weights held in memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from remyfold.errors import WeightsError
from remyfold.lm_storage import stored_dtypes
from remyfold.loading import load_model
from remyfold.mapped import MappedFile
from tiny_models import tiny_config_dict

# A model of ~78 M parameters (~150 MB with its language model in fp16): big enough for the
# process's resident memory to show a second copy, small enough for a test.
MEDIUM_LM = {"hidden_size": 1024, "num_hidden_layers": 6, "num_attention_heads": 16, "intermediate_size": 4096}


def save_fp16_lm_checkpoint(directory: Path, lm: dict | None = None) -> Path:
    """A random reference saved as published esmfold_v1 is: ``fp16_esm`` on, language model in float16."""
    from transformers import EsmConfig, EsmForProteinFolding

    config = tiny_config_dict() | (lm or {})
    config["esmfold_config"] = config["esmfold_config"] | {"fp16_esm": True}
    torch.manual_seed(0)
    model = EsmForProteinFolding(EsmConfig(**config)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape) * 0.05)
    model.save_pretrained(str(directory))
    return directory


@pytest.fixture(scope="module")
def fp16_lm_dir(tmp_path_factory) -> Path:
    pytest.importorskip("transformers")
    return save_fp16_lm_checkpoint(tmp_path_factory.mktemp("fp16lm"))


def mapped_ranges(path: Path) -> list[tuple[int, int]]:
    """Address ranges of this process's mappings of ``path`` (from ``/proc/self/maps``)."""
    ranges = []
    for line in Path("/proc/self/maps").read_text().splitlines():
        if line.endswith(str(path.resolve())):
            start, end = (int(x, 16) for x in line.split()[0].split("-"))
            ranges.append((start, end))
    return ranges


def in_file(tensor: torch.Tensor, ranges: list[tuple[int, int]]) -> bool:
    return any(start <= tensor.data_ptr() < end for start, end in ranges)


def test_weights_are_views_of_the_mapped_file(fp16_lm_dir):
    model = load_model(fp16_lm_dir)
    ranges = mapped_ranges(fp16_lm_dir / "model.safetensors")
    assert ranges, "the checkpoint is not mapped"
    trunk = dict(model.trunk.named_parameters())
    assert trunk and all(in_file(p, ranges) for p in trunk.values())  # fp32 stored, fp32 held: no copy
    # The language model stays float16 as stored (read as fp32 when used), also without a copy.
    assert stored_dtypes(model.esm) == {torch.float16}
    layer = model.esm.encoder["layer"][0].intermediate["dense"]
    assert layer.weight.dtype == torch.float32  # what the layer computes with
    assert in_file(layer.parametrizations.weight.original, ranges)


def test_converted_weights_are_new_buffers(fp16_lm_dir):
    model = load_model(fp16_lm_dir, lm_dtype=torch.float32)
    ranges = mapped_ranges(fp16_lm_dir / "model.safetensors")
    assert stored_dtypes(model.esm) == {torch.float32}
    assert not any(in_file(p, ranges) for p in model.esm.parameters())
    assert all(in_file(p, ranges) for p in model.trunk.parameters())


def test_as_stored_and_converted_compute_the_same(fp16_lm_dir):
    from remyfold.api import Folder

    seq = [("x", "MKTAYIAKQRQISFVKSHFSRQ")]
    kept = Folder(load_model(fp16_lm_dir), device=torch.device("cpu")).fold_batch(seq, num_recycles=1)[0]
    wide = Folder(load_model(fp16_lm_dir, lm_dtype=torch.float32), device=torch.device("cpu"))
    other = wide.fold_batch(seq, num_recycles=1)[0]
    # Same fp32 arithmetic on the same values; only the matmul kernels' summation order may differ.
    assert abs(kept.positions - other.positions).max() < 1e-3
    assert abs(kept.plddt - other.plddt).max() < 1e-3


def test_truncated_file_is_a_clear_error(fp16_lm_dir, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text((fp16_lm_dir / "config.json").read_text())
    data = (fp16_lm_dir / "model.safetensors").read_bytes()
    (broken / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="model.safetensors.*re-download"):
        load_model(broken)
    with pytest.raises(ValueError, match="does not fit"):
        MappedFile(broken / "model.safetensors")


PEAK_SCRIPT = """
import json, sys, torch
from pathlib import Path
from remyfold.loading import load_model, read_config
from remyfold.model import ESMFold

def rss(field):
    line = next(l for l in open('/proc/self/status') if l.startswith(field))
    return int(line.split()[1]) * 1024
# Warm up what any first load and first op allocate (modules, residue tables, torch's thread pools).
float(torch.arange(4096.).reshape(-1)[::512].float().sum())
with torch.device('meta'):
    ESMFold(read_config(Path(sys.argv[1])))
before = rss('VmRSS')
model = load_model(Path(sys.argv[1]), lm_dtype={'stored': None, 'fp32': torch.float32}[sys.argv[2]])
with torch.no_grad():  # touch every page of every weight as held (as a fold does)
    for t in model.state_dict().values():
        float(t.reshape(-1)[::512].float().sum())
print(json.dumps({'before': before, 'peak': rss('VmHWM')}))
"""


@pytest.mark.parametrize("policy", ["stored", "fp32"])
def test_peak_rss_of_a_load_is_about_the_weights_held(tmp_path_factory, policy):
    pytest.importorskip("transformers")
    directory = save_fp16_lm_checkpoint(tmp_path_factory.mktemp("medium"), MEDIUM_LM)
    entries = MappedFile(directory / "model.safetensors").entries
    lm_bytes = sum(end - begin for name, (_, _, begin, end) in entries.items() if name.startswith("esm."))
    rest = sum(end - begin for _, _, begin, end in entries.values()) - lm_bytes
    held = rest + (lm_bytes if policy == "stored" else 2 * lm_bytes)
    done = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(directory), policy],
                          capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    rss = json.loads(done.stdout.strip().splitlines()[-1])
    growth = rss["peak"] - rss["before"]
    # One copy of the weights as held (+10 %, + 40 MB of interpreter/allocator noise); a second
    # copy would add at least the fp16 language model again (> 100 MB here).
    assert growth <= 1.1 * held + 40e6, (growth / 1e6, held / 1e6)
    assert growth >= 0.8 * held  # the weights were really touched


LIGHT_LOAD_SCRIPT = """
import sys
from pathlib import Path
from remyfold.loading import load_model
load_model(Path(sys.argv[1]))
print('torch._dynamo' in sys.modules)
"""


def test_load_does_not_import_the_compiler(fp16_lm_dir):
    """Building on the meta device runs no initialiser or factory through PyTorch's reference
    decompositions, whose first use imports ``torch._dynamo`` (1.7 s of a 3.2 s full-size load)."""
    done = subprocess.run([sys.executable, "-c", LIGHT_LOAD_SCRIPT, str(fp16_lm_dir)],
                          capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    assert done.stdout.strip().splitlines()[-1] == "False"
    # and the initialisers are themselves again afterwards
    assert torch.nn.init.normal_(torch.zeros(1000)).std() > 0.5
