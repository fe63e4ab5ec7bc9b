"""The job store, the worker's job handling and the submission rules, in process (no server)."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from remyfold.serve import auth
from remyfold.serve.config import Limits, ServeConfig
from remyfold.serve.errors import RequestError, ServeError
from remyfold.serve.results import result_dir, write_input
from remyfold.serve.store import Store
from remyfold.serve.submission import decode_upload, parse_sequence, parse_submission
from remyfold.serve.worker import run_job


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "db.sqlite")


def local(engine):
    """The worker's executor with ``engine`` as its loaded engine."""
    from remyfold.pipeline import LocalExecutor

    return LocalExecutor(lambda weights, options: engine)


def submit(store, user, n=1, max_active=100):
    return [
        store.submit(user, f"{user.name}-{uuid.uuid4().hex[:12]}", name="j", n_records=1, n_residues=5,
                     num_recycles=None, max_active=max_active)  # fmt: skip
        for _ in range(n)
    ]


def test_tokens_are_stored_hashed_and_checked(store):
    user, token = auth.add_user(store, "alice")
    assert token.startswith(auth.TOKEN_PREFIX) and len(token) > 40
    with store.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT token_hash FROM users").scalar_one()
    assert stored == hashlib.sha256(token.encode()).hexdigest() and token not in stored
    assert auth.user_for_token(store, token) == user
    assert auth.user_for_token(store, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    with pytest.raises(ServeError, match="exists already"):
        auth.add_user(store, "alice")
    with pytest.raises(ServeError, match="not allowed"):
        auth.add_user(store, "../x")


def test_claims_are_round_robin_between_users(store):
    alice, bob, carol = (store.add_user(name, name * 8, admin=False) for name in ("alice", "bob", "carol"))
    submit(store, alice, 4)
    submit(store, bob, 2)
    submit(store, carol, 1)
    order = []
    while (job := store.claim_next("w")) is not None:
        order.append(job.user)
        assert store.finish(job, lambda: None)
    assert order == ["alice", "bob", "carol", "alice", "bob", "alice", "alice"]


def test_queued_job_limit_per_user(store):
    alice = store.add_user("alice", "a" * 64, admin=False)
    submit(store, alice, 2, max_active=2)
    with pytest.raises(RequestError) as err:
        submit(store, alice, 1, max_active=2)
    assert err.value.status == 429


def test_finish_acts_once_per_attempt_and_not_after_cancel(store):
    alice = store.add_user("alice", "a" * 64, admin=False)
    [queued] = submit(store, alice)
    first = store.claim_next("w")
    assert store.requeue_running() == 1
    second = store.claim_next("w")
    assert second.attempt == first.attempt + 1
    assert not store.finish(first, lambda: pytest.fail("a stale attempt must not commit files"))
    assert store.finish(second, lambda: None)
    assert not store.finish(second, lambda: None)
    assert [kind for kind, _ in store.events(queued.id)] == ["submitted", "started", "requeued", "started", "done"]
    [other] = submit(store, alice)
    running = store.claim_next("w")
    store.cancel(alice, other.id)
    assert not store.still_running(running) and not store.fail(running, "late")
    assert store.job(alice, other.id).state == "cancelled"


def test_other_users_jobs_are_not_found_admin_sees_all(store):
    alice = store.add_user("alice", "a" * 64, admin=False)
    bob = store.add_user("bob", "b" * 64, admin=False)
    root = store.add_user("root", "c" * 64, admin=True)
    [job] = submit(store, alice)
    with pytest.raises(RequestError) as err:
        store.job(bob, job.id)
    assert err.value.status == 404
    with pytest.raises(RequestError):
        store.cancel(bob, job.id)
    assert store.job(root, job.id).user == "alice" and [j.id for j in store.jobs(root)] == [job.id]
    assert store.jobs(bob) == []


class NeverFold:
    device = "cpu"

    def fold_batch(self, records, *, num_recycles=None, progress=None):
        raise AssertionError("the job must not be folded again")


def test_a_job_killed_after_its_results_were_moved_is_only_finished(tmp_path):
    """Crash between the rename of work-N/ to result/ and the commit: the next attempt only commits."""
    config = ServeConfig(data_dir=tmp_path)
    store = Store(tmp_path / "db.sqlite")
    alice = store.add_user("alice", "a" * 64, admin=False)
    write_input(config, "job1", ">a\nMKV\n")
    store.submit(alice, "job1", name="j", n_records=1, n_residues=3, num_recycles=None, max_active=5)
    store.claim_next("w")
    (result_dir(config, "job1")).mkdir(parents=True)  # the rename happened, then the process died
    assert store.requeue_running() == 1
    run_job(store, config, local(NeverFold()), "cpu", store.claim_next("w"))
    assert store.job(alice, "job1").state == "done"
    assert [kind for kind, _ in store.events("job1")].count("done") == 1


LIMITS = Limits(max_request_bytes=1000, max_residues=10, max_records=2, max_recycles=5)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "no FASTA"),
        (">a\nMKV\n>b\nMKV\n>c\nMKV\n", "3 records, over the limit of 2"),
        (">a\nMKVMKVMKVMK\n", "11 residues, over this server's limit of 10"),
        (">a\nMKB\n", "invalid letter 'B'"),
        (">a\nMK\n>a\nMV\n", "same id"),
        ("MKV\n", "before any '>' header"),
        (">a\nMK::V\n", "empty"),
    ],
)
def test_submissions_follow_the_predict_rules_and_limits(text, message):
    with pytest.raises(RequestError, match=message) as err:
        parse_submission(text, LIMITS)
    assert err.value.status == 422 and "\n" not in err.value.message


