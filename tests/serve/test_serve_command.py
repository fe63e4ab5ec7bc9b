"""The ``remyfold serve`` command: account actions (``users``, ``revoke``, ``rotate-token``) and a
table of bad inputs (one line, exit 2, nothing created), and its help text."""

from __future__ import annotations

import pytest

from remyfold.serve import auth
from remyfold.serve.config import ServeConfig
from remyfold.serve.store import Store


def test_users_revoke_and_rotate_token(tmp_path, capsys):
    from remyfold.cli import main

    data = str(tmp_path / "d")
    assert main(["serve", "add-user", "alice", "--data", data]) == 0
    old_token = capsys.readouterr().out.split()[-1]
    assert main(["serve", "add-user", "root", "--admin", "--data", data]) == 0
    capsys.readouterr()
    store = Store(ServeConfig(data_dir=tmp_path / "d").database)
    alice = auth.user_for_token(store, old_token)
    store.submit(alice, "j1", name="j", n_records=1, n_residues=3, num_recycles=None, max_active=5)
    session = auth.open_session(store, alice, ServeConfig(data_dir=tmp_path / "d"))

    assert main(["serve", "users", "--data", data]) == 0
    listed = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert listed == [["alice", "user", "active", "1 jobs"], ["root", "admin", "active", "0 jobs"]]

    assert main(["serve", "rotate-token", "alice", "--data", data]) == 0
    new_token = capsys.readouterr().out.split()[-1]
    assert auth.user_for_token(store, old_token) is None and auth.user_for_token(store, new_token) == alice
    assert store.session(auth.hash_secret(session)) is None  # browser sessions end with the old token

    assert main(["serve", "revoke", "alice", "--data", data]) == 0
    assert "1 job(s) cancelled" in capsys.readouterr().out
    assert auth.user_for_token(store, new_token) is None and store.job(alice, "j1").state == "cancelled"
    assert main(["serve", "users", "--data", data]) == 0
    assert capsys.readouterr().out.splitlines()[0].split("\t")[:3] == ["alice", "user", "revoked"]
    assert main(["serve", "revoke", "nobody", "--data", data]) == 2
    assert "no user 'nobody'" in capsys.readouterr().err



def _corrupt(folder):
    folder.mkdir()
    (folder / "remyfold-serve.sqlite").write_bytes(b"not a database" * 500)
    return folder


@pytest.mark.parametrize(
    "args, words, created",
    [
        (["--port", "70000"], "--port 70000", None),
        (["--port", "0"], "--port 0", None),
        (["--device", "tpu"], "--device tpu", None),
        (["--max-records", "0"], "--max-records 0", None),
        (["--max-reference-mb", "-1"], "--max-reference-mb", None),
        (["--atlas-wait", "-1"], "--atlas-wait", None),
        (["--weights", "{tmp}/none"], "--weights", None),
        (["--data", "{tmp}/afile"], "--data {tmp}/afile is a file", None),  # said before the weights are looked for
        (["--host", "999.999.1.1", "--weights", "{weights}"], "--host 999.999.1.1", None),
        (["--weights", "{weights}", "--data", "{corrupt}"], "not a usable remyfold serve database", None),
        (["add-user", "bob", "--data", "{corrupt}"], "not a usable remyfold serve database", None),
        (["add-user", "bad name!", "--data", "{tmp}/new"], "not allowed", "new"),
        (["users", "--data", "{tmp}/new"], "no remyfold serve data folder", "new"),
        (["rotate-token", "bob", "--data", "{tmp}/new"], "no remyfold serve data folder", "new"),
    ],
)  # fmt: skip
def test_serve_bad_input_is_one_line_exit_2_nothing_created(args, words, created, tmp_path, tiny_weights_dir, capsys):
    from remyfold.cli import main

    values = {"tmp": tmp_path, "weights": tiny_weights_dir}
    (tmp_path / "afile").write_text("not a folder\n")
    if "{corrupt}" in args:
        values["corrupt"] = _corrupt(tmp_path / "bad")
    args = [arg.format(**values) for arg in args]
    if "--data" not in args:
        args += ["--data", str(tmp_path / "data")]
    assert main(["serve", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words.format(**values) in err and "Traceback" not in err, err
    assert "port in use" not in err or "--port" in words
    if created:
        assert not (tmp_path / created).exists()


def test_serve_help_says_what_is_required_and_lists_every_device(capsys):
    from remyfold.cli import main

    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    text = capsys.readouterr().out
    usage = text.split("\n\n")[0]
    assert "remyfold serve --data DIR" in usage and "[ACTION]" in text
    flat = " ".join(text.split())
    assert "(auto, cpu, cuda or cuda:N)" in flat
    assert "(default: 2048)" in flat and "(default: 2.0)" in flat and "(default: 2)" not in flat
    for action in ("add-user", "users", "revoke", "rotate-token"):
        with pytest.raises(SystemExit):
            main(["serve", action, "--help"])
        help_text = capsys.readouterr().out
        assert len(help_text.split("\n\n")[1].strip()) > 20, action  # a description under the usage
