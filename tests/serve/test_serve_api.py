"""The REST API against real uvicorn servers: auth, isolation, folding with the tiny model, results, limits."""

from __future__ import annotations

import gzip
import io
import json
import zipfile

import gemmi
import pytest
from conftest import client, wait_for_job

FASTA = ">helix one\nMKVLAAGIWE\n>pair\nMKVL:GGWE\n"


@pytest.fixture(scope="module")
def folded(tiny_server):
    """A two-record job (one a complex) folded by the tiny model with 0 recycles."""
    with tiny_server.api("alice") as api:
        answer = api.post("/api/v1/jobs", json={"fasta": FASTA, "num_recycles": 0, "name": "two"})
        assert answer.status_code == 201, answer.text
        job = answer.json()
        assert job["state"] == "queued" and job["progress"] == {"records_done": 0, "records": 2}
        return wait_for_job(api, job["id"])


def test_health_shows_anonymous_callers_only_liveness(tiny_server):
    health = client(tiny_server.url).get("/health")
    assert health.status_code == 200 and health.json() == {"status": "ok", "ready": True}
    with tiny_server.api("bob") as api:
        signed_in = api.get("/health").json()
    assert signed_in["workers_alive"] == 1 and signed_in["workers"][0]["state"] in ("ready", "busy")
    assert signed_in["weights"]["revision"].startswith("local-")


@pytest.mark.parametrize("path", ["/api/v1/jobs", "/api/v1/jobs/abc", "/openapi.json"])
def test_no_token_or_a_wrong_token_is_401(tiny_server, path):
    for headers in ({}, {"Authorization": "Bearer rft_wrong"}, {"Authorization": "Basic abc"}):
        answer = client(tiny_server.url).get(path, headers=headers)
        assert answer.status_code == 401, (path, headers)
        assert answer.json()["detail"] and answer.headers["www-authenticate"].startswith("Bearer")
    answer = client(tiny_server.url).post("/foldSequence/v1/pdb/", content=b"MKV")
    assert answer.status_code == 401


def test_a_job_folds_with_the_tiny_model(folded, tiny_server):
    assert folded["state"] == "done", folded
    assert folded["progress"] == {"records_done": 2, "records": 2} and folded["num_recycles"] == 0
    records = {r["id"]: r for r in folded["records"]}
    assert records["helix"]["status"] == "ok" and records["helix"]["length"] == 10
    assert records["pair"]["chains"] == "A:4,B:4"
    # The scores are those of the record's JSON (test_serve_matches_predict.py compares them with `predict`'s).
    with tiny_server.api("alice") as api:
        data = api.get(f"/api/v1/jobs/{folded['id']}/records/pair/json").json()
    assert (records["pair"]["mean_plddt"], records["pair"]["ptm"]) == (data["mean_plddt"], data["ptm"])


def test_complex_scores_in_the_api_and_on_the_job_page(folded, tiny_server):
    """The complex has ipTM, ranking confidence, actifpTM and [2][2] chain-pair matrices; the monomer none (null)."""
    records = {r["id"]: r for r in folded["records"]}
    pair, helix = records["pair"], records["helix"]
    assert 0 <= pair["iptm"] <= 1 and 0 <= pair["actifptm"] <= 1
    assert pair["ranking_confidence"] == pytest.approx(0.8 * pair["iptm"] + 0.2 * pair["ptm"], abs=2e-4)
    assert [len(row) for row in pair["chain_pair_iptm"]] == [len(row) for row in pair["chain_pair_pae_min"]] == [2, 2]
    keys = ("iptm", "ranking_confidence", "actifptm", "chain_pair_iptm", "chain_pair_pae_min")
    assert {key: helix[key] for key in keys} == dict.fromkeys(keys)
    browser, _ = login(tiny_server.url, tiny_server.tokens["alice"])
    page = browser.get(f"/jobs/{folded['id']}").text  # one records table: the report's, shown in the page
    assert f"/api/v1/jobs/{folded['id']}/report" in page
    report = browser.get(f"/api/v1/jobs/{folded['id']}/report").text
    assert f'<td class="num">{pair["iptm"]:.3f}</td>' in report and '<td class="num">—</td>' in report
    first = f'{pair["chain_pair_iptm"][0][1]:.3f} / {pair["chain_pair_pae_min"][0][1]:.1f}'
    assert first in report
    assert report.count('<figure class="plot chain-pairs">') == 1  # the complex only


