"""``remyfold serve``: run the lab folding server; its account actions: ``add-user``, ``users``,
``revoke``, ``rotate-token``.

The server itself lives in :mod:`remyfold.serve` (needs the ``serve`` extra).
"""

from __future__ import annotations

import argparse

from remyfold.settings import PRECISIONS, EngineSettings

HELP = "Run a folding server for a lab (REST API, browser UI, job queue, accounts); add-user makes a token."
USAGE = """remyfold serve --data DIR [options]
       remyfold serve {add-user,users,revoke,rotate-token} ... --data DIR"""
DEVICES_HELP = "auto, cpu, cuda or cuda:N"
PORTS = range(1, 65536)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Attach the server's options and the account actions."""
    parser.usage = USAGE
    parser.add_argument("--data", metavar="DIR", help="folder of the job store and results, created if needed "
                        "(required)")  # fmt: skip
    parser.add_argument("--weights", default=EngineSettings.weights,
                        help="model weights: a local folder or a Hugging Face Hub id (default: %(default)s)")  # fmt: skip
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s, this machine "
                        "only; put a TLS reverse proxy in front to serve a network, see README)")  # fmt: skip
    parser.add_argument("--port", type=int, default=8000, help="port to listen on, 1 to 65535 (default: %(default)s)")
    parser.add_argument("--device", action="append", metavar="D", help=f"device of a worker process ({DEVICES_HELP}); "
                        "repeat for one worker per GPU (default: auto)")  # fmt: skip
    parser.add_argument("--precision", default=EngineSettings.precision, choices=PRECISIONS,
                        help="as for predict (default: %(default)s)")  # fmt: skip
    parser.add_argument("--chunk-size", type=int, metavar="N", help="as for predict: rows per chunk of pair operations "
                        "(default: chosen from free memory)")  # fmt: skip
    parser.add_argument("--max-tokens-per-batch", type=int, default=EngineSettings.max_tokens_per_batch, metavar="N",
                        help="as for predict (default: %(default)s)")  # fmt: skip
    parser.add_argument("--insecure-cookies", action="store_true", help="send the session cookie over plain http too "
                        "(only for testing on localhost without TLS)")  # fmt: skip
    parser.add_argument("--atlas-wait", type=float, default=60.0, metavar="S", help="seconds /foldSequence/v1/pdb/ "
                        "waits for its structure before answering 503 (or 202 when asked) (default: %(default)s)")  # fmt: skip
    limits = parser.add_argument_group("limits (over a limit a request gets a 4xx error)")
    limits.add_argument("--max-request-mb", type=float, default=2.0, metavar="MB",
                        help="request body, and an uploaded FASTA file once unpacked (default: %(default)s)")  # fmt: skip
    limits.add_argument("--max-reference-mb", type=float, default=64.0, metavar="MB",
                        help="reference structure for compare, once unpacked (default: %(default)s)")  # fmt: skip
    limits.add_argument("--max-residues", type=int, default=2048, metavar="N",
                        help="residues per record (default: %(default)s)")  # fmt: skip
    limits.add_argument("--max-records", type=int, default=100, metavar="N", help="records per job (default: %(default)s)")
    limits.add_argument("--max-queued-jobs", type=int, default=20, metavar="N",
                        help="jobs a user may have queued or running (default: %(default)s)")  # fmt: skip
    _add_account_actions(parser)


def _add_account_actions(parser: argparse.ArgumentParser) -> None:
    """``add-user``, ``users``, ``revoke``, ``rotate-token``: each needs ``--data``."""
    data = argparse.ArgumentParser(add_help=False)
    data.add_argument("--data", dest="data", metavar="DIR", required=True, help="the server's data folder")
    sub = parser.add_subparsers(dest="serve_action", metavar="[ACTION]", title="account actions (optional)")
    actions = {
        "add-user": "Create an account and print its API token (shown once).",
        "users": "List the accounts: name, role, state, jobs.",
        "revoke": "Lock an account out: its token and browser sessions stop working, its queued and running "
                  "jobs are cancelled; its results stay. rotate-token opens it again.",
        "rotate-token": "Give an account a new API token (printed once); the old token and its browser sessions "
                        "stop working.",
    }  # fmt: skip
    for action, text in actions.items():
        command = sub.add_parser(action, parents=[data], help=text, description=text)
        if action != "users":
            command.add_argument("name", help="user name (letters, digits, . _ @ -)")
    sub.choices["add-user"].add_argument("--admin", action="store_true",
                                         help="an admin sees and manages every user's jobs")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from remyfold.errors import InputError
    from remyfold.serve import require_extra

    require_extra()
    if not args.data:
        raise InputError("--data DIR is required: the folder holding the job store and results")
    if args.serve_action is not None:
        return _account_action(args)
    return _serve(args)


