"""``ledger serve`` (the HTTP API under uvicorn) and ``ledger token`` (a local JWT).

``ledger serve`` runs ``api.http.app.create_app()`` on the store LEDGER_DATABASE_URL
names, with the read models following the log in the same process (and signed
checkpoints issued as ``ledger project`` issues them, when a log signing key exists).
``--workers N`` (PostgreSQL) runs N processes, and the read models follow in
``ledger project`` instead. It never
runs without authentication: LEDGER_JWT_SECRET or LEDGER_JWT_PUBLIC_KEY must be set.
``--demo`` is for ``make demo`` only: it makes up a secret if none is set (printed
once, so the tokens it prints work), creates a log signing key in ./var if there is
none and signs a checkpoint, and prints the URLs and a token per role.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import secrets
import sys
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from api.services import Services
    from api.settings import LedgerSettings

    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

SECRET_VARIABLE = "LEDGER_JWT_SECRET"
MULTIPROCESS_METRICS = "PROMETHEUS_MULTIPROC_DIR"
PRISON_CODE = re.compile(r"^[A-Z]{3}$")
DEMO_TOKENS = (
    ("recorder at LEI", "recorder", ("LEI",), "DEMO_RECORDER"),
    ("inspector", "inspector", (), "DEMO_INSPECTOR"),
    ("investigator", "investigator", (), "DEMO_INVESTIGATOR"),
    ("consumer", "consumer", (), "DEMO_CONSUMER_SYSTEM"),
)


# -- ledger serve -------------------------------------------------------------------


def add_serve(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve the HTTP API (uvicorn), the read models following in-process",
    )
    parser.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="default 8000")
    parser.add_argument(
        "--log-level",
        default="info",
        choices=("critical", "error", "warning", "info", "debug"),
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="for make demo: a random LEDGER_JWT_SECRET if none is set, a log key "
        "and a checkpoint if none exist, and demo tokens printed",
    )
    parser.add_argument(
        "--workers",
        type=_workers,
        default=1,
        help="server processes (default 1; more needs PostgreSQL): with more than "
        "one, the read models follow in ledger project, run beside the API",
    )
    parser.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.http.app import create_app
    from api.settings import ApiConfigurationError, ApiSettings

    if args.demo and not os.environ.get(SECRET_VARIABLE):
        os.environ[SECRET_VARIABLE] = secrets.token_urlsafe(32)
        print(
            f"{SECRET_VARIABLE} was not set; this demo server uses a random one:\n"
            f"  export {SECRET_VARIABLE}={os.environ[SECRET_VARIABLE]}\n"
            "(set it yourself, and ledger token mints more tokens for this server)"
        )
    try:
        settings = ApiSettings.from_environment()
    except ApiConfigurationError as e:
        print(f"ledger serve: {e}", file=sys.stderr)
        return 1
    if args.workers > 1:
        return _serve_workers(args)
    services = open_services(args.settings, follow=settings.follow_in_process)
    if args.demo:
        _prepare_demo(services)
        _print_demo(services, args.host, args.port)
    logging.basicConfig(level=args.log_level.upper(), format="%(message)s")
    app = create_app(settings, services=services)
    uvicorn.run(app, **_uvicorn_options(args))
    return 0


def _uvicorn_options(args: argparse.Namespace) -> dict[str, Any]:
    """What every ``ledger serve`` passes uvicorn, one process or several."""
    from api.http.protocol import PROTOCOL

    return {
        "host": args.host,
        "port": args.port,
        "log_level": args.log_level,
        # The app logs each request as one JSON line; uvicorn's access log would
        # repeat it.
        "access_log": False,
        "http": PROTOCOL,
    }


def _serve_workers(args: argparse.Namespace) -> int:
    """``--workers N``: N uvicorn processes on one socket, none following the read
    models. One follower (``ledger project``) serves them all: in each worker it
    would fold every event again and fight the others for each page's lock. The
    workers learn its progress from the store
    (``projections.watched_runner.WatchedRunner``)."""
    import tempfile

    import uvicorn

    from store.config import StoreConfigurationError, environment_for

    url = args.settings.database_url
    try:
        module = environment_for(url).get("PERSISTENCE_MODULE")
    except StoreConfigurationError as e:
        print(f"ledger serve: {e}", file=sys.stderr)
        return 1
    if module != "store.postgres":
        print(
            f"ledger serve: --workers {args.workers} needs PostgreSQL "
            f"(LEDGER_DATABASE_URL is {url!r}): SQLite takes one writer "
            "at a time, so the API on SQLite is one process",
            file=sys.stderr,
        )
        return 1
    os.environ["LEDGER_FOLLOW_IN_PROCESS"] = "no"
    print(
        f"ledger serve: {args.workers} workers; the read models follow in "
        "ledger project (run it beside the API: /readyz shows its lag)",
        file=sys.stderr,
    )
    logging.basicConfig(level=args.log_level.upper(), format="%(message)s")
    with tempfile.TemporaryDirectory(prefix="ledger-metrics-") as metrics:
        # /metrics adds up every worker's counts (prometheus_client's multiprocess
        # mode), whichever worker answers; an operator's own directory is kept.
        os.environ.setdefault(MULTIPROCESS_METRICS, metrics)
        uvicorn.run(
            "api.cli.serve_commands:app_for_worker",
            factory=True,
            workers=args.workers,
            **_uvicorn_options(args),
        )
    return 0


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError("must be from 1 to 64")
    return value


def app_for_worker() -> Any:
    """One worker process's app (``ledger serve --workers N``), from the environment."""
    from api.http.app import create_app
    from api.settings import ApiSettings, LedgerSettings

    settings = ApiSettings.from_environment()
    services = open_services(
        LedgerSettings.from_environment(), follow=settings.follow_in_process
    )
    return create_app(settings, services=services)


