"""``ledger replay``: a case as it stood at a valid time, as the ledger knew it then."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from domain.case import Case
    from domain.replay import Replay, ReplayedEvent

    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

WITHHELD = frozenset({"personal_details", "narrative"})
"""Fields replay never prints: personal details and incident narratives."""


def moment(text: str) -> datetime:
    """An ISO 8601 date or date and time; without an offset it is UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO date or date and time "
            "(e.g. 2025-03-01, 2025-03-01T12:00, 2025-03-01T12:00+01:00)"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def prisoner_number(text: str) -> str:
    from domain.errors import InvalidValue
    from domain.identifiers import PrisonerNumber

    try:
        return str(PrisonerNumber(text))
    except InvalidValue as e:
        raise argparse.ArgumentTypeError(e.message) from None


def add_replay(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="a case as it stood at a valid time and as the ledger knew it at a "
        "record time, with the events that made it",
        description="Replay a case. --as-of (valid time): only what had happened by "
        "then counts, with every correction known (now, or at --known-at) applied, "
        "including corrections made later. --known-at (record time): only what the "
        "ledger had recorded by then exists. Times are ISO 8601 (2025-03-01, "
        "2025-03-01T12:00, 2025-03-01T12:00+01:00); without an offset they are UTC, "
        "and a date alone is 00:00 UTC at the start of that day. Both bounds are "
        "inclusive. Personal details and narratives are not shown.",
    )
    parser.add_argument("prisoner_number", type=prisoner_number, metavar="PRISONER")
    parser.add_argument(
        "--as-of",
        type=moment,
        metavar="ISO",
        help="valid time: the case as it stood then (naive means UTC)",
    )
    parser.add_argument(
        "--known-at",
        type=moment,
        metavar="ISO",
        help="record time: only events recorded by then (naive means UTC)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print a machine-readable document"
    )
    parser.set_defaults(handler=_replay)


def _replay(args: argparse.Namespace) -> int:
    from api.wiring import open_ledger
    from domain.errors import CaseNotFound

    ledger = open_ledger(args.settings)
    try:
        replay = ledger.replay(
            args.prisoner_number, as_of=args.as_of, known_at=args.known_at
        )
    except CaseNotFound:
        print(f"ledger replay: no case for {args.prisoner_number}", file=sys.stderr)
        return 1
    finally:
        ledger.close()
    if args.json:
        print(json.dumps(document(replay), indent=2, default=_json_value))
    else:
        print(describe(replay))
    return 0


# --- the machine-readable document ------------------------------------------------