def test_submission_accepts_complexes_gzip_and_bare_sequences():
    import gzip

    sub = parse_submission(decode_upload(gzip.compress(b">pair x\nmkv:GGW*\n"), LIMITS), LIMITS, num_recycles=2)
    assert [(r.id, r.sequence) for r in sub.records] == [("pair", "MKV:GGW")] and sub.n_residues == 6
    assert sub.fasta() == ">pair\nMKV:GGW\n" and sub.num_recycles == 2
    assert parse_sequence(b"MKVLA\n", LIMITS).records[0].sequence == "MKVLA"
    with pytest.raises(RequestError, match="num_recycles 6"):
        parse_submission(">a\nMK\n", LIMITS, num_recycles=6)
    with pytest.raises(RequestError, match="damaged gzip"):
        decode_upload(b"\x1f\x8b\x08\x00garbage", LIMITS)
    with pytest.raises(RequestError) as err:
        decode_upload(gzip.compress(b">a\n" + b"M" * 5000), LIMITS)
    assert err.value.status == 413
    with pytest.raises(RequestError, match="binary"):
        decode_upload(b"\xff\xfe\x00\x81", LIMITS)


def test_cli_add_user_prints_a_token_once_and_stores_its_hash(tmp_path, capsys):
    from remyfold.cli import main

    assert main(["serve", "add-user", "alice", "--data", str(tmp_path / "d"), "--admin"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    store = Store(ServeConfig(data_dir=tmp_path / "d").database)
    assert auth.user_for_token(store, token).is_admin
    assert main(["serve", "add-user", "alice", "--data", str(tmp_path / "d")]) == 2
    assert "exists already" in capsys.readouterr().err


def test_cli_without_the_extra_names_it_in_one_line(monkeypatch, tmp_path, capsys):
    import importlib.util

    from remyfold.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "fastapi" else real(name, *a))
    assert main(["serve", "--data", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pip install 'remyfold[serve]'" in err and "fastapi" in err


def test_cli_refuses_bad_options_in_one_line(tmp_path, capsys):
    from remyfold.cli import main

    assert main(["serve", "--data", str(tmp_path), "--device", "tpu"]) == 2
    assert main(["serve", "--data", str(tmp_path), "--max-records", "0"]) == 2
    assert main(["serve", "--data", str(tmp_path), "--weights", str(tmp_path / "none")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 3


def test_one_server_per_data_folder(tmp_path):
    import os

    from remyfold.serve.app import lock_data_dir

    config = ServeConfig(data_dir=tmp_path / "d")
    first = lock_data_dir(config)
    try:
        with pytest.raises(ServeError, match="another running remyfold serve"):
            lock_data_dir(config)
    finally:
        os.close(first)
    os.close(lock_data_dir(config))


class Broken:
    device = "cpu"

    def fold_batch(self, records, *, num_recycles=None, progress=None):
        raise RuntimeError("CUDA out of memory\nTried to allocate 2 GiB")


class CancelledMidway:
    """Folds, but the owner cancels the job while the batch runs."""

    device = "cpu"

    def __init__(self, store, user, job_id):
        self.store, self.user, self.job_id = store, user, job_id

    def fold_batch(self, records, *, num_recycles=None, progress=None):
        from test_cli_predict import fake_prediction

        self.store.cancel(self.user, self.job_id)
        return [fake_prediction(record_id, sequence) for record_id, sequence in records]


def queued_job(tmp_path, fasta=">a\nMKV\n>b\nGGW:MK\n"):
    config = ServeConfig(data_dir=tmp_path)
    store = Store(tmp_path / "db.sqlite")
    alice = store.add_user("alice", "a" * 64, admin=False)
    write_input(config, "job1", fasta)
    store.submit(alice, "job1", name="j", n_records=2, n_residues=9, num_recycles=None, max_active=5)
    return config, store, alice


def test_a_job_whose_records_all_fail_is_failed_with_a_one_line_reason(tmp_path):
    config, store, alice = queued_job(tmp_path)
    run_job(store, config, local(Broken()), "cpu", store.claim_next("w"))
    job = store.job(alice, "job1")
    assert job.state == "failed"
    assert job.reason == "no record could be folded: a: RuntimeError: CUDA out of memory"
    assert sorted(p.name for p in (config.jobs_dir / "job1").iterdir()) == ["input.fasta"]


def test_a_job_cancelled_while_folding_leaves_no_results(tmp_path):
    config, store, alice = queued_job(tmp_path)
    run_job(store, config, local(CancelledMidway(store, alice, "job1")), "cpu", store.claim_next("w"))
    assert store.job(alice, "job1").state == "cancelled"
    assert sorted(p.name for p in (config.jobs_dir / "job1").iterdir()) == ["input.fasta"]
    assert [kind for kind, _ in store.events("job1")] == ["submitted", "started", "cancelled"]