def test_downloads(folded, tiny_server):
    with tiny_server.api("alice") as api:
        base = f"/api/v1/jobs/{folded['id']}"
        pdb = api.get(f"{base}/records/pair/pdb")
        assert pdb.status_code == 200 and "attachment" in pdb.headers["content-disposition"]
        structure = gemmi.read_pdb_string(pdb.text)
        assert [len(chain) for chain in structure[0]] == [4, 4]
        cif = api.get(f"{base}/records/helix/cif")
        assert gemmi.cif.read_string(cif.text).sole_block().find_value("_entry.id")
        data = api.get(f"{base}/records/helix/json").json()
        assert len(data["plddt"]) == 10 and len(data["pae"]) == 10 and data["num_recycles"] == 0
        # The results name the weights the job was submitted for.
        assert folded["weights"]["revision"].startswith("local-")
        assert data["weights_revision"] == folded["weights"]["revision"]
        archive = zipfile.ZipFile(io.BytesIO(api.get(f"{base}/results.zip").content))
        names = sorted(name.split("/")[1] for name in archive.namelist())
        assert names == sorted(["summary.tsv"] + [f"{r}.{s}" for r in ("helix", "pair") for s in ("pdb", "cif", "json")])
        assert archive.read(f"{folded['id']}/helix.pdb").decode() == api.get(f"{base}/records/helix/pdb").text
        report = api.get(f"{base}/report")
        assert report.status_code == 200 and "3Dmol" in report.text and "pair" in report.text
        assert "remyfold report: two" in report.text  # the job's name, never the server's paths
        assert str(tiny_server.data_dir) not in report.text and "remyfold report: result" not in report.text
        assert "unsafe-inline" in report.headers["content-security-policy"]
        assert api.get(f"{base}/records/nothere/pdb").status_code == 404


def test_another_users_job_is_404_admin_sees_it(folded, tiny_server):
    base = f"/api/v1/jobs/{folded['id']}"
    with tiny_server.api("bob") as bob:
        for path in (base, f"{base}/records/helix/pdb", f"{base}/results.zip", f"{base}/report"):
            assert bob.get(path).status_code == 404, path
        assert bob.post(f"{base}/cancel").status_code == 404
        assert folded["id"] not in [job["id"] for job in bob.get("/api/v1/jobs").json()]
    with tiny_server.api("root") as root:
        assert root.get(base).json()["user"] == "alice"
        assert folded["id"] in [job["id"] for job in root.get("/api/v1/jobs").json()]


def test_compare_with_an_uploaded_reference(folded, tiny_server):
    with tiny_server.api("alice") as api:
        url = f"/api/v1/jobs/{folded['id']}/records/helix/compare"
        own = api.get(f"/api/v1/jobs/{folded['id']}/records/helix/pdb").content
        scores = api.post(url, files={"reference": ("self.pdb.gz", gzip.compress(own))}).json()
        assert scores["tm_score"] == pytest.approx(1.0) and scores["reference"] == "self.pdb.gz"
        bad = api.post(url, files={"reference": ("junk.pdb", b"not a structure\x00")})
        assert bad.status_code == 422 and "junk.pdb" in bad.json()["detail"]
        assert "/tmp" not in bad.json()["detail"]


def test_atlas_endpoint_returns_the_pdb(tiny_server):
    with tiny_server.api("bob") as api:
        answer = api.post("/foldSequence/v1/pdb/?num_recycles=0", content=b"MKVLAAGIW\n")
        assert answer.status_code == 200, answer.text
        assert answer.text.startswith(("HEADER", "TITLE", "ATOM")) and "MET A   1" in answer.text
        assert api.post("/foldSequence/v1/pdb/", content=b"MKV1").status_code == 422


