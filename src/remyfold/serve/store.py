"""The durable job store: SQLite in the data folder, through SQLAlchemy Core.

Tables: ``users`` (token hashes), ``sessions`` (browser sessions, hashed), ``jobs``,
``events`` (the history of every job: submitted, started, done, failed, cancelled,
requeued) and ``workers`` (one row per worker process: device, state, heartbeat).

Concurrency: the database runs in WAL mode (readers never block the writer). Every write
is one transaction opened with ``BEGIN IMMEDIATE`` (takes SQLite's write lock at once, so
read-then-write sequences — counting a user's queued jobs, choosing the next job — cannot
interleave with another writer, in this or any other process). Reads use plain ``BEGIN``.

Fair queue (round-robin by user): each user carries ``last_served``, the claim number of
their latest started job. :meth:`Store.claim_next` takes, among users with queued jobs, the
one served longest ago (never-served first), and that user's oldest queued job.

Exactly-once finishing: a job's ``attempt`` grows at each claim; :meth:`Store.finish` and
:meth:`Store.fail` only act on a job still ``running`` in the same attempt, inside the write
transaction, and run the caller's file commit (an atomic rename) inside it too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import (
    Boolean, Column, Float, ForeignKey, Integer, MetaData, String, Table, Text, create_engine, event, func, select,
)  # fmt: skip

from sqlalchemy.exc import DatabaseError

from remyfold.serve.errors import NotFound, RequestError, ServeError

STATES = ("queued", "running", "done", "failed", "cancelled")
ACTIVE_STATES = ("queued", "running")

metadata = MetaData()
users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), unique=True, nullable=False),
    Column("token_hash", String(64), unique=True, nullable=False),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
    Column("last_served", Integer, nullable=False, default=0),
)  # fmt: skip
sessions = Table(
    "sessions", metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("expires_at", Float, nullable=False),
)  # fmt: skip
jobs = Table(
    "jobs", metadata,
    Column("seq", Integer, primary_key=True),  # submission order
    Column("id", String(32), unique=True, nullable=False),  # public id
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("reason", Text, nullable=False, default=""),
    Column("num_recycles", Integer),
    Column("weights", String(200), nullable=False, default=""),  # name of the weights it was submitted for
    Column("weights_revision", String(80), nullable=False, default=""),  # and their revision
    Column("n_records", Integer, nullable=False),
    Column("n_residues", Integer, nullable=False),
    Column("records_done", Integer, nullable=False, default=0),
    Column("attempt", Integer, nullable=False, default=0),
    Column("worker", String(64)),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float),
    Column("finished_at", Float),
)  # fmt: skip
events = Table(
    "events", metadata,
    Column("id", Integer, primary_key=True),
    Column("job_seq", Integer, ForeignKey("jobs.seq"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", Float, nullable=False),
)  # fmt: skip
workers = Table(
    "workers", metadata,
    Column("name", String(64), primary_key=True),
    Column("device", String(32), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("detail", Text, nullable=False, default=""),
    Column("heartbeat", Float, nullable=False),
)  # fmt: skip


@dataclass(frozen=True)
class User:
    """An account: ``id``, ``name``, ``is_admin``."""

    id: int
    name: str
    is_admin: bool


@dataclass(frozen=True)
class Job:
    """One row of ``jobs`` with its owner's name (see the table for the fields)."""

    seq: int
    id: str
    user: str
    name: str
    state: str
    reason: str
    num_recycles: int | None
    weights: str
    weights_revision: str
    n_records: int
    n_residues: int
    records_done: int
    attempt: int
    worker: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None

    def public(self) -> dict:
        """The job as the API shows it."""
        fields = ("id", "name", "user", "state", "reason", "num_recycles", "created_at", "started_at", "finished_at")
        data = {key: getattr(self, key) for key in fields}
        data["progress"] = {"records_done": self.records_done, "records": self.n_records}
        data["residues"] = self.n_residues
        data["weights"] = {"name": self.weights, "revision": self.weights_revision}
        return data


_JOB_COLUMNS = [c for c in jobs.c if c.name != "user_id"] + [users.c.name.label("user")]


