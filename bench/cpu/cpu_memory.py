"""Peak memory of a full-size CPU fold by length, without folding with the whole 3.5 B model.

Activations do not depend on the number of trunk blocks (they run one after the other and each
replaces the states) nor much on the number of language-model layers (only the stack of their
hidden states, ``(layers + 1) × L × 2560`` floats, grows with it). So the peak of the full model
at length ``L`` is estimated as

    weights as held (``--weights-gib``, 7.86 GiB for esmfold_v1 with its fp16 language model)
    + the activation peak measured here on the full dimensions with 1 trunk block and 1 LM layer
      (peak RSS during a one-pass fold minus RSS before it)
    + the hidden-state stack of the 35 missing LM layers,

plus the process's RSS before loading (interpreter, torch). The estimate is checked against a
length measured on the whole model (``bench/results/cpu-full.json``, L = 64).

Usage: ``python bench/cpu/cpu_memory.py --lengths 64,128,256,400,600 --out bench/results/cpu-memory.json``
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1] / "common")]

from cpu_worker import reset_peak, rss_gib  # noqa: E402
from models import model_config, random_sequence  # noqa: E402

GIB = 1024**3


def reduced_model(full: dict, attention: str):
    """Full dimensions, one trunk block and one language-model layer, random weights."""
    from remyfold.model import ESMFold, FoldingConfig

    config = json.loads(json.dumps(full))
    config["num_hidden_layers"] = 1
    config["esmfold_config"]["trunk"]["num_blocks"] = 1
    folding = FoldingConfig.from_hf_dict(config)
    torch.manual_seed(0)
    model = ESMFold(folding, attention=attention)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.02)
    return model.eval(), folding


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lengths", default="64,128,256,400")
    p.add_argument("--weights-gib", type=float, default=7.856, help="weights as held by remyfold (fp32 default)")
    p.add_argument("--chunk", type=int, default=None)
    p.add_argument("--attention", default="plain", choices=["plain", "sdpa"])
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    from remyfold.api import Folder

    base = rss_gib("VmRSS")
    full = model_config("full", torch.device("cpu"))
    model, folding = reduced_model(full, args.attention)
    folder = Folder(model, device=torch.device("cpu"), chunk_size=args.chunk)
    missing_states = (full["num_hidden_layers"] - 1) * folding.esm.hidden_size * 4  # bytes per residue
    rows = []
    for length in (int(n) for n in args.lengths.split(",")):
        before = rss_gib("VmRSS")
        reset_peak()
        folder.fold_batch([("x", random_sequence(length, f"mem-{length}"))], num_recycles=0)
        activations = rss_gib() - before
        estimate = base + args.weights_gib + activations + missing_states * (length + 2) / GIB
        rows.append({"length": length, "activation_peak_gib": round(activations, 3),
                     "estimated_peak_rss_gib": round(estimate, 2)})  # fmt: skip
        print(rows[-1], file=sys.stderr, flush=True)
        args.out.write_text(json.dumps({"process_base_gib": base, "weights_gib": args.weights_gib, "chunk": args.chunk,
                                        "attention": args.attention, "rows": rows}, indent=1) + "\n")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
