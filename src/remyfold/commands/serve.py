"""``remyfold serve``: run the lab folding server; ``remyfold serve add-user NAME``: make an account.

The server itself lives in :mod:`remyfold.serve` (needs the ``serve`` extra).
"""

from __future__ import annotations

import argparse

from remyfold.settings import PRECISIONS, EngineSettings

HELP = "Run a folding server for a lab (REST API, browser UI, job queue, accounts); add-user makes a token."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Attach the server's options and the ``add-user`` action."""
    parser.add_argument("--data", metavar="DIR", help="folder of the job store and results (created if needed)")
    parser.add_argument("--weights", default=EngineSettings.weights,
                        help="model weights: a local folder or a Hugging Face Hub id (default: %(default)s)")  # fmt: skip
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s, this machine "
                        "only; put a TLS reverse proxy in front to serve a network, see README)")  # fmt: skip
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default: %(default)s)")
    parser.add_argument("--device", action="append", metavar="D", help="device of a worker process (auto, cpu, "
                        "cuda:N); repeat for one worker per GPU (default: auto)")  # fmt: skip
    parser.add_argument("--precision", default=EngineSettings.precision, choices=PRECISIONS, help="as for predict")
    parser.add_argument("--chunk-size", type=int, metavar="N", help="as for predict: rows per chunk of pair operations")
    parser.add_argument("--max-tokens-per-batch", type=int, default=EngineSettings.max_tokens_per_batch, metavar="N",
                        help="as for predict")  # fmt: skip
    parser.add_argument("--insecure-cookies", action="store_true", help="send the session cookie over plain http too "
                        "(only for testing on localhost without TLS)")  # fmt: skip
    parser.add_argument("--atlas-wait", type=float, default=60.0, metavar="S",
                        help="seconds /foldSequence/v1/pdb/ waits for its structure before answering 202 (default: %(default)s)")  # fmt: skip
    limits = parser.add_argument_group("limits (over a limit a request gets a 4xx JSON error)")
    limits.add_argument("--max-request-mb", type=float, default=2.0, metavar="MB", help="request body (default: 2)")
    limits.add_argument("--max-residues", type=int, default=2048, metavar="N", help="residues per record (default: 2048)")
    limits.add_argument("--max-records", type=int, default=100, metavar="N", help="records per job (default: 100)")
    limits.add_argument("--max-queued-jobs", type=int, default=20, metavar="N",
                        help="jobs a user may have queued or running (default: 20)")  # fmt: skip
    sub = parser.add_subparsers(dest="serve_action", metavar="ACTION")
    add_user = sub.add_parser("add-user", help="create an account and print its API token (shown once)")
    add_user.add_argument("name", help="user name (letters, digits, . _ @ -)")
    add_user.add_argument("--data", dest="data", metavar="DIR", required=True, help="the server's data folder")
    add_user.add_argument("--admin", action="store_true", help="an admin sees and manages every user's jobs")


def run(args: argparse.Namespace) -> int:
    from remyfold.errors import InputError
    from remyfold.serve import require_extra

    require_extra()
    if not args.data:
        raise InputError("--data DIR is required: the folder holding the job store and results")
    if args.serve_action == "add-user":
        return _add_user(args)
    return _serve(args)


def _add_user(args: argparse.Namespace) -> int:
    from remyfold.errors import InputError
    from remyfold.serve.auth import add_user
    from remyfold.serve.config import ServeConfig
    from remyfold.serve.store import Store

    config = ServeConfig(data_dir=args.data)
    try:
        config.jobs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"--data {config.data_dir}: cannot use the folder ({err.strerror}); choose another") from None
    user, token = add_user(Store(config.database), args.name, admin=args.admin)
    role = "admin" if user.is_admin else "user"
    print(f"created {role} {user.name}; API token (shown once, keep it secret):")
    print(token)
    return 0


def _serve(args: argparse.Namespace) -> int:
    from remyfold.devices import check_device
    from remyfold.errors import InputError
    from remyfold.serve.app import run_server
    from remyfold.settings import DEVICE_PATTERN
    from remyfold.serve.config import Limits, ServeConfig
    from remyfold.weights import resolve_weights

    for flag, value in (("--port", args.port), ("--max-residues", args.max_residues), ("--max-records", args.max_records),
                        ("--max-queued-jobs", args.max_queued_jobs), ("--max-request-mb", args.max_request_mb),
                        ("--max-tokens-per-batch", args.max_tokens_per_batch)):  # fmt: skip
        if value <= 0:
            raise InputError(f"{flag} {value}: must be a positive number")
    if args.atlas_wait < 0 or (args.chunk_size is not None and args.chunk_size <= 0):
        raise InputError("--atlas-wait must be ≥ 0 and --chunk-size positive")
    devices = tuple(args.device or ["auto"])
    for device in devices:
        if not DEVICE_PATTERN.match(device):
            raise InputError(f"--device {device}: expected auto, cpu, cuda or cuda:N")
        check_device(device)
    resolve_weights(args.weights)  # a wrong --weights fails now, in one line, not later in a worker
    limits = Limits(max_request_bytes=int(args.max_request_mb * 1024 * 1024), max_residues=args.max_residues,
                    max_records=args.max_records, max_queued_jobs=args.max_queued_jobs)  # fmt: skip
    config = ServeConfig(
        data_dir=args.data, weights=args.weights, devices=devices, host=args.host,
        port=args.port, secure_cookies=not args.insecure_cookies, atlas_wait_s=args.atlas_wait,
        max_tokens_per_batch=args.max_tokens_per_batch, precision=args.precision, chunk_size=args.chunk_size,
        limits=limits,
    )  # fmt: skip
    run_server(config)
    return 0
