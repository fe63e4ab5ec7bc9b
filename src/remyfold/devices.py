"""Which torch device a ``--device`` value names, and whether it is there (torch imported lazily).

``auto`` is the first CUDA GPU if there is one, else the CPU; ``cuda[:N]`` must exist. The value's
form is checked earlier, without torch, by :class:`remyfold.settings.EngineSettings`; this module
asks torch only when called, so the torch-free layers (the predict pipeline, ``serve``'s command)
can check a device without importing the engine.
"""

from __future__ import annotations

from remyfold.errors import InputError


def resolve_device(device: str):
    """``auto`` → the first CUDA device if there is one, else the CPU; ``cuda[:N]`` must exist.

    Returns a ``torch.device``; raises :class:`InputError` (one line) for a device not here.
    """
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise InputError(f"--device {device!r} is not a device; use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(f"--device {device}: no CUDA GPU is available here; use --device cpu or auto")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise InputError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) here")
    elif dev.type != "cpu":
        raise InputError(f"--device {device!r} is not supported; use auto, cpu, cuda or cuda:N")
    return dev


def check_device(device: str) -> None:
    """Raise :class:`InputError` when ``device`` asks for a CUDA GPU that is not there (torch only then)."""
    if device.startswith("cuda"):
        resolve_device(device)