class Store:
    """The job store of one data folder (safe to use from several threads and processes)."""

    def __init__(self, path: Path):
        self.engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(self.engine, "connect", _on_connect)
        event.listen(self.engine, "begin", _on_begin)
        try:
            metadata.create_all(self.engine)
            _add_missing_columns(self.engine)
        except DatabaseError as err:
            self.engine.dispose()
            reason = " ".join(str(err.orig).split()) if err.orig is not None else type(err).__name__
            raise ServeError(f"{path}: not a usable remyfold serve database ({reason}); "
                             "move it away or choose another --data folder") from None

    def _write(self):
        """A connection whose transaction starts with ``BEGIN IMMEDIATE`` (use as ``with ... .begin()``)."""
        return self.engine.connect().execution_options(sqlite_immediate=True)

    def _read(self):
        return self.engine.connect()

    # -- users and sessions -------------------------------------------------------------
    def add_user(self, name: str, token_hash: str, *, admin: bool) -> User:
        """Create a user; raise :class:`RequestError` (409) when the name is taken."""
        with self._write() as conn, conn.begin():
            if conn.execute(select(users.c.id).where(users.c.name == name)).first():
                raise RequestError(409, f"user {name!r} exists already")
            values = dict(name=name, token_hash=token_hash, is_admin=admin, created_at=time.time(), last_served=0)
            uid = conn.execute(users.insert().values(**values)).inserted_primary_key[0]
        return User(uid, name, admin)

    def set_token_hash(self, name: str, token_hash: str) -> User:
        """Give user ``name`` a new token hash and end their browser sessions; :class:`NotFound` if no such user."""
        with self._write() as conn, conn.begin():
            row = conn.execute(select(users).where(users.c.name == name)).first()
            if row is None:
                raise NotFound(f"user {name!r}")
            conn.execute(users.update().where(users.c.id == row.id).values(token_hash=token_hash))
            conn.execute(sessions.delete().where(sessions.c.user_id == row.id))
        return User(row.id, row.name, row.is_admin)

    def cancel_all(self, user: User) -> int:
        """Cancel every queued or running job of ``user``; how many."""
        with self._write() as conn, conn.begin():
            query = select(jobs.c.seq, jobs.c.attempt).where(jobs.c.user_id == user.id, jobs.c.state.in_(ACTIVE_STATES))
            rows = conn.execute(query).all()
            for seq, attempt in rows:
                conn.execute(jobs.update().where(jobs.c.seq == seq).values(state="cancelled", finished_at=time.time()))
                _event(conn, seq, "cancelled", attempt)
        return len(rows)

    def user_list(self) -> list[dict]:
        """Every account: ``name``, ``is_admin``, ``created_at``, ``token_hash``, ``jobs`` (how many), oldest first."""
        count = select(func.count()).select_from(jobs).where(jobs.c.user_id == users.c.id).scalar_subquery()
        query = select(users.c.name, users.c.is_admin, users.c.created_at, users.c.token_hash, count.label("jobs"))
        with self._read() as conn:
            return [dict(row._mapping) for row in conn.execute(query.order_by(users.c.id))]

    def user_by_token_hash(self, token_hash: str) -> tuple[User, str] | None:
        """The user whose token hashes to ``token_hash`` and the stored hash (to compare in constant time)."""
        with self._read() as conn:
            row = conn.execute(select(users).where(users.c.token_hash == token_hash)).first()
        return None if row is None else (User(row.id, row.name, row.is_admin), row.token_hash)

    def add_session(self, id_hash: str, user: User, csrf: str, expires_at: float) -> None:
        """Store a browser session (only the hash of its cookie value); drop expired ones."""
        with self._write() as conn, conn.begin():
            conn.execute(sessions.delete().where(sessions.c.expires_at < time.time()))
            conn.execute(sessions.insert().values(id_hash=id_hash, user_id=user.id, csrf=csrf, expires_at=expires_at))

    def session(self, id_hash: str) -> tuple[User, str, str] | None:
        """``(user, csrf token, stored hash)`` of a live session, or ``None``."""
        query = (
            select(users.c.id, users.c.name, users.c.is_admin, sessions.c.csrf, sessions.c.id_hash)
            .join(users, users.c.id == sessions.c.user_id)
            .where(sessions.c.id_hash == id_hash, sessions.c.expires_at > time.time())
        )
        with self._read() as conn:
            row = conn.execute(query).first()
        return None if row is None else (User(row.id, row.name, row.is_admin), row.csrf, row.id_hash)

    def delete_session(self, id_hash: str) -> None:
        with self._write() as conn, conn.begin():
            conn.execute(sessions.delete().where(sessions.c.id_hash == id_hash))

    # -- jobs as users see them ---------------------------------------------------------
    def submit(self, user: User, job_id: str, *, name: str, n_records: int, n_residues: int,
               num_recycles: int | None, max_active: int, weights: tuple[str, str] = ("", "")) -> Job:  # fmt: skip
        """Queue a job for ``weights`` (name, revision); :class:`RequestError` (429) when the user has
        ``max_active`` jobs waiting."""
        with self._write() as conn, conn.begin():
            active = conn.execute(
                select(func.count()).select_from(jobs).where(jobs.c.user_id == user.id, jobs.c.state.in_(ACTIVE_STATES))
            ).scalar_one()
            if active >= max_active:
                raise RequestError(429, f"you have {active} jobs queued or running, the limit is {max_active}; "
                                        "wait for some to finish or cancel some")  # fmt: skip
            values = dict(id=job_id, user_id=user.id, name=name, state="queued", reason="", num_recycles=num_recycles,
                          weights=weights[0], weights_revision=weights[1],
                          n_records=n_records, n_residues=n_residues, records_done=0, attempt=0,
                          created_at=time.time())  # fmt: skip
            seq = conn.execute(jobs.insert().values(**values)).inserted_primary_key[0]
            _event(conn, seq, "submitted", 0)
        return self.job(user, job_id)

    def job(self, user: User, job_id: str) -> Job:
        """The job ``job_id`` if ``user`` owns it (or is an admin); else :class:`NotFound`."""
        query = _job_query().where(jobs.c.id == job_id)
        if not user.is_admin:
            query = query.where(jobs.c.user_id == user.id)
        with self._read() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"job {job_id}")
        return Job(**row._mapping)

    def jobs(self, user: User, *, limit: int = 200) -> list[Job]:
        """The user's jobs (an admin: everyone's), newest first."""
        query = _job_query().order_by(jobs.c.seq.desc()).limit(limit)
        if not user.is_admin:
            query = query.where(jobs.c.user_id == user.id)
        with self._read() as conn:
            return [Job(**row._mapping) for row in conn.execute(query)]

    def cancel(self, user: User, job_id: str) -> Job:
        """Cancel a queued or running job (a running one stops at its next batch); finished jobs stay."""
        job = self.job(user, job_id)
        with self._write() as conn, conn.begin():
            done = conn.execute(
                jobs.update().where(jobs.c.seq == job.seq, jobs.c.state.in_(ACTIVE_STATES))
                .values(state="cancelled", finished_at=time.time())
            ).rowcount  # fmt: skip
            if done:
                _event(conn, job.seq, "cancelled", job.attempt)
        return self.job(user, job_id)

    def events(self, job_id: str) -> list[tuple[str, int]]:
        """``(kind, attempt)`` of every event of a job, in order (for tests and audits)."""
        query = (
            select(events.c.kind, events.c.attempt).join(jobs, jobs.c.seq == events.c.job_seq)
            .where(jobs.c.id == job_id).order_by(events.c.id)
        )  # fmt: skip
        with self._read() as conn:
            return [tuple(row) for row in conn.execute(query)]

    # -- jobs as workers see them -------------------------------------------------------
    def claim_next(self, worker: str, weights_revision: str | None = None) -> Job | None:
        """Start the next job (fair between users) for ``worker``; ``None`` when none is queued.

        With ``weights_revision``, only jobs submitted for those weights are claimed.
        """
        query = (
            select(jobs.c.seq, jobs.c.user_id).join(users, users.c.id == jobs.c.user_id)
            .where(jobs.c.state == "queued").order_by(users.c.last_served, jobs.c.seq).limit(1)
        )  # fmt: skip
        if weights_revision is not None:
            query = query.where(jobs.c.weights_revision == weights_revision)
        with self._write() as conn, conn.begin():
            row = conn.execute(query).first()
            if row is None:
                return None
            served = conn.execute(select(func.max(users.c.last_served))).scalar_one() or 0
            conn.execute(users.update().where(users.c.id == row.user_id).values(last_served=served + 1))
            conn.execute(
                jobs.update().where(jobs.c.seq == row.seq)
                .values(state="running", attempt=jobs.c.attempt + 1, worker=worker, started_at=time.time(),
                        records_done=0)
            )  # fmt: skip
            job = Job(**conn.execute(_job_query().where(jobs.c.seq == row.seq)).one()._mapping)
            _event(conn, job.seq, "started", job.attempt)
        return job

    def still_running(self, job: Job, records_done: int | None = None) -> bool:
        """Whether ``job`` is still running in this attempt (not cancelled); records progress."""
        with self._write() as conn, conn.begin():
            mine = (jobs.c.seq == job.seq) & (jobs.c.state == "running") & (jobs.c.attempt == job.attempt)
            if records_done is None:
                return conn.execute(select(jobs.c.seq).where(mine)).first() is not None
            return conn.execute(jobs.update().where(mine).values(records_done=records_done)).rowcount == 1

    def finish(self, job: Job, commit_files: Callable[[], None]) -> bool:
        """Mark ``job`` done, running ``commit_files`` (an atomic rename) in the same transaction.

        Returns False (and commits nothing) when the job is no longer running in this attempt.
        """
        return self._close(job, "done", "", commit_files)

    def fail(self, job: Job, reason: str) -> bool:
        """Mark ``job`` failed with a one-line ``reason``; False when it no longer runs in this attempt."""
        return self._close(job, "failed", " ".join(reason.split())[:500], lambda: None)

    def _close(self, job: Job, state: str, reason: str, commit_files: Callable[[], None]) -> bool:
        with self._write() as conn, conn.begin():
            mine = (jobs.c.seq == job.seq) & (jobs.c.state == "running") & (jobs.c.attempt == job.attempt)
            if conn.execute(select(jobs.c.seq).where(mine)).first() is None:
                return False
            commit_files()
            values = dict(state=state, reason=reason, finished_at=time.time())
            if state == "done":
                values["records_done"] = job.n_records
            conn.execute(jobs.update().where(mine).values(**values))
            _event(conn, job.seq, state, job.attempt)
        return True

    def requeue_running(self, worker: str | None = None) -> int:
        """Put jobs left ``running`` (by ``worker``, or by anyone) back in the queue; return how many."""
        with self._write() as conn, conn.begin():
            query = select(jobs.c.seq, jobs.c.attempt).where(jobs.c.state == "running")
            if worker is not None:
                query = query.where(jobs.c.worker == worker)
            rows = conn.execute(query).all()
            for seq, attempt in rows:
                conn.execute(jobs.update().where(jobs.c.seq == seq).values(state="queued", worker=None))
                _event(conn, seq, "requeued", attempt)
        return len(rows)

    def fail_other_weights(self, name: str, revision: str) -> int:
        """Fail queued jobs submitted for other weights than ``name``/``revision`` (saying which); how many."""
        with self._write() as conn, conn.begin():
            rows = conn.execute(
                select(jobs.c.seq, jobs.c.attempt, jobs.c.weights, jobs.c.weights_revision)
                .where(jobs.c.state == "queued", jobs.c.weights_revision != revision)
            ).all()  # fmt: skip
            for seq, attempt, old_name, old_revision in rows:
                was = f"{old_name} ({old_revision})" if old_revision else "unrecorded weights"
                reason = (f"submitted for {was}, but the server now runs {name} ({revision}); "
                          "submit it again to fold it with these weights")  # fmt: skip
                conn.execute(jobs.update().where(jobs.c.seq == seq)
                             .values(state="failed", reason=reason, finished_at=time.time()))  # fmt: skip
                _event(conn, seq, "failed", attempt)
        return len(rows)

    def set_worker(self, name: str, *, device: str, pid: int, state: str, detail: str = "") -> None:
        """Record a worker's state (``starting``, ``ready``, ``busy``, ``failed``, ``stopped``)."""
        values = dict(device=device, pid=pid, state=state, detail=detail, heartbeat=time.time())
        with self._write() as conn, conn.begin():
            if conn.execute(workers.update().where(workers.c.name == name).values(**values)).rowcount == 0:
                conn.execute(workers.insert().values(name=name, **values))

    def workers(self) -> list[dict]:
        with self._read() as conn:
            return [dict(row._mapping) for row in conn.execute(select(workers).order_by(workers.c.name))]

    def queue_length(self) -> int:
        with self._read() as conn:
            return conn.execute(select(func.count()).select_from(jobs).where(jobs.c.state == "queued")).scalar_one()