def test_atlas_endpoint_not_done_in_time_is_an_error_unless_202_is_asked_for(queue_server):
    with queue_server.api("carol") as api:
        plain = api.post("/foldSequence/v1/pdb/", content=b"MKVLA", headers={"content-type": "text/plain"})
        assert plain.status_code == 503 and int(plain.headers["retry-after"]) > 0
        body = plain.json()
        assert plain.headers["location"] == body["links"]["self"] and body["job"]["state"] == "queued"
        assert api.get(body["links"]["pdb"]).status_code == 409
        assert api.post(f"{body['links']['self']}/cancel").json()["state"] == "cancelled"
        for asks in ({"headers": {"accept": "application/json"}}, {"params": {"pending": "202"}}):
            answer = api.post("/foldSequence/v1/pdb/", content=b"MKVLA", **asks)
            assert answer.status_code == 202, asks
            body = answer.json()
            assert answer.headers["location"] == body["links"]["self"] and body["state"] == "queued"
            assert api.get(body["links"]["self"]).json()["id"] == body["id"]
            assert api.post(f"{body['links']['self']}/cancel").json()["state"] == "cancelled"


def test_atlas_endpoint_with_curl_f_fails_and_writes_no_pdb(queue_server, tmp_path):
    """The script of the issue: ``curl -f ... > model.pdb`` must fail when the fold is not done in time."""
    import shutil
    import subprocess

    if shutil.which("curl") is None:
        pytest.skip("curl not installed")
    model = tmp_path / "model.pdb"
    with model.open("wb") as out:
        run = subprocess.run(["curl", "-sf", "-H", f"Authorization: Bearer {queue_server.tokens['carol']}",
                              "--data-binary", "MKVLA", f"{queue_server.url}/foldSequence/v1/pdb/"],
                             stdout=out, timeout=60)  # fmt: skip
    assert run.returncode == 22 and model.read_bytes() == b""
    with queue_server.api("carol") as api:
        for job in api.get("/api/v1/jobs").json():
            if job["state"] == "queued":
                api.post(f"/api/v1/jobs/{job['id']}/cancel")


def test_cancel_and_the_queued_jobs_limit(queue_server):
    with queue_server.api("alice") as api:
        ids = []
        for i in range(3):
            answer = api.post("/api/v1/jobs", json={"fasta": f">r{i}\nMKV\n"})
            assert answer.status_code == 201
            ids.append(answer.json()["id"])
        over = api.post("/api/v1/jobs", json={"fasta": ">r\nMKV\n"})
        assert over.status_code == 429 and "limit is 3" in over.json()["detail"]
        assert api.post(f"/api/v1/jobs/{ids[0]}/cancel").json()["state"] == "cancelled"
        assert api.post("/api/v1/jobs", json={"fasta": ">r\nMKV\n"}).status_code == 201
        assert api.get(f"/api/v1/jobs/{ids[0]}/results.zip").status_code == 409


@pytest.mark.parametrize(
    "payload, status, words",
    [
        ({"fasta": ">a\nMKV\n>b\nMKV\n>c\nMKV\n>d\nMKV\n"}, 422, "4 records, over the limit of 3"),
        ({"fasta": ">a\n" + "M" * 51}, 422, "51 residues"),
        ({"fasta": ">a\nMKV1\n"}, 422, "invalid letter '1'"),
        ({"fasta": ">a\nMKV\n", "num_recycles": 9}, 422, "num_recycles 9"),
        ({"fasta": ">a\nMKV\n", "num_recycles": -1}, 422, "num_recycles"),
        ({"fasta": 5}, 422, "fasta"),
    ],
)
def test_limits_answer_4xx_json(queue_server, payload, status, words):
    with queue_server.api("bob") as api:
        answer = api.post("/api/v1/jobs", json=payload)
    assert answer.status_code == status and words in answer.json()["detail"]


