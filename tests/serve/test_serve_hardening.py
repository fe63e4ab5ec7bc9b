"""The lab-use defects of issue 21: packed-upload bombs, cancel that stops, record ids checked at
submission, private data files, weights tied to jobs, browser error pages, the Atlas endpoint's
disconnects (accounts and the command's bad input: ``test_serve_command.py``). In process where possible; the server processes use the fake engine."""

from __future__ import annotations

import bz2
import lzma
import stat
import sys
import threading
import time
import tracemalloc
import zlib

import httpx
import pytest
from conftest import HERE, QUEUE_LIMITS, ServerProcess, app_thread, client, make_users, wait_for_job

from remyfold.serve import auth
from remyfold.serve.config import Limits, ServeConfig
from remyfold.serve.errors import RequestError
from remyfold.serve.results import write_input
from remyfold.serve.store import Store, User
from remyfold.serve.submission import MAX_ID_BYTES, UNPACK_CHUNK, parse_submission, unpack_upload
from remyfold.serve.worker import run_job

AUDITOR = User(id=0, name="auditor", is_admin=True)
UNPACKED = 40 * 1024 * 1024  # what each bomb unpacks to


def gzip_bomb(size: int) -> bytes:
    """A gzip stream of ``size`` zero bytes, compressed piece by piece (little memory)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(min(size, 1 << 20))
    return b"".join(packer.compress(block) for _ in range(size // len(block))) + packer.flush()


def packed_bombs() -> dict[str, bytes]:
    block = bytes(1 << 20)
    bz, xz = bz2.BZ2Compressor(9), lzma.LZMACompressor(preset=1)  # xz -1: a 1 MiB dictionary
    return {
        "gzip": gzip_bomb(UNPACKED),
        "bzip2": b"".join(bz.compress(block) for _ in range(UNPACKED >> 20)) + bz.flush(),
        "xz": b"".join(xz.compress(block) for _ in range(UNPACKED >> 20)) + xz.flush(),
    }


# -- 1. memory bomb ----------------------------------------------------------------------------
def test_packed_bombs_are_refused_while_unpacking_with_bounded_memory():
    limit = 1024 * 1024
    for kind, bomb in packed_bombs().items():
        assert len(bomb) < UNPACKED // 100, kind
        tracemalloc.start()
        try:
            with pytest.raises(RequestError) as err:
                unpack_upload(bomb, limit, "the reference structure")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert err.value.status == 413 and "the reference structure" in err.value.message, kind
        assert peak < limit + 8 * UNPACK_CHUNK < UNPACKED / 4, (kind, peak)  # the limit and a few chunks, never 40 MB
    assert unpack_upload(lzma.compress(b">a\nMKV\n"), limit, "x") == b">a\nMKV\n"
    assert unpack_upload(bz2.compress(b">a\nMKV\n"), limit, "x") == b">a\nMKV\n"
    with pytest.raises(RequestError, match="damaged xz"):
        unpack_upload(b"\xfd7zXZ\x00garbage", limit, "x")
    with pytest.raises(RequestError, match="damaged xz"):
        unpack_upload(lzma.compress(b">a\nMKV\n" * 1000)[:-40], limit, "x")
    two_streams = lzma.compress(b">a\nMKV\n") + lzma.compress(b">b\nGGW\n")
    assert unpack_upload(two_streams, limit, "x") == b">a\nMKV\n>b\nGGW\n"
    # A file that asks for a 1.5 GiB dictionary is refused before the decoder allocates it.
    huge = lzma.compress(b"x", filters=[{"id": lzma.FILTER_LZMA2, "dict_size": 1536 << 20}])
    with pytest.raises(RequestError, match="need more than") as err:
        unpack_upload(huge, limit, "x")
    assert err.value.status == 413


def test_every_upload_route_limits_the_unpacked_size(queue_server):
    bomb = gzip_bomb(4 * QUEUE_LIMITS.max_request_bytes)  # small packed, over the limit unpacked
    with queue_server.api("bob") as api:
        answer = api.post("/api/v1/jobs/upload", files={"file": ("x.fa.gz", bomb)})
        assert answer.status_code == 413 and "unpacks" in answer.json()["detail"]
        job = api.post("/api/v1/jobs", json={"fasta": ">a\nMKV\n"}).json()
        # The compare route reads the reference first: a bomb is refused before anything else.
        reference = gzip_bomb(QUEUE_LIMITS.max_reference_bytes + (1 << 20))
        answer = api.post(f"/api/v1/jobs/{job['id']}/records/a/compare", files={"reference": ("r.pdb.gz", reference)})
        assert answer.status_code == 413 and "the reference structure" in answer.json()["detail"]
        api.post(f"/api/v1/jobs/{job['id']}/cancel")


# -- 2. cancel stops a running fold ------------------------------------------------------------
class SlowEngine:
    """Would fold for minutes: 600 stages of 0.1 s, reported to ``progress`` like the real engine."""

    device = "cpu"

    def __init__(self):
        self.stages = 0

    def fold_batch(self, records, *, num_recycles=None, progress=None):
        from test_cli_predict import fake_prediction

        for step in range(600):
            progress("language model" if step == 0 else f"trunk pass {step} of 599")
            self.stages += 1
            time.sleep(0.1)
        return [fake_prediction(record_id, sequence) for record_id, sequence in records]


def test_cancel_stops_a_running_fold_at_the_next_stage(tmp_path):
    from test_serve_store import local, queued_job

    config, store, alice = queued_job(tmp_path)
    engine = SlowEngine()
    worker = threading.Thread(target=run_job, args=(store, config, local(engine), "cpu", store.claim_next("w")))
    worker.start()
    while engine.stages < 5:
        time.sleep(0.05)
    cancelled_at = time.monotonic()
    store.cancel(alice, "job1")
    worker.join(timeout=10)
    assert not worker.is_alive(), "the fold went on after the cancel"
    assert time.monotonic() - cancelled_at < 3 and engine.stages < 40
    assert store.job(alice, "job1").state == "cancelled"
    assert sorted(p.name for p in (config.jobs_dir / "job1").iterdir()) == ["input.fasta"]


def test_cancel_frees_the_worker_of_the_server_for_the_next_job(tmp_path):
    data_dir = tmp_path / "data"
    tokens = make_users(data_dir)
    command = [sys.executable, str(HERE / "fake_server.py"), "--fold-seconds", "600"]
    server = ServerProcess(command, data_dir).start()
    try:
        with client(server.url, tokens["alice"]) as api:
            long = api.post("/api/v1/jobs", json={"fasta": ">long\nMKVLW\n"}).json()
            waiting = api.post("/api/v1/jobs", json={"fasta": ">next\nMKV\n"}).json()
            wait_for_job(api, long["id"], states=("running",), timeout=30)
            assert api.post(f"/api/v1/jobs/{long['id']}/cancel").json()["state"] == "cancelled"
            # The worker leaves the cancelled fold within a few seconds and takes the next job.
            wait_for_job(api, waiting["id"], states=("running",), timeout=15)
            api.post(f"/api/v1/jobs/{waiting['id']}/cancel")
    finally:
        server.stop()
    assert not list((data_dir / "jobs" / long["id"]).glob("work-*"))


# -- 3. record ids --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fasta, words",
    [(">a\x00b\nMKV\n", "control character '\\x00'"), (">a\x07b\nMKV\n", "control character"),
     (">" + "x" * 300 + "\nMKV\n", f"300 bytes long, over the limit of {MAX_ID_BYTES}"),
     (">" + "é" * 100 + "\nMKV\n", "200 bytes long")],
)  # fmt: skip
def test_record_ids_that_cannot_name_files_are_refused_at_submission(queue_server, fasta, words):
    with pytest.raises(RequestError, match=words.replace("\\", "\\\\")) as err:
        parse_submission(fasta, Limits())
    assert err.value.status == 422 and len(err.value.message) < 300 and "\x00" not in err.value.message
    with queue_server.api("bob") as api:
        answer = api.post("/api/v1/jobs", json={"fasta": fasta})
        assert answer.status_code == 422 and words.split(",")[0].split("'")[0] in answer.json()["detail"]


def test_long_ids_make_short_display_names():
    submission = parse_submission(">" + "y" * 120 + "\nMKV\n>b\nMKV\n", Limits())
    assert len(submission.name) <= 64 and submission.name.endswith("… +1")


# -- 6. weights; 8. private files ---------------------------------------------------------------
def test_jobs_for_other_weights_are_never_folded_with_these(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    alice = store.add_user("alice", "a" * 64, admin=False)
    store.submit(alice, "old", name="j", n_records=1, n_residues=3, num_recycles=None, max_active=5,
                 weights=("facebook/esmfold_v1", "rev-a"))  # fmt: skip
    store.submit(alice, "new", name="j", n_records=1, n_residues=3, num_recycles=None, max_active=5,
                 weights=("other", "rev-b"))  # fmt: skip
    assert store.claim_next("w", weights_revision="rev-b").id == "new"
    assert store.claim_next("w", weights_revision="rev-b") is None  # never the job of rev-a
    assert store.fail_other_weights("other", "rev-b") == 1
    old = store.job(alice, "old")
    assert old.state == "failed" and "facebook/esmfold_v1 (rev-a)" in old.reason and "other (rev-b)" in old.reason
    assert old.public()["weights"] == {"name": "facebook/esmfold_v1", "revision": "rev-a"}


def test_restart_with_other_weights_marks_old_jobs_and_files_are_private(tmp_path):
    data_dir = tmp_path / "data"
    tokens = make_users(data_dir)
    store = Store(ServeConfig(data_dir=data_dir).database)
    alice = store.user_by_token_hash(auth.hash_secret(tokens["alice"]))[0]
    write_input(ServeConfig(data_dir=data_dir), "oldjob", ">a\nMKV\n")
    store.submit(alice, "oldjob", name="old", n_records=1, n_residues=3, num_recycles=None, max_active=5,
                 weights=("fake", "fake-1"))  # fmt: skip
    command = [sys.executable, str(HERE / "fake_server.py"), "--weights-revision", "fake-2"]
    server = ServerProcess(command, data_dir).start()
    try:
        with client(server.url, tokens["alice"]) as api:
            old = api.get("/api/v1/jobs/oldjob").json()
            assert old["state"] == "failed" and "fake (fake-1)" in old["reason"] and "fake-2" in old["reason"]
            new = api.post("/api/v1/jobs", json={"fasta": ">b\nMKVLW\n"}).json()
            assert new["weights"] == {"name": "fake", "revision": "fake-2"}
            assert wait_for_job(api, new["id"])["state"] == "done"
            page = api.get(f"/jobs/{new['id']}").text
            assert "fake-2" in page  # the job page names the weights
            assert "<table" not in page and 'id="report"' in page  # one records table: the report's
    finally:
        server.stop()
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    private = [p for p in data_dir.rglob("*") if p.is_file() and "oldjob" not in p.parts]  # not the test's own
    assert any(p.name == "b.pdb" for p in private) and any(p.suffix == ".sqlite" for p in private)
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in private if stat.S_IMODE(p.stat().st_mode) != 0o600} == {}
    assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in data_dir.rglob("*") if p.is_dir() and "oldjob" not in p.parts} == {"0o700"}


# -- 5. error pages -----------------------------------------------------------------------------
def test_browsers_get_html_error_pages_the_api_json(queue_server):
    big = b"x" * (QUEUE_LIMITS.max_request_bytes + 10)
    html = {"accept": "text/html,application/xhtml+xml"}
    with queue_server.api("bob") as api:
        page = api.post("/submit", files={"file": ("big.fa", big)}, headers=html)
        assert page.status_code == 413 and page.headers["content-type"].startswith("text/html")
        assert 'id="error-message"' in page.text and "limit" in page.text
        answer = api.post("/api/v1/jobs/upload", files={"file": ("big.fa", big)}, headers=html)
        assert answer.status_code == 413 and "detail" in answer.json()
        assert api.get("/jobs/nothere", headers=html).status_code == 404
        csrf = api.get("/").text.split('name="csrf-token" content="')[1].split('"')[0]  # bearer: no CSRF
        both = api.post("/submit", data={"fasta": ">a\nMKV\n", "csrf_token": csrf},
                        files={"file": ("b.fa", b">b\nMKV\n")}, headers=html)  # fmt: skip
        assert both.status_code == 422 and "both a file and pasted FASTA" in both.text
    with client(queue_server.url) as anonymous:
        expired = anonymous.post("/login", data={"token": "x", "csrf_token": "y"}, headers=html)
        assert expired.status_code == 403 and "expired" in expired.text and 'id="token"' in expired.text
        anonymous.get("/login")  # sets the login form's cookie
        forged = anonymous.post("/login", data={"token": "x", "csrf_token": "forged"}, headers=html)
        assert forged.status_code == 403 and "CSRF" in forged.text and 'id="token"' not in forged.text


# -- 7. Atlas endpoint: a client that leaves ------------------------------------------------------
def test_a_client_leaving_the_atlas_endpoint_does_not_leave_its_job_queued(tmp_path):
    data_dir = tmp_path / "data"
    tokens = make_users(data_dir)
    config = ServeConfig(data_dir=data_dir, secure_cookies=False, atlas_wait_s=60)
    with app_thread(config) as url:
        with pytest.raises(httpx.ReadTimeout):
            client(url, tokens["alice"], timeout=1.0).post("/foldSequence/v1/pdb/", content=b"MKVLA")
        store = Store(config.database)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and store.jobs(AUDITOR)[0].state == "queued":
            time.sleep(0.1)
        assert store.jobs(AUDITOR)[0].state == "cancelled"


def test_a_data_folder_of_an_older_server_gets_the_weights_columns(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    alice = store.add_user("alice", "a" * 64, admin=False)
    store.submit(alice, "old", name="j", n_records=1, n_residues=3, num_recycles=None, max_active=5)
    with store.engine.connect() as conn:  # as an older server made it: no weights columns
        conn.exec_driver_sql("ALTER TABLE jobs DROP COLUMN weights")
        conn.exec_driver_sql("ALTER TABLE jobs DROP COLUMN weights_revision")
    store.engine.dispose()
    reopened = Store(tmp_path / "db.sqlite")
    assert reopened.job(alice, "old").public()["weights"] == {"name": "", "revision": ""}
    assert reopened.fail_other_weights("facebook/esmfold_v1", "abc") == 1
    assert "unrecorded weights" in reopened.job(alice, "old").reason
