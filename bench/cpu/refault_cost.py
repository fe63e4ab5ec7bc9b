"""What paging costs with a warm page cache: re-mapping weight pages that the kernel still caches.

Maps a checkpoint file as remyfold does (private), and ``--repeats`` times: touches one byte per
page of its first ``--gib`` GiB (page faults; the first round may read from the disk), then hands
the pages back (``madvise(MADV_DONTNEED)``) and asks for them ahead (``MADV_WILLNEED``), timing
each step with the minor/major fault counts and system time. A paged fold of esmfold_v1 re-maps
the language model (5.2 GiB) once and the trunk (2.6 GiB) once per recycling pass.

Usage: ``python bench/cpu/refault_cost.py --weights /work/ckpt/full --out bench/results/cpu-refault.json``
"""

from __future__ import annotations

import argparse
import json
import mmap
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cpu_worker import code_version  # noqa: E402
from pagecache import cached_fraction  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", type=Path, required=True)
    p.add_argument("--gib", type=float, default=2.0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    path = args.weights / "model.safetensors"
    report = {"file": str(path), "code": code_version(), "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "page_cache_fraction_at_start": cached_fraction(path), "rounds": []}  # fmt: skip
    with path.open("rb") as handle:
        mapping = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_COPY)
    size = min(int(args.gib * 2**30), len(mapping)) // mmap.PAGESIZE * mmap.PAGESIZE
    pages = np.frombuffer(mapping, dtype=np.uint8)[:size : mmap.PAGESIZE]
    for _ in range(args.repeats):
        before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        int(pages.sum())  # one read per page: a fault each (or one per fault-around block)
        touched, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        mapping.madvise(mmap.MADV_DONTNEED, 0, size)
        released = time.perf_counter() - start
        start = time.perf_counter()
        mapping.madvise(mmap.MADV_WILLNEED, 0, size)
        report["rounds"].append({"gib": size / 2**30, "touch_seconds": touched, "dontneed_seconds": released,
                                 "willneed_seconds": time.perf_counter() - start,
                                 "minor_faults": after.ru_minflt - before.ru_minflt,
                                 "major_faults": after.ru_majflt - before.ru_majflt,
                                 "system_seconds": after.ru_stime - before.ru_stime})  # fmt: skip
        print(report["rounds"][-1], file=sys.stderr)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