def test_request_size_limit(queue_server):
    with queue_server.api("bob") as api:
        big = ">a\n" + "MKV" * 30_000
        assert api.post("/api/v1/jobs", json={"fasta": big}).status_code == 413
        upload = api.post("/api/v1/jobs/upload", files={"file": ("big.fa", big.encode())})
        assert upload.status_code == 413 and "limit" in upload.json()["detail"]

        def chunks():  # no Content-Length: the limit applies while the body streams in
            for _ in range(100):
                yield b"M" * 1024

        streamed = api.post("/foldSequence/v1/pdb/", content=chunks())
        assert streamed.status_code == 413
        assert api.get("/api/v1/jobs").status_code == 200


def test_upload_a_fasta_file(queue_server):
    with queue_server.api("fuzz") as api:
        answer = api.post("/api/v1/jobs/upload", files={"file": ("x.fa.gz", gzip.compress(b">x\nMKV:GG\n"))},
                          data={"num_recycles": "1"})  # fmt: skip
        assert answer.status_code == 201 and answer.json()["name"] == "x.fa.gz"
        assert answer.json()["num_recycles"] == 1 and answer.json()["residues"] == 5
        assert api.post(f"/api/v1/jobs/{answer.json()['id']}/cancel").status_code == 200


def test_openapi_documents_the_api(queue_server):
    with queue_server.api("bob") as api:
        spec = api.get("/openapi.json").json()
        docs = api.get("/docs")
    paths = set(spec["paths"])
    assert {"/api/v1/jobs", "/api/v1/jobs/upload", "/foldSequence/v1/pdb/", "/health"} <= paths
    assert "bearer" in json.dumps(spec["components"]["securitySchemes"]).lower()
    assert docs.status_code == 200 and "/static/vendor/swagger-ui-bundle.js" in docs.text


def login(url: str, token: str):
    """A cookie session through the login form; returns the client and the page's CSRF token."""
    import re

    browser = client(url, follow_redirects=False)
    form = browser.get("/login")
    field = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    answer = browser.post("/login", data={"token": token, "csrf_token": field})
    assert answer.status_code == 303, answer.text
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    page = browser.get("/")
    return browser, re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)


def test_browser_session_and_csrf(queue_server):
    anonymous = client(queue_server.url, follow_redirects=False)
    assert anonymous.get("/").status_code == 303 and anonymous.get("/").headers["location"] == "/login"
    assert anonymous.post("/login", data={"token": queue_server.tokens["bob"]}).status_code == 403  # no login CSRF
    browser, csrf = login(queue_server.url, queue_server.tokens["bob"])
    form = {"fasta": ">c\nMKV\n", "num_recycles": ""}
    assert browser.post("/submit", data=form).status_code == 403
    assert browser.post("/submit", data={**form, "csrf_token": "wrong"}).status_code == 403
    done = browser.post("/submit", data={**form, "csrf_token": csrf})
    assert done.status_code == 303 and done.headers["location"].startswith("/jobs/")
    job_id = done.headers["location"].rsplit("/", 1)[1]
    assert browser.get(f"/jobs/{job_id}").status_code == 200
    # The JSON API accepts the cookie for reading; writing needs the CSRF header.
    assert browser.get("/api/v1/jobs").status_code == 200
    assert browser.post(f"/api/v1/jobs/{job_id}/cancel").status_code == 403
    cancel = browser.post(f"/api/v1/jobs/{job_id}/cancel", headers={"X-CSRF-Token": csrf})
    assert cancel.json()["state"] == "cancelled"
    bad = browser.post("/submit", data={"fasta": ">c\nMKJ\n", "csrf_token": csrf})
    assert bad.status_code == 422 and "invalid letter" in bad.text and "MKJ" in bad.text  # the form is kept
    assert browser.post("/logout", data={"csrf_token": csrf}).status_code == 303
    assert browser.get("/api/v1/jobs").status_code == 401


def test_cookies_are_secure_unless_turned_off(tmp_path):
    from remyfold.serve.auth import cookie_options
    from remyfold.serve.config import ServeConfig

    assert cookie_options(ServeConfig(data_dir=tmp_path))["secure"] is True
    assert cookie_options(ServeConfig(data_dir=tmp_path, secure_cookies=False))["secure"] is False
