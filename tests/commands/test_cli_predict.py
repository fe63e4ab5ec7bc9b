"""Tests of ``remyfold predict`` through the CLI: exit codes, one-line errors, --quiet, --report, end to end."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from remyfold import pipeline
from remyfold.io.residues import RESTYPES_WITH_X
from remyfold.prediction import Chain, Prediction
from remyfold.sequence import CHAIN_IDS


def fake_prediction(record_id: str, sequence: str) -> Prediction:
    """Backbone atoms on a line, pLDDT 70, pTM 0.4."""
    chains = sequence.split(":")
    n = len(sequence) - len(chains) + 1
    mask = np.zeros((n, 37), dtype=bool)
    mask[:, :3] = True
    positions = np.zeros((n, 37, 3), dtype=np.float32)
    positions[:, :, 0] = np.arange(n)[:, None] * 3.8
    return Prediction(
        id=record_id, chains=[Chain(CHAIN_IDS[i], s) for i, s in enumerate(chains)],
        aatype=np.array([RESTYPES_WITH_X.index(c) for c in sequence.replace(":", "")]),
        positions=positions, atom_mask=mask, plddt=np.full((n, 37), 70.0, np.float32),
        pae=np.ones((n, n), np.float32), ptm=0.4,
        chain_index=np.repeat(np.arange(len(chains)), [len(c) for c in chains]),
        residue_number=np.concatenate([np.arange(1, len(c) + 1) for c in chains]), num_recycles=4,
    )  # fmt: skip


class FakeEngineLoader:
    """Replaces :class:`remyfold.pipeline.EngineLoader`; records whose id starts with ``bad`` raise."""

    precisions = ("fp32", "bf16")

    def __call__(self, weights, options):
        return self

    device = "cpu"

    def fold_batch(self, records, *, num_recycles=None, progress=None):
        if progress is not None:
            progress("language model")
        if any(record_id.startswith("bad") for record_id, _ in records):
            raise ValueError("cannot fold this one")
        return [fake_prediction(record_id, sequence) for record_id, sequence in records]


@pytest.fixture
def cli(monkeypatch, tmp_path):
    """``remyfold.cli.main`` with only ``predict`` attached, a fake engine and a local weights folder."""
    from remyfold import cli as cli_module

    monkeypatch.setattr(cli_module, "COMMANDS", {"predict": "remyfold.commands.predict"})
    monkeypatch.setattr(pipeline, "EngineLoader", FakeEngineLoader)
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "config.json").write_text("{}")
    (weights / "model.safetensors").write_bytes(b"\x00")

    def main(*argv):
        return cli_module.main(["predict", *map(str, argv), "--weights", str(weights)])

    return main


def write_fasta(tmp_path, text, name="in.fa"):
    path = tmp_path / name
    path.write_text(text)
    return path


def statuses(out):
    with open(out / "summary.tsv", newline="") as handle:
        return {row["id"]: row["status"] for row in csv.DictReader(handle, dialect="excel-tab")}


def test_all_ok_exit_zero(cli, tmp_path, capsys):
    fasta = write_fasta(tmp_path, ">a\nMKV\n>b\nGGW:MK\n")
    assert cli(fasta, "--out", tmp_path / "out", "--quiet") == 0
    assert statuses(tmp_path / "out") == {"a": "ok", "b": "ok"}
    assert capsys.readouterr().err == ""  # --quiet: no progress bar, no tally
    assert json.loads((tmp_path / "out" / "b.json").read_text())["precision"] == "fp32"


def test_some_failed_exit_one(cli, tmp_path, capsys):
    fasta = write_fasta(tmp_path, ">a\nMKV\n>bad1\nGGW\n")
    assert cli(fasta, "--out", tmp_path / "out") == 1
    assert statuses(tmp_path / "out") == {"a": "ok", "bad1": "failed"}
    assert "summary.tsv" in capsys.readouterr().err
    # A rerun only retries the failed record.
    assert cli(fasta, "--out", tmp_path / "out", "--quiet") == 1
    assert statuses(tmp_path / "out") == {"a": "skipped", "bad1": "failed"}


def test_progress_bar_updates_per_record(cli, tmp_path, capsys):
    single = write_fasta(tmp_path, ">a\nMKV\n", "one.fa")
    assert cli(single, "--out", tmp_path / "o1") == 0
    one = capsys.readouterr().err
    several = write_fasta(tmp_path, ">a\nMKV\n>b\nMKVW\n>c\nMK\n", "three.fa")
    assert cli(several, "--out", tmp_path / "o3", "--max-tokens-per-batch", "1") == 0
    three = capsys.readouterr().err
    assert len(three.splitlines()) > len(one.splitlines())


@pytest.mark.parametrize(
    ("text", "extra", "expected"),
    [
        (">a\nMKV\n>b\nMK1\n", [], "record 'b'"),
        (">a\nMKVVV\n", ["--max-length", "4"], "--max-length"),
        (">a\nMKV\n", ["--precision", "fp4"], "fp32, bf16"),
        ("", [], "empty"),
        (">a\x00b\nMKV\n", [], "control character '\\x00'"),  # the server's id rules are predict's (issue 21)
        (">" + "x" * 300 + "\nMKV\n", [], "300 bytes long"),
    ],
)
def test_bad_input_one_line_exit_two(cli, tmp_path, capsys, text, extra, expected):
    fasta = write_fasta(tmp_path, text)
    assert cli(fasta, "--out", tmp_path / "out", *extra) == 2
    err = capsys.readouterr().err
    assert err.startswith("remyfold predict: error: ") and err.count("\n") == 1
    assert expected in err and "Traceback" not in err and "x" * 61 not in err  # long ids are cut in messages
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("flag", [["--num-recycles", "-1"], ["--chunk-size", "0"], ["--max-tokens-per-batch", "x"]])
def test_bad_numbers_rejected_by_parser(cli, tmp_path, flag):
    with pytest.raises(SystemExit) as info:
        cli(write_fasta(tmp_path, ">a\nMK\n"), "--out", tmp_path / "out", *flag)
    assert info.value.code == 2


def test_report_flag_builds_report(cli, tmp_path, monkeypatch, capsys):
    import remyfold.report

    calls = []
    monkeypatch.setattr(remyfold.report, "build_report", lambda out: calls.append(out) or out / "report.html")
    assert cli(write_fasta(tmp_path, ">a\nMK\n"), "--out", tmp_path / "out", "--report", "--quiet") == 0
    assert calls == [tmp_path / "out"]
    assert capsys.readouterr().out.strip() == str(tmp_path / "out" / "report.html")


def test_parser_defaults_match_library():
    import argparse

    from remyfold.commands import predict
    from remyfold.settings import DEFAULT_MAX_LENGTH, DEFAULT_MAX_TOKENS_PER_BATCH, DEFAULT_WEIGHTS

    parser = argparse.ArgumentParser()
    predict.add_arguments(parser)
    args = parser.parse_args(["x.fa", "--out", "o"])
    assert (args.weights, args.max_length, args.max_tokens_per_batch) == (
        DEFAULT_WEIGHTS, DEFAULT_MAX_LENGTH, DEFAULT_MAX_TOKENS_PER_BATCH)  # fmt: skip
    assert args.num_recycles is None  # no recycle option: the reference's default (see test_default_recycles.py)


def test_precision_help_lists_the_choices():
    import argparse

    from remyfold.api import LM_DTYPES
    from remyfold.commands import predict
    from remyfold.settings import PRECISIONS

    parser = argparse.ArgumentParser()
    predict.add_arguments(parser)
    [action] = [a for a in parser._actions if "--precision" in a.option_strings]
    assert tuple(LM_DTYPES) == PRECISIONS  # the engine knows every precision the settings offer
    assert all(choice in action.help and choice in action.metavar for choice in PRECISIONS)


@pytest.mark.slow
def test_end_to_end_with_tiny_random_model(tmp_path, monkeypatch, capsys):
    """The real engine on a tiny random ``transformers.EsmForProteinFolding`` saved with ``save_pretrained``."""
    pytest.importorskip("transformers")
    from tiny_models import make_reference, save_reference

    from remyfold import cli as cli_module

    monkeypatch.setattr(cli_module, "COMMANDS", {"predict": "remyfold.commands.predict"})
    weights = save_reference(make_reference(seed=0), tmp_path / "tiny")
    fasta = write_fasta(tmp_path, ">mono\nMGLLECCARCLVGAPF\n>cx\nMKVLAG:GGWQ\n")
    out = tmp_path / "out"
    argv = ["predict", str(fasta), "--out", str(out), "--weights", str(weights), "--device", "cpu"]
    assert cli_module.main([*argv, "--num-recycles", "1", "--quiet"]) == 0
    assert statuses(out) == {"mono": "ok", "cx": "ok"}
    data = json.loads((out / "cx.json").read_text())
    # The 25-residue linker is gone from every output.
    assert [c["length"] for c in data["chains"]] == [6, 4]
    assert len(data["plddt"]) == 10 and np.asarray(data["pae"]).shape == (10, 10)
    assert all(0.0 <= v <= 100.0 for v in data["plddt"]) and 0.0 <= data["ptm"] <= 1.0
    assert data["num_recycles"] == 1 and data["weights_revision"].startswith("local-")
    import gemmi

    structure = gemmi.read_structure(str(out / "cx.pdb"))
    assert [(chain.name, len(chain)) for chain in structure[0]] == [("A", 6), ("B", 4)]
    assert [r.seqid.num for r in structure[0]["B"]] == [1, 2, 3, 4]
    # A rerun is a no-op.
    assert cli_module.main([*argv, "--quiet"]) == 0
    assert statuses(out) == {"mono": "skipped", "cx": "skipped"}


@pytest.mark.slow
def test_real_engine_failed_record_among_good_ones(tmp_path, monkeypatch, capsys):
    """With the real engine, one record that fails (a simulated out-of-memory) does not sink the others."""
    pytest.importorskip("transformers")
    from tiny_models import make_reference, save_reference

    from remyfold import cli as cli_module
    from remyfold.api import Folder

    real_fold_batch = Folder.fold_batch

    def fold_batch(self, records, **kwargs):
        if any(rid == "huge" for rid, _ in records):
            raise RuntimeError("CUDA out of memory. Tried to allocate 80.00 GiB")
        return real_fold_batch(self, records, **kwargs)

    monkeypatch.setattr(Folder, "fold_batch", fold_batch)
    monkeypatch.setattr(cli_module, "COMMANDS", {"predict": "remyfold.commands.predict"})
    weights = save_reference(make_reference(seed=0), tmp_path / "tiny")
    fasta = write_fasta(tmp_path, ">a\nMGLLECCARC\n>huge\nMKVLAGWQ\n>b\nGSHMLEDPVQ:MKV\n")
    out = tmp_path / "out"
    argv = ["predict", str(fasta), "--out", str(out), "--weights", str(weights), "--num-recycles", "0", "--quiet"]
    assert cli_module.main(argv) == 1
    assert statuses(out) == {"a": "ok", "huge": "failed", "b": "ok"}
    summary = (out / "summary.tsv").read_text()
    assert "out of memory" in summary
    assert not (out / "huge.json").exists() and (out / "b.pdb").exists()


@pytest.mark.slow
def test_complex_confidence_in_every_output_with_tiny_model(tmp_path, monkeypatch, capsys):
    """`predict` then `report` with the real engine: a three-chain complex gets ipTM, ranking confidence,
    actifpTM and the chain-pair matrices in its JSON, summary.tsv, ModelCIF and report; a monomer gets
    null / empty / nothing."""
    pytest.importorskip("transformers")
    import csv

    import gemmi
    from tiny_models import make_reference, save_reference

    from remyfold import cli as cli_module

    commands = {"predict": "remyfold.commands.predict", "report": "remyfold.commands.report"}
    monkeypatch.setattr(cli_module, "COMMANDS", commands)
    weights = save_reference(make_reference(seed=0), tmp_path / "tiny")
    fasta = write_fasta(tmp_path, ">mono\nMGLLECCARCLVGAPF\n>cx\nMKVLAG:GGWQ:PEDKLS\n")
    out = tmp_path / "out"
    argv = ["predict", str(fasta), "--out", str(out), "--weights", str(weights), "--device", "cpu"]
    assert cli_module.main([*argv, "--num-recycles", "0", "--quiet"]) == 0
    cx, mono = (json.loads((out / f"{name}.json").read_text()) for name in ("cx", "mono"))
    assert 0 < cx["iptm"] < 1 and 0 < cx["actifptm"] < 1
    assert cx["ranking_confidence"] == pytest.approx(0.8 * cx["iptm"] + 0.2 * cx["ptm"], abs=2e-4)
    pair_iptm, pae_min = np.asarray(cx["chain_pair_iptm"]), np.asarray(cx["chain_pair_pae_min"])
    assert pair_iptm.shape == pae_min.shape == (3, 3) and np.allclose(pair_iptm, pair_iptm.T)
    assert ((0 < pair_iptm) & (pair_iptm < 1)).all() and (pae_min >= 0).all()
    # the minimum PAE of a pair is the minimum of the PAE block the JSON holds (linkers excluded)
    pae = np.asarray(cx["pae"])  # chains A 0:6, B 6:10, C 10:16
    assert pae.shape == (16, 16) and pae_min[0, 2] == pytest.approx(pae[0:6, 10:16].min(), abs=0.011)
    keys = ("iptm", "ranking_confidence", "actifptm", "chain_pair_iptm", "chain_pair_pae_min")
    assert {key: mono[key] for key in keys} == dict.fromkeys(keys)
    with open(out / "summary.tsv", newline="") as handle:
        rows = {row["id"]: row for row in csv.DictReader(handle, dialect="excel-tab")}
    assert rows["mono"]["iptm"] == "" and float(rows["cx"]["iptm"]) == pytest.approx(cx["iptm"], abs=1e-4)

    def global_metrics(name):
        block = gemmi.cif.read(str(out / f"{name}.cif")).sole_block()
        metrics = block.get_mmcif_category("_ma_qa_metric.")
        values = block.get_mmcif_category("_ma_qa_metric_global.")
        names = dict(zip(metrics["id"], metrics["name"]))
        return {names[m]: float(v) for m, v in zip(values["metric_id"], values["metric_value"])}

    assert global_metrics("cx")["ipTM"] == pytest.approx(cx["iptm"], abs=6e-4)
    assert "ipTM" not in global_metrics("mono")
    assert cli_module.main(["report", str(out)]) == 0
    files = out / "report_files"
    assert (files / "cx.chain_pairs.png").is_file() and not (files / "mono.chain_pairs.png").exists()
    assert f"ipTM <b>{cx['iptm']:.3f}</b>" in (out / "report.html").read_text()
