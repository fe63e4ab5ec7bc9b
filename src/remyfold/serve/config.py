"""Typed settings of the folding server: :class:`ServeConfig` and its :class:`Limits`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from remyfold.settings import DEFAULT_MAX_TOKENS_PER_BATCH, DEFAULT_WEIGHTS, EngineSettings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DATABASE_NAME = "remyfold-serve.sqlite"


@dataclass(frozen=True)
class Limits:
    """What one request / user may ask for. Breaking one answers a 4xx JSON error.

    Attributes:
        max_request_bytes: largest request body (413 beyond).
        max_residues: residues per record, all chains together (422 beyond).
        max_records: records per job (422 beyond).
        max_queued_jobs: jobs a user may have queued or running at once (429 beyond).
        max_recycles: largest ``num_recycles`` a job may ask for (422 beyond).
        max_reference_bytes: largest reference structure for ``compare``, once unpacked (413 beyond).
    """

    max_request_bytes: int = 2 * 1024 * 1024
    max_residues: int = 2048
    max_records: int = 100
    max_queued_jobs: int = 20
    max_recycles: int = 24
    max_reference_bytes: int = 64 * 1024 * 1024

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"limit {name} must be a positive integer, got {value!r}")


@dataclass(frozen=True)
class ServeConfig:
    """Settings of one server.

    Attributes:
        data_dir: folder holding the SQLite job store and every job's files.
        weights: what ``--weights`` names (a folder or a hub id); loaded once by each worker.
        weights_name, weights_revision: which weights these are (:func:`remyfold.weights.resolve_weights`);
            recorded on every job at submission, and a worker folds only jobs of its revision.
        devices: one worker process per device (``cpu``, ``cuda:0``, ...).
        host, port: where uvicorn listens (loopback by default; put TLS in front, see README).
        secure_cookies: mark the session cookie ``Secure`` (only sent over HTTPS). Turn off only
            for plain-http testing on localhost.
        atlas_wait_s: how long ``POST /foldSequence/v1/pdb/`` waits for its job before 202.
        session_hours: lifetime of a browser session.
        max_tokens_per_batch: the folding token budget (as ``predict --max-tokens-per-batch``).
        precision, chunk_size: as for ``predict``.
        engine: the engine's settings made of the above (:class:`~remyfold.settings.EngineSettings`,
            checked once when the config is made; each worker runs it on its own device).
        loader: ``module:function``, a :class:`remyfold.pipeline.FolderLoader` ``(weights, options) -> folder``
            building the engine in a worker; ``None``: the predict pipeline's (tests plug a fake engine in).
        poll_s: how often an idle worker looks for a job.
    """

    data_dir: Path
    weights: str = DEFAULT_WEIGHTS
    weights_name: str = ""
    weights_revision: str = ""
    devices: tuple[str, ...] = ("auto",)
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    secure_cookies: bool = True
    atlas_wait_s: float = 60.0
    session_hours: float = 12.0
    max_tokens_per_batch: int = DEFAULT_MAX_TOKENS_PER_BATCH
    precision: str = EngineSettings.precision
    chunk_size: int | None = None
    loader: str | None = None
    poll_s: float = 0.2
    limits: Limits = field(default_factory=Limits)
    engine: EngineSettings = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        engine = EngineSettings(weights=self.weights, precision=self.precision, chunk_size=self.chunk_size,
                                max_tokens_per_batch=self.max_tokens_per_batch)  # fmt: skip
        object.__setattr__(self, "engine", engine)
        if not self.weights_name:
            object.__setattr__(self, "weights_name", str(self.weights))
        if not self.devices:
            raise ValueError("at least one device is needed")

    @property
    def database(self) -> Path:
        """The SQLite file of the job store."""
        return self.data_dir / DATABASE_NAME

    @property
    def jobs_dir(self) -> Path:
        """Folder of the per-job folders (``jobs/<job id>/``)."""
        return self.data_dir / "jobs"
