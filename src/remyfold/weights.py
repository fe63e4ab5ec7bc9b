"""Find model weights: a local directory, or a Hugging Face Hub id resolved through its cache.

:func:`resolve_weights` turns ``--weights`` into a :class:`ResolvedWeights` (a directory
holding ``config.json`` and the weight files, a name, and a revision):

* **Local directory** (``config.json`` plus ``model.safetensors``, ``pytorch_model.bin``, or a
  sharded ``*.index.json`` with its shards). Its revision is a *content hash*: SHA-256 over,
  for each top-level weight/config file in name order, the name, the size and the first and
  last MiB of the contents (a cheap fingerprint of multi-GB files; it changes when a file
  is replaced, re-saved or truncated), shortened to ``local-`` + 12 hex digits.
* **Hub id** (default ``facebook/esmfold_v1``). The standard Hugging Face cache
  (``HF_HOME`` / ``HF_HUB_CACHE``) is looked at first, without any network access; the
  revision is the snapshot's commit hash. Only when the snapshot is not cached, and
  ``HF_HUB_OFFLINE`` is not set, is it downloaded (safetensors preferred, ``.bin`` only when
  the repository has no safetensors). Reachability of the Hub is checked first with a short
  timeout, so that a machine without internet fails within seconds.

When the weights can be neither found nor downloaded, :class:`remyfold.errors.WeightsError`
says in one line what is missing and how to get it.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from remyfold.errors import WeightsError, one_line
from remyfold.settings import DEFAULT_WEIGHTS

#: Seconds to wait for the Hub before declaring it unreachable.
HUB_TIMEOUT_S = 10.0

_SAFETENSORS_PATTERNS = ["config.json", "*.safetensors", "*.safetensors.index.json"]
_BIN_PATTERNS = ["config.json", "pytorch_model*.bin", "pytorch_model.bin.index.json"]
_WEIGHT_SUFFIXES = (".safetensors", ".bin")
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_MIB = 1 << 20


@dataclass(frozen=True)
class ResolvedWeights:
    """Where the weights are and which ones they are.

    Attributes:
        directory: folder holding ``config.json`` and the weight files.
        name: hub id, or the directory's name for a local directory.
        revision: hub commit hash, or ``local-<12 hex>`` content hash of a local directory.
    """

    directory: Path
    name: str
    revision: str


def resolve_weights(spec: str | Path = DEFAULT_WEIGHTS, *, local_files_only: bool | None = None) -> ResolvedWeights:
    """Resolve ``--weights`` (a local directory or a hub id) to a directory of weights.

    Args:
        spec: a directory path, or a Hugging Face Hub repository id.
        local_files_only: never use the network; ``None`` follows ``HF_HUB_OFFLINE``.

    Raises:
        WeightsError: not a weights directory, or not cached and not downloadable.
    """
    path = Path(spec).expanduser()
    if path.is_dir():
        return _resolve_local(path)
    text = str(spec)
    if path.exists():
        raise WeightsError(f"--weights {text} is a file; give the directory holding config.json and the weights")
    if not _REPO_ID.match(text):
        raise WeightsError(
            f"--weights {text}: no such directory, and not a Hugging Face Hub id (like {DEFAULT_WEIGHTS}); "
            "check the path"
        )
    if local_files_only is None:
        local_files_only = hub_offline()
    cached = _from_cache(text)
    if cached is not None:
        return cached
    if local_files_only:
        reason = "HF_HUB_OFFLINE is set" if hub_offline() else "offline lookup"
        raise WeightsError(_missing_message(text, reason))
    return download_weights(text, missing_hint=True)


def download_weights(
    repo_id: str = DEFAULT_WEIGHTS,
    *,
    revision: str | None = None,
    to: str | Path | None = None,
    missing_hint: bool = False,
) -> ResolvedWeights:
    """Download the weights of ``repo_id`` into the Hugging Face cache, or into the folder ``to``.

    Args:
        repo_id: hub repository id.
        revision: branch, tag or commit (default: the repository's main branch).
        to: plain folder to download into (copyable elsewhere, then ``--weights DIR``).
        missing_hint: word a failure as "weights missing" with how to get them (used by
            :func:`resolve_weights`), rather than as a failed download.

    Raises:
        WeightsError: offline, Hub unreachable, repository or revision not found.
    """

    def fail(reason: str, detail: str = "") -> WeightsError:
        """``reason`` alone in the short missing-weights line; with ``detail`` in a download error."""
        if missing_hint:
            return WeightsError(_missing_message(repo_id, reason))
        return WeightsError(f"cannot download {repo_id}: {reason}" + (f" ({detail})" if detail else ""))

    if hub_offline():
        raise fail("HF_HUB_OFFLINE is set", "unset it on a machine with internet")
    commit = _probe_hub(repo_id, revision, fail)
    local_dir = None if to is None else str(Path(to).expanduser())
    try:
        directory = _snapshot(repo_id, revision, local_files_only=False, local_dir=local_dir)
    except Exception as err:  # noqa: BLE001 - any hub or network failure while downloading
        raise fail("the download failed", one_line(err)) from None
    _check_weights_dir(directory, repo_id)
    if local_dir is not None:
        return ResolvedWeights(directory=directory, name=repo_id, revision=commit)
    return ResolvedWeights(directory=directory, name=repo_id, revision=directory.name)


def hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) is set, read now, not at import."""
    from huggingface_hub import constants

    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().upper() in {"1", "ON", "YES", "TRUE"} or bool(constants.HF_HUB_OFFLINE)


def hub_cache_dir() -> Path:
    """The Hugging Face Hub cache folder in use (``HF_HUB_CACHE``, else ``HF_HOME/hub``)."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def content_revision(directory: str | Path) -> str:
    """Content hash of a local weights directory: ``local-`` + 12 hex digits (see module docstring)."""
    digest = hashlib.sha256()
    for file in _fingerprinted_files(Path(directory)):
        size = file.stat().st_size
        digest.update(f"{file.name}\0{size}\0".encode())
        with file.open("rb") as handle:
            digest.update(handle.read(_MIB))
            if size > 2 * _MIB:
                handle.seek(size - _MIB)
                digest.update(handle.read(_MIB))
            elif size > _MIB:
                digest.update(handle.read())
    return "local-" + digest.hexdigest()[:12]


def _fingerprinted_files(directory: Path) -> list[Path]:
    """``config.json``, the weight files and their indexes, sorted by name."""
    files = [
        file for file in directory.iterdir()
        if file.is_file() and (file.suffix in _WEIGHT_SUFFIXES or file.name.endswith(".json"))
    ]  # fmt: skip
    return sorted(files, key=lambda file: file.name)


def _resolve_local(directory: Path) -> ResolvedWeights:
    """A local weights directory: check its files and fingerprint them."""
    directory = directory.resolve()
    _check_weights_dir(directory, str(directory))
    return ResolvedWeights(directory=directory, name=directory.name, revision=content_revision(directory))


def _check_weights_dir(directory: Path, label: str) -> None:
    """Raise :class:`WeightsError` unless ``directory`` has ``config.json`` and complete weights."""
    missing = []
    if not (directory / "config.json").is_file():
        missing.append("config.json")
    indexes = sorted(directory.glob("*.index.json"))
    single = [directory / "model.safetensors", directory / "pytorch_model.bin"]
    if indexes:
        missing.extend(_missing_shards(indexes[0]))
    elif not any(file.is_file() for file in single):
        missing.append("model.safetensors (or pytorch_model.bin)")
    if missing:
        raise WeightsError(
            f"weights {label} are incomplete: missing {', '.join(missing)} in {directory}; "
            f"download them again (remyfold weights download {DEFAULT_WEIGHTS} --to DIR) and pass --weights DIR"
        )


def _missing_shards(index: Path) -> list[str]:
    """Shard files named in a sharded checkpoint's ``*.index.json`` that are absent beside it."""
    import json

    try:
        weight_map = json.loads(index.read_text())["weight_map"]
    except (OSError, ValueError, KeyError, TypeError):
        return [f"a readable {index.name}"]
    return sorted(name for name in set(weight_map.values()) if not (index.parent / name).is_file())


def _from_cache(repo_id: str) -> ResolvedWeights | None:
    """The complete cached snapshot of ``repo_id`` (main branch), found without network access, or ``None``."""
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        directory = _snapshot(repo_id, None, local_files_only=True)
    except (LocalEntryNotFoundError, FileNotFoundError):
        return None
    try:
        _check_weights_dir(directory, repo_id)
    except WeightsError:  # an interrupted download: treat as not cached
        return None
    return ResolvedWeights(directory=directory, name=repo_id, revision=directory.name)


def _snapshot(repo_id: str, revision: str | None, *, local_files_only: bool, local_dir: str | None = None) -> Path:
    """``snapshot_download`` of the safetensors files, or of the ``.bin`` files when there are none."""
    from huggingface_hub import snapshot_download

    def fetch(patterns: list[str]) -> Path:
        return Path(
            snapshot_download(
                repo_id,
                revision=revision,
                allow_patterns=patterns,
                local_files_only=local_files_only,
                local_dir=local_dir,
                etag_timeout=HUB_TIMEOUT_S,
            )
        )

    directory = fetch(_SAFETENSORS_PATTERNS)
    if any(directory.glob("*.safetensors")):
        return directory
    return fetch(_BIN_PATTERNS)


def _probe_hub(repo_id: str, revision: str | None, fail) -> str:
    """Ask the Hub for ``repo_id`` with a short timeout; return the commit hash or raise ``fail(reason, detail)``."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    try:
        info = HfApi().repo_info(repo_id, revision=revision, timeout=HUB_TIMEOUT_S)
    except RevisionNotFoundError:
        raise fail(f"revision {revision!r} does not exist") from None
    except RepositoryNotFoundError:
        raise fail("no such repository on the Hub", "or it is private/gated: log in with `hf auth login`") from None
    except Exception as err:  # noqa: BLE001 - connection refused, DNS failure, timeout, proxy error, ...
        raise fail("the Hub is unreachable", one_line(err)) from None
    return str(info.sha)


def _missing_message(repo_id: str, reason: str) -> str:
    """One short line: what is missing, where it was looked for, why it was not fetched, how to get it."""
    return (
        f"weights {repo_id} not found (no such folder, not in HF cache {hub_cache_dir()}, not downloaded: {reason}); "
        f"with internet run `remyfold weights download {repo_id} --to DIR`, copy DIR here, use --weights DIR"
    )