def _add_missing_columns(engine) -> None:
    """Bring a data folder made by an older server up to date: add the columns it lacks (their defaults)."""
    with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
        for table in metadata.sorted_tables:
            present = {row[1] for row in conn.exec_driver_sql(f"PRAGMA table_info({table.name})")}
            for column in table.columns:
                if column.name not in present:
                    default = column.default.arg if column.default is not None else None
                    literal = {None: "NULL", "": "''", False: "0", True: "1"}.get(default, str(default))
                    kind = column.type.compile(engine.dialect)
                    null = "" if column.nullable else " NOT NULL"
                    conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}{null} DEFAULT {literal}")


def _job_query():
    return select(*_JOB_COLUMNS).join(users, users.c.id == jobs.c.user_id)


def _event(conn, seq: int, kind: str, attempt: int) -> None:
    conn.execute(events.insert().values(job_seq=seq, kind=kind, attempt=attempt, at=time.time()))


def _on_connect(dbapi_connection, _record) -> None:
    """WAL journal, full fsync at commit, foreign keys; transactions are begun by :func:`_on_begin`."""
    dbapi_connection.isolation_level = None  # pysqlite must not emit its own BEGIN
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=30000"):
        dbapi_connection.execute(f"PRAGMA {pragma}")


def _on_begin(conn) -> None:
    immediate = conn.get_execution_options().get("sqlite_immediate", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
