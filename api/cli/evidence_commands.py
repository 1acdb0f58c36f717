"""The ``ledger`` evidence commands: keys, checkpoints, verification, bundles, witness.

Registration functions in the style of ``api.cli`` (``_add_status`` ...). Each handler
turns an ``EvidenceError`` (bad key file, unknown prisoner, inconsistent log, failed
proof) into one line on stderr and exit status 1: no traceback for an operator.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from evidence.errors import EvidenceError

if TYPE_CHECKING:
    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

EXIT_FAILED = 1


def _reports_evidence_errors(
    handler: Callable[[argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except EvidenceError as e:
            print(
                f"ledger {args.command}: {withhold_private_keys(str(e))}",
                file=sys.stderr,
            )
            return EXIT_FAILED

    return run


def withhold_private_keys(text: str) -> str:
    """``text`` with any word that is a private key replaced.

    No message is meant to hold one (none repeats a value that could be a key);
    this is the last line of defence, as printing a key discloses it for good.
    """
    from evidence.signed_note import is_private_key

    return " ".join(
        "[a private key, withheld]"
        if is_private_key(word.strip("'\",.;:()[]"))
        else word
        for word in text.split(" ")
    )


# -- keys ---------------------------------------------------------------------------


def _add_keys(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("keys", help="create or show the log's signing key")
    keys = parser.add_subparsers(dest="keys_command", required=True)
    init = keys.add_parser(
        "init",
        help="create an Ed25519 signing key (mode 0600); print its verifier key",
    )
    init.add_argument(
        "--name", help="key name (default: the log origin, LEDGER_LOG_ORIGIN)"
    )
    init.add_argument("--force", action="store_true", help="replace an existing key")
    init.add_argument(
        "--file",
        type=Path,
        help="key file (default: LEDGER_SIGNING_KEY_FILE or ./var/ledger-signing.key)",
    )
    init.add_argument(
        "--witness",
        action="store_true",
        help="make a witness cosigning key (C2SP tlog-cosignature, type 0x04); "
        "needs --name and --file",
    )
    init.set_defaults(handler=_reports_evidence_errors(_keys_init))
    show = keys.add_parser("show", help="print the verifier key of a key file")
    show.add_argument("--file", type=Path, help="key file (default as for init)")
    show.set_defaults(handler=_reports_evidence_errors(_keys_show))


def _keys_init(args: argparse.Namespace) -> int:
    from evidence.keys import create_key_file
    from evidence.signed_note import COSIGNATURE_V1, ED25519

    if args.witness and not (args.name and args.file):
        raise EvidenceError("a witness key needs --name (the witness's) and --file")
    path = args.file or args.settings.signing_key_file
    name = args.name or args.settings.log_origin
    signer = create_key_file(
        path, name, COSIGNATURE_V1 if args.witness else ED25519, force=args.force
    )
    print(f"created {path} (mode 0600); verifier key:", file=sys.stderr)
    print(signer.vkey())
    return 0


def _keys_show(args: argparse.Namespace) -> int:
    from evidence.keys import load_key_file

    print(load_key_file(args.file or args.settings.signing_key_file).vkey())
    return 0


# -- checkpoint -----------------------------------------------------------------------


def _add_checkpoint(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "checkpoint", help="sign the log's current tree head (C2SP tlog-checkpoint)"
    )
    parser.set_defaults(handler=_reports_evidence_errors(_checkpoint))


def _checkpoint(args: argparse.Namespace) -> int:
    from evidence.checkpoint import issue_checkpoint
    from evidence.database import open_evidence_store
    from evidence.keys import load_key_file
    from evidence.signed_note import ED25519

    origin = args.settings.log_origin
    signer = load_key_file(args.settings.signing_key_file, ED25519)
    if signer.name != origin:
        msg = (
            f"the signing key is named {signer.name!r} but the log origin is "
            f"{origin!r} (LEDGER_LOG_ORIGIN); by C2SP convention they match"
        )
        raise EvidenceError(msg)
    with open_evidence_store(args.settings.database_url) as store:
        issued = issue_checkpoint(store, signer)
    if not issued.new:
        issued_at = issued.stored.issued_at.strftime("%Y-%m-%d %H:%M:%S")
        print(
            f"the log has not grown since the checkpoint at tree size "
            f"{issued.stored.tree_size} (issued {issued_at} UTC); it is:",
            file=sys.stderr,
        )
    print(issued.stored.note, end="")
    return 0


# -- verify ---------------------------------------------------------------------------


def _add_verify(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="recompute every leaf, node and checkpoint root from the stored rows",
    )
    parser.add_argument(
        "--key",
        help="the log's verifier key (or a file holding it); default: derived from "
        "the signing key file, if there is one",
    )
    parser.add_argument(
        "--progress",
        action="store_true",
        help="show progress on stderr even when it is not a terminal",
    )
    parser.set_defaults(handler=_reports_evidence_errors(_verify))


class _Progress:
    """A progress bar on stderr (a tty), or a plain counter with --progress."""

    def __init__(self, bar: bool) -> None:
        self.bar = bar

    def __call__(self, done: int, total: int) -> None:
        if self.bar:
            width = 30
            filled = width * done // total if total else width
            percent = 100 * done // total if total else 100
            sys.stderr.write(
                f"\r[{'#' * filled}{' ' * (width - filled)}] {percent:3d}% "
                f"{done:,}/{total:,} events"
            )
        else:
            sys.stderr.write(f"verified {done:,} of {total:,} events\n")
        sys.stderr.flush()

    def finish(self) -> None:
        if self.bar:
            sys.stderr.write("\n")


def _log_verifier(key: str | None, path: Path) -> Any:
    from evidence.keys import load_key_file, read_vkey

    if key:
        return read_vkey(key, "--key")
    if path.exists():
        return load_key_file(path).verifier()
    return None


def _verify(args: argparse.Namespace) -> int:
    from evidence.database import open_evidence_store
    from evidence.verify import verify_log

    verifier = _log_verifier(args.key, args.settings.signing_key_file)
    tty = sys.stderr.isatty()
    progress = _Progress(bar=tty) if tty or args.progress else None
    with open_evidence_store(args.settings.database_url) as store:
        report = verify_log(store, verifier, progress=progress)
    if progress is not None:
        progress.finish()
    if report.ok:
        print(f"ledger verify: {report}")
        return 0
    print(f"ledger verify: {report}", file=sys.stderr)
    return EXIT_FAILED


# -- export and verify-bundle ----------------------------------------------------


def _add_export(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write a case's events with inclusion proofs to a self-contained bundle",
    )
    parser.add_argument("prisoner_number", metavar="PRISONER_NUMBER")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="FILE")
    parser.add_argument(
        "--key",
        metavar="VKEY",
        help="the log's verifier key to put in the bundle (default: derived from "
        "the signing key file, which also signs a fresh checkpoint if needed)",
    )
    parser.set_defaults(handler=_reports_evidence_errors(_export))


def _export(args: argparse.Namespace) -> int:
    import json

    from api.case_bundles import PRISONER_NUMBER, export_case_bundle
    from api.wiring import open_ledger
    from evidence.database import evidence_store
    from evidence.keys import read_vkey
    from evidence.signed_note import is_private_key

    number = args.prisoner_number.strip().upper()
    if not PRISONER_NUMBER.match(number):
        # Not repeated: a value that is no prisoner number might be anything.
        msg = "PRISONER_NUMBER is not a prisoner number (e.g. A1234BC)"
        raise EvidenceError(msg)
    if is_private_key(str(args.output)):
        raise EvidenceError("-o is a private key, not the name of a file to write")
    vkey = read_vkey(args.key, "--key").vkey() if args.key else None
    ledger = open_ledger(args.settings)
    try:
        bundle = export_case_bundle(
            ledger,
            evidence_store(ledger.recorder),
            number,
            signing_key_file=args.settings.signing_key_file,
            verifier_key=vkey,
        )
    finally:
        ledger.close()
    try:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(bundle, indent=1) + "\n", encoding="utf-8")
    except OSError as e:
        msg = f"cannot write {args.output}: {e.strerror or type(e).__name__}"
        raise EvidenceError(msg) from None
    print(
        f"wrote {args.output}: {len(bundle['events'])} events of {number} with "
        f"inclusion proofs against the checkpoint at tree size "
        f"{bundle['checkpoint']['tree_size']}"
    )
    return 0


def _add_verify_bundle(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "verify-bundle", help="check a case bundle offline, without the database"
    )
    parser.add_argument("file", type=Path, metavar="FILE")
    parser.add_argument(
        "--key", required=True, metavar="VKEY", help="the log's verifier key or a file"
    )
    parser.add_argument(
        "--witness",
        action="append",
        default=[],
        metavar="VKEY",
        help="also require this witness's cosignature on the bundle's checkpoint "
        "(its verifier key or a file; repeat for each witness)",
    )
    parser.set_defaults(handler=_reports_evidence_errors(_verify_bundle))


def _verify_bundle(args: argparse.Namespace) -> int:
    import json

    from api.case_bundles import verify_case_bundle
    from evidence.keys import read_vkey
    from evidence.signed_note import is_private_key

    verifier = read_vkey(args.key, "--key")
    witnesses = [read_vkey(w, "--witness") for w in args.witness]
    if is_private_key(str(args.file)):
        raise EvidenceError("FILE is a private key, not a case bundle")
    if not args.file.is_file():
        # Named only once it is known to be a file name, not something pasted.
        raise EvidenceError("FILE is not a file that exists: give the bundle's file")
    try:
        data = json.loads(args.file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise EvidenceError(f"the bundle {args.file} is not UTF-8 text") from None
    except OSError as e:
        msg = f"cannot read the bundle {args.file}: {e.strerror or type(e).__name__}"
        raise EvidenceError(msg) from None
    except ValueError as e:
        raise EvidenceError(f"the bundle {args.file} is not JSON: {e}") from None
    outcome = verify_case_bundle(
        data, verifier, witnesses, cipher_key=args.settings.cipher_key
    )
    print(f"ledger verify-bundle: {outcome}")
    return 0


# -- witness ----------------------------------------------------------------------


def _add_witness(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "witness",
        help="check the log grew consistently since last seen, and cosign it",
    )
    parser.add_argument("--state", type=Path, required=True, help="witness state file")
    parser.add_argument(
        "--key", required=True, metavar="LOG_VKEY", help="the log's verifier key"
    )
    parser.add_argument(
        "--witness-key",
        type=Path,
        required=True,
        metavar="WITNESS_KEY_FILE",
        help="the witness's cosigning key file (ledger keys init --witness)",
    )
    parser.add_argument(
        "--source",
        help="the log to witness (default: the store LEDGER_DATABASE_URL names)",
    )
    parser.set_defaults(handler=_reports_evidence_errors(_witness))


def _witness(args: argparse.Namespace) -> int:
    from evidence.database import open_evidence_store
    from evidence.keys import load_key_file, read_vkey
    from evidence.signed_note import COSIGNATURE_V1
    from evidence.witness import StoreLog, witness_log

    if args.source and not args.source.startswith(("sqlite:", "postgres")):
        raise EvidenceError("witnessing over the HTTP API arrives with the API")
    log_key = read_vkey(args.key, "--key")
    witness_key = load_key_file(args.witness_key, COSIGNATURE_V1)
    with open_evidence_store(args.source) as store:
        outcome = witness_log(StoreLog(store), log_key, witness_key, args.state)
    print(f"ledger witness: {outcome}")
    return 0


REGISTER = (
    _add_keys,
    _add_checkpoint,
    _add_verify,
    _add_export,
    _add_verify_bundle,
    _add_witness,
)
"""Every evidence command's registration function, for ``api.cli.build_parser``."""