def _account_action(args: argparse.Namespace) -> int:
    """Run ``add-user``/``users``/``revoke``/``rotate-token`` on the data folder's store."""
    from remyfold.serve import auth
    from remyfold.serve.app import open_data_dir

    if args.serve_action == "add-user":
        auth.check_user_name(args.name)  # before anything is created
    store = open_data_dir(args.data, create=args.serve_action == "add-user")
    try:
        if args.serve_action == "users":
            for row in auth.list_users(store):
                print(f"{row['name']}\t{row['role']}\t{row['state']}\t{row['jobs']} jobs")
        elif args.serve_action == "revoke":
            cancelled = auth.revoke(store, args.name)
            print(f"revoked {args.name}: token and sessions no longer work; {cancelled} job(s) cancelled")
        else:
            if args.serve_action == "add-user":
                user, token = auth.add_user(store, args.name, admin=args.admin)
                print(f"created {'admin' if user.is_admin else 'user'} {user.name}; API token (shown once, keep it secret):")
            else:
                user, token = auth.rotate_token(store, args.name)
                print(f"new API token of {user.name} (shown once; the old one and its sessions no longer work):")
            print(token)
    finally:
        store.engine.dispose()
    return 0


def _check_options(args: argparse.Namespace) -> None:
    """One-line errors for out-of-range numbers."""
    from remyfold.errors import InputError

    if args.port not in PORTS:
        raise InputError(f"--port {args.port}: choose a port from 1 to 65535")
    for flag, value in (("--max-residues", args.max_residues), ("--max-records", args.max_records),
                        ("--max-queued-jobs", args.max_queued_jobs), ("--max-request-mb", args.max_request_mb),
                        ("--max-reference-mb", args.max_reference_mb),
                        ("--max-tokens-per-batch", args.max_tokens_per_batch)):  # fmt: skip
        if not value > 0:
            raise InputError(f"{flag} {value}: must be a positive number")
    if not args.atlas_wait >= 0:
        raise InputError(f"--atlas-wait {args.atlas_wait}: must be 0 or more seconds")
    if args.chunk_size is not None and args.chunk_size <= 0:
        raise InputError(f"--chunk-size {args.chunk_size}: must be a positive number")


def _serve(args: argparse.Namespace) -> int:
    from remyfold.devices import check_device
    from remyfold.errors import InputError
    from remyfold.io.outputs import check_folder_output
    from remyfold.serve.app import run_server
    from remyfold.settings import DEVICE_PATTERN
    from remyfold.serve.config import Limits, ServeConfig
    from remyfold.weights import resolve_weights

    _check_options(args)
    check_folder_output(args.data, "--data")  # before the weights are looked for
    devices = tuple(args.device or ["auto"])
    for device in devices:
        if not DEVICE_PATTERN.match(device):
            raise InputError(f"--device {device}: expected {DEVICES_HELP}")
        check_device(device)
    weights = resolve_weights(args.weights)  # a wrong --weights fails now, in one line, not later in a worker
    megabytes = lambda value: int(value * 1024 * 1024)  # noqa: E731
    limits = Limits(max_request_bytes=megabytes(args.max_request_mb), max_residues=args.max_residues,
                    max_records=args.max_records, max_queued_jobs=args.max_queued_jobs,
                    max_reference_bytes=megabytes(args.max_reference_mb))  # fmt: skip
    config = ServeConfig(
        data_dir=args.data, weights=args.weights, weights_name=weights.name, weights_revision=weights.revision,
        devices=devices, host=args.host, port=args.port, secure_cookies=not args.insecure_cookies,
        atlas_wait_s=args.atlas_wait, max_tokens_per_batch=args.max_tokens_per_batch, precision=args.precision,
        chunk_size=args.chunk_size, limits=limits,
    )  # fmt: skip
    run_server(config)
    return 0
