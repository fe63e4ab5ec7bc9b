"""What the machine's Python already has, checked before anything is planned around it.

``python bench/gpu/h100_env.py`` prints one line per package (version or ``missing``) and the CUDA
device, and exits 2 with one line when something the GPU run needs is missing. Nothing is
imported beyond torch (versions come from the installed metadata), so it runs in seconds.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import platform
import sys

# Needed by bench/gpu/h100.py (remyfold itself comes from src/ on PYTHONPATH).
REQUIRED = ("torch", "numpy", "safetensors", "huggingface_hub", "tqdm", "transformers", "pytest")
# Used when present: the cuEquivariance triangle kernels (carried as packed wheels, see bench/README.md).
OPTIONAL = ("cuequivariance_torch", "cuequivariance_ops_torch", "triton")
DISTRIBUTIONS = {"huggingface_hub": "huggingface-hub", "cuequivariance_torch": "cuequivariance-torch"}


def _version(module: str) -> str | None:
    """Installed version of ``module``'s distribution, ``"present"`` if unknown, ``None`` if missing."""
    if importlib.util.find_spec(module) is None:
        return None
    names = [DISTRIBUTIONS.get(module, module), module.replace("_", "-")]
    if module == "cuequivariance_ops_torch":
        names = ["cuequivariance-ops-torch-cu13", "cuequivariance-ops-torch-cu12"]
    for name in names:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "present"


def probe() -> dict:
    """Python, package versions and the CUDA device as torch sees it."""
    packages = {name: _version(name) for name in REQUIRED + OPTIONAL}
    cuda = {"available": False}
    if packages["torch"]:
        import torch

        cuda = {"available": torch.cuda.is_available(), "torch_cuda": torch.version.cuda}
        if cuda["available"]:
            props = torch.cuda.get_device_properties(0)
            cuda |= {"name": props.name, "memory_gib": round(props.total_memory / 1024**3, 1),
                     "capability": f"{props.major}.{props.minor}", "multiprocessors": props.multi_processor_count}  # fmt: skip
    missing = [name for name in REQUIRED if packages[name] is None]
    return {"python": platform.python_version(), "executable": sys.executable, "packages": packages,
            "cuda": cuda, "missing": missing}  # fmt: skip


def main() -> int:
    info = probe()
    for name, version in info["packages"].items():
        print(f"{name:26s} {version or 'missing'}")
    print(f"python {info['python']} ({info['executable']}); CUDA: {json.dumps(info['cuda'])}")
    if info["missing"]:
        print(f"h100_env: error: missing {', '.join(info['missing'])}; carry them as wheels (bench/README.md)",
              file=sys.stderr)  # fmt: skip
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