def open_services(settings: LedgerSettings, *, follow: bool = True) -> Services:
    """The API's services built from ``settings``; the read models following the
    log in a thread, issuing checkpoints on the schedule when a log signing key
    exists."""
    from api.cli.projection_commands import checkpoint_issuer
    from api.services import Services

    services = Services.open(settings, follow=False)
    if follow:
        services.runner.after_page = checkpoint_issuer(services.ledger, settings)
        services.follower = services.runner.start()
    return services


def _prepare_demo(services: Services) -> None:
    """A log signing key (./var, or LEDGER_SIGNING_KEY_FILE) and a fresh checkpoint."""
    from evidence.checkpoint import issue_checkpoint
    from evidence.database import evidence_store
    from evidence.keys import create_key_file, load_key_file
    from evidence.signed_note import ED25519

    path = services.settings.signing_key_file
    if path.exists():
        signer = load_key_file(path, ED25519)
    else:
        signer = create_key_file(path, services.settings.log_origin)
        print(f"Created the log's signing key {path} (mode 0600).")
    if services.ledger.recorder.max_notification_id():
        issued = issue_checkpoint(evidence_store(services.ledger.recorder), signer)
        print(f"Checkpoint signed at tree size {issued.stored.tree_size:,}.")
    print(f"Log verifier key: {signer.vkey()}")


def _print_demo(services: Services, host: str, port: int) -> None:
    from api.http.auth import ROLE_NAMES, mint_token

    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    base = f"http://{shown}:{port}"
    if services.follower is not None:
        head = services.ledger.recorder.max_notification_id() or 0
        services.runner.wait_for(head, timeout=60)
    found = services.queries.cases(prison="LEI", status="in_custody", limit=1)
    case = found[0]["prisoner_number"] if found else "A1234BC"
    secret = os.environ[SECRET_VARIABLE]
    lines = [
        "",
        f"The API: {base}/docs (OpenAPI), {base}/healthz, {base}/readyz, "
        f"{base}/metrics",
        f"A case:  {base}/cases/{case}",
        f"The inspectors' console: {base}/console (sign in by pasting the "
        "INVESTIGATOR_TOKEN or INSPECTOR_TOKEN below)",
        "Demo tokens (8 hours; ledger token --role ROLE --prisons LEI mints more):",
    ]
    for title, role, prisons, user in DEMO_TOKENS:
        token = mint_token(secret, roles=[ROLE_NAMES[role]], prisons=prisons, user=user)
        variable = role.upper() + "_TOKEN"
        lines.append(f"  # {title}\n  {variable}={token}")
    lines += [
        "Try:",
        f'  curl -H "Authorization: Bearer $INSPECTOR_TOKEN" {base}/cases/{case}',
        f'  curl -H "Authorization: Bearer $CONSUMER_TOKEN" {base}/checkpoints/latest',
        f'  curl -H "Authorization: Bearer $INVESTIGATOR_TOKEN" '
        f"{base}/cases/{case}/export > {case}.json",
        f"  ledger verify-bundle {case}.json --key <the log verifier key above>",
        "Every person, officer and narrative in this estate is invented. "
        "Ctrl-C stops the server.",
        "",
    ]
    print("\n".join(lines), flush=True)


# -- ledger token -------------------------------------------------------------------


def add_token(subparsers: Subparsers) -> None:
    from api.http.auth import ROLE_NAMES

    parser = subparsers.add_parser(
        "token",
        help="print an HS256 bearer token for the API, signed with LEDGER_JWT_SECRET",
    )
    parser.add_argument("--role", required=True, choices=sorted(ROLE_NAMES))
    parser.add_argument(
        "--prisons",
        default="",
        type=_prisons,
        help="the token's caseload, e.g. LEI,MDI (what a recorder may record at)",
    )
    parser.add_argument("--user", default="", help="user name (default DEMO_<ROLE>)")
    parser.add_argument(
        "--hours", type=_hours, default=8.0, help="lifetime in hours (default 8)"
    )
    parser.set_defaults(handler=_token)


def _prisons(text: str) -> tuple[str, ...]:
    codes = tuple(p.strip().upper() for p in text.split(",") if p.strip())
    bad = [c for c in codes if not PRISON_CODE.match(c)]
    if bad:
        raise argparse.ArgumentTypeError(
            f"not prison codes (three letters, e.g. LEI): {', '.join(bad)}"
        )
    return codes


def _hours(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value <= 24 * 366:
        raise argparse.ArgumentTypeError("must be more than 0 and at most a year")
    return value


def _token(args: argparse.Namespace) -> int:
    from api.http.auth import ROLE_NAMES, mint_token

    secret = os.environ.get(SECRET_VARIABLE)
    if not secret:
        print(
            f"ledger token: {SECRET_VARIABLE} is not set: the token must be signed "
            "with the secret the API verifies (set it to the API's HS256 secret)",
            file=sys.stderr,
        )
        return 1
    if args.role == "recorder" and not args.prisons:
        print(
            "ledger token: a recorder token needs --prisons (e.g. --prisons LEI): "
            "a recorder may only record at the prisons in its caseload",
            file=sys.stderr,
        )
        return 1
    # A caseload naming a prison that does not exist would be a token for nothing.
    register = args.settings.prisons
    for code in args.prisons:
        register.require(code, "--prisons")
    token: str = mint_token(
        secret,
        roles=[ROLE_NAMES[args.role]],
        prisons=args.prisons,
        user=args.user or f"DEMO_{args.role.upper()}",
        ttl_seconds=round(args.hours * 3600),
    )
    print(token)
    return 0


SERVE_COMMANDS = (add_serve, add_token)
"""Registration functions for ``api.cli.build_parser``."""