def _json_value(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def _shown(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: "(withheld)" if k in WITHHELD else v for k, v in fields.items()}


def state_of(case: Case) -> dict[str, Any]:
    """What the case showed (no personal details)."""
    return {
        "version": case.version,
        "status": str(case.status),
        "prison": case.prison,
        "booking_no": case.booking_no,
        "bookings": case.bookings,
        "legal_status": case.legal_status,
        "screenings": case.screenings,
        "tier": case.tier,
        "tier_change_level": case.tier_change_level,
        "rosh": case.rosh,
        "likelihood_of_reoffending": case.likelihood_of_reoffending,
        "officers": case.officers,
        "acct_open": case.acct_open,
        "temporary_release": case.temporary_release,
        "release_dates": case.release_dates,
        "last_release": case.last_release,
        "incentive_level": case.incentive_level,
        "resettlement": case.resettlement,
        "merged_into": case.merged_into,
        "absorbed": case.absorbed,
    }


def event_of(r: ReplayedEvent) -> dict[str, Any]:
    from domain.events import EventCorrected

    e = r.event
    item: dict[str, Any] = {
        "version": r.version,
        "kind": r.kind,
        "occurred_at": r.occurred_at,
        "recorded_at": r.recorded_at,
        "recorded_by": e.recorded_by,
        "prison": e.prison,
        "source": e.source,
        "source_ref": e.source_ref,
        "correlation_id": e.correlation_id,
        "authority": e.authority,
        "corrected_by": r.corrected_by,
    }
    if r.occurred_at != e.occurred_at:
        item["occurred_at_before_correction"] = e.occurred_at
    if isinstance(e, EventCorrected):
        item["corrects_version"] = e.corrects_version
        item["reason"] = e.reason
        item["corrected_fields"] = _shown(dict(e.corrected_fields))
    else:
        item["data"] = _shown(e.data())
    return item


def document(replay: Replay) -> dict[str, Any]:
    return {
        "prisoner_number": replay.prisoner_number,
        "as_of": replay.as_of,
        "known_at": replay.known_at,
        "exists": replay.exists,
        "absent_because": replay.absent_because,
        "state": state_of(replay.case) if replay.case is not None else None,
        "events": [event_of(r) for r in replay.events],
        "excluded": {
            "known_at": len(replay.excluded_by_known_at),
            "as_of": len(replay.excluded_by_as_of),
        },
        "latest_version": replay.latest_version,
    }


# --- for people ---------------------------------------------------------------------


def _at(value: datetime | None) -> str:
    return value.isoformat() if value is not None else "-"


def _pairs(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(values.items())) or "none"


def _release_dates(case: Case) -> str:
    parts = []
    for date_type, d in sorted(case.release_dates.items()):
        text = f"{date_type} {d['release_date']}"
        if d["flagged"]:
            text += f" (flagged: {d['flag_reason']}; release on {d['release_on']}"
            if d["approved_date"] is not None:
                text += f", approved {d['approved_date']}"
            text += ")"
        parts.append(text)
    return ", ".join(parts) or "none"


def _state_lines(case: Case) -> list[str]:
    booking = "none"
    if case.bookings:
        b = case.bookings[-1]
        received = _at(b["received_at"])
        booking = f"{b['booking_no']} (received {received} at {b['prison']}"
        if b["released_at"] is not None:
            booking += f", released {_at(b['released_at'])} ({b['release_reason']})"
        booking += ")"
    tier = "-"
    if case.tier is not None:
        tier = f"{case.tier}{case.tier_change_level}"
    rows = [
        ("status", str(case.status)),
        ("prison", case.prison or "-"),
        ("booking", booking),
        ("tier / RoSH", f"{tier} / {case.rosh or '-'}"),
        ("officers", _pairs(case.officers)),
        ("ACCT", "open" if case.acct_open else "none open"),
        ("release dates", _release_dates(case)),
        ("resettlement", _pairs(case.resettlement)),
        ("merged into", case.merged_into or "-"),
    ]
    if case.absorbed:
        rows.append(("absorbed", ", ".join(case.absorbed)))
    return [f"  {name:<14}{value}" for name, value in rows]


def _event_line(r: ReplayedEvent) -> str:
    from domain.events import EventCorrected

    e = r.event
    occurred = _at(r.occurred_at)
    if r.occurred_at != e.occurred_at:
        occurred += f" (corrected from {_at(e.occurred_at)})"
    line = (
        f"  v{r.version:<4} occurred {occurred}  recorded {_at(r.recorded_at)}  "
        f"{r.kind}  by {e.recorded_by} at {e.prison}"
    )
    if isinstance(e, EventCorrected):
        fields = ", ".join(
            f"{k}={v.isoformat() if isinstance(v, date | datetime) else v}"
            for k, v in _shown(dict(e.corrected_fields)).items()
        )
        line += f"  corrects v{e.corrects_version}: {fields} (reason: {e.reason})"
    if r.corrected_by is not None:
        line += f"  [corrected by v{r.corrected_by}]"
    return line


def describe(replay: Replay) -> str:
    when = [
        f"as of {_at(replay.as_of)} (valid time)" if replay.as_of else "as it stands",
        f"as known at {_at(replay.known_at)} (record time)"
        if replay.known_at
        else "with everything recorded",
    ]
    lines = [f"{replay.prisoner_number} {', '.join(when)}"]
    if replay.case is None:
        lines.append(
            "  no case at that time: "
            + (
                "the ledger had not yet recorded it"
                if replay.absent_because == "known_at"
                else "it was not yet opened"
            )
        )
    else:
        lines.extend(_state_lines(replay.case))
    lines.append("")
    lines.append(
        f"Events that made it: {len(replay.events)} of {replay.latest_version} "
        f"({len(replay.excluded_by_known_at)} recorded after --known-at, "
        f"{len(replay.excluded_by_as_of)} excluded by --as-of: occurred later, or "
        "correcting what did; not listed)"
    )
    lines.extend(_event_line(r) for r in replay.events)
    return "\n".join(lines)


REPLAY_COMMANDS = (add_replay,)
