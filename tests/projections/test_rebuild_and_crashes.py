"""Rebuilds equal the live tables, swaps keep serving, and crashes lose nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.cli import main
from domain.commands import ReceivePrisoner
from domain.ledger import JourneyLedger
from projections.catalogue import READ_MODELS, all_models
from projections.database import ReadModelDatabase, open_database
from projections.rebuild import REBUILD_SUFFIX, rebuild
from projections.runner import TRACKING, ProjectionRunner
from store.config import environment_for
from synthetic.estate import seed_estate
from tests.ledgers import ctx, ledger_on, receive

REPO = Path(__file__).resolve().parents[2]


def tracking(database: ReadModelDatabase) -> dict[str, tuple[int, int]]:
    with database.transaction() as sql:
        sql.execute(f"SELECT name, position, events_applied FROM {TRACKING}")
        return {name: (int(p), int(n)) for name, p, n in sql.fetchall()}


def table_rows(database: ReadModelDatabase, suffix: str = "") -> dict[str, list[tuple]]:
    rows = {}
    with database.transaction() as sql:
        for model in all_models(suffix):
            for base, table in model.names().items():
                sql.execute(f"SELECT * FROM {table} ORDER BY {model.order_by[base]}")
                rows[base] = [tuple(r) for r in sql.fetchall()]
    return rows


def test_rebuild_check_after_seed_finds_no_differences(
    ledger: JourneyLedger, store_url: str
) -> None:
    seed_estate(ledger, prisons=3, people=150, years=2, seed=5)
    database = open_database(environment_for(store_url))
    ProjectionRunner(ledger, database, all_models(), page_size=97).catch_up()
    report = rebuild(ledger, database, list(READ_MODELS), check=True)
    assert report.differences == []
    assert report.position == ledger.recorder.max_notification_id()
    assert report.rows["timeline"] > 1_000
    # The check cleaned up after itself.
    assert not any(name.endswith(REBUILD_SUFFIX) for name in tracking(database))
    # And it would have noticed a live row that differs.
    with database.transaction() as sql:
        sql.execute("UPDATE case_state SET tier='A' WHERE tier='D'")
        sql.execute("SELECT MIN(position) FROM timeline")
        row = sql.fetchone()
        assert row is not None
        first = int(row[0])
        sql.execute("DELETE FROM timeline WHERE position=?", (first,))
    report = rebuild(ledger, database, ["case_state", "timeline"], check=True)
    problems = [str(d) for d in report.differences]
    assert f"timeline ({first},): missing from the live table" in problems
    assert any(p.startswith("case_state (") for p in problems)
    database.close()


PARTS_REBUILD = """
import sys
from projections.catalogue import READ_MODELS
from projections.database import open_database
from projections.rebuild import _parts, rebuild
from store.config import environment_for
from tests.ledgers import ledger_on

url = sys.argv[1]
ledger = ledger_on(url)
database = open_database(environment_for(url))
print(_parts(database, ledger.recorder.max_notification_id(), workers=2))
report = rebuild(ledger, database, list(READ_MODELS), workers=2)
print(report.swapped, report.position)
"""


def test_a_rebuild_in_parts_equals_one_in_one_process(
    ledger: JourneyLedger, store_url: str
) -> None:
    seed_estate(ledger, prisons=2, people=150, years=2, seed=3)
    head = ledger.recorder.max_notification_id()
    assert head is not None
    database = open_database(environment_for(store_url))
    ProjectionRunner(ledger, database, all_models(), page_size=211).catch_up()
    # A part's tracking row left by a killed rebuild is dropped, not resumed from.
    with database.transaction() as sql:
        sql.execute(
            f"INSERT INTO {TRACKING} (name, position, events_applied) VALUES (?, ?, ?)",
            (f"timeline{REBUILD_SUFFIX}#part1of2", head - 1, head - 1),
        )
    # Parts are forked only from a process with one thread, as `ledger rebuild`
    # runs; this test process has others (followers of earlier tests), so the
    # rebuild runs in a fresh one.
    child = subprocess.run(
        [sys.executable, "-c", PARTS_REBUILD, store_url],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr
    parts, outcome = child.stdout.splitlines()
    # PostgreSQL builds in parts (forked processes); SQLite in one process.
    assert int(parts) == (2 if store_url.startswith("postgresql") else 1)
    assert outcome == f"True {head}"
    # Every event applied exactly once, the parts' tracking rows gone.
    assert tracking(database) == {name: (head, head) for name in READ_MODELS}
    report = rebuild(ledger, database, list(READ_MODELS), check=True, workers=1)
    assert report.differences == []
    database.close()


def test_rebuild_swaps_in_fresh_tables_and_the_follower_carries_on(
    ledger: JourneyLedger, store_url: str
) -> None:
    seed_estate(ledger, prisons=2, people=60, years=1, seed=9)
    database = open_database(environment_for(store_url))
    follower = ProjectionRunner(ledger, database, all_models())
    follower.catch_up()
    with database.transaction() as sql:
        sql.execute("DELETE FROM case_state")  # damage the live table
    report = rebuild(ledger, database, ["case_state"])
    assert report.swapped and report.rows["case_state"] > 60
    # Events recorded after the swap reach the swapped-in table.
    receive_at = ledger.record(
        ctx(),
        "Z9999ZZ",
        ReceivePrisoner(
            booking_no="99999Z", movement_reason="N", legal_status="remand"
        ),
    ).position
    assert follower.catch_up() == receive_at
    with database.transaction() as sql:
        sql.execute("SELECT status FROM case_state WHERE prisoner_number='Z9999ZZ'")
        assert sql.fetchone() == ("in_custody",)
    assert rebuild(ledger, database, list(READ_MODELS), check=True).differences == []
    database.close()


def run_ledger(url: str, *args: str) -> subprocess.Popen[str]:
    env = os.environ | {"LEDGER_DATABASE_URL": url}
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def kill_after_pages(process: subprocess.Popen[str], pages: int) -> None:
    """SIGKILL once the process has committed ``pages`` pages (it says so)."""
    assert process.stdout is not None
    seen = 0
    for line in process.stdout:
        if line.startswith("position"):
            seen += 1
            if seen == pages:
                process.send_signal(signal.SIGKILL)
                break
    process.wait()
    assert process.returncode == -signal.SIGKILL


@pytest.mark.parametrize("command", ["project", "rebuild"])
def test_killed_midway_and_restarted_equals_a_clean_rebuild(
    store_url: str, command: str
) -> None:
    ledger = ledger_on(store_url)
    seed_estate(ledger, prisons=3, people=200, years=2, seed=11)
    head = ledger.recorder.max_notification_id()
    ledger.close()
    args = (
        ["project", "--once", "--page-size", "250", "--progress"]
        if command == "project"
        else ["rebuild", "--all", "--progress"]
    )
    kill_after_pages(run_ledger(store_url, *args), pages=3)
    database = open_database(environment_for(store_url))
    if command == "project":
        positions = tracking(database)
        assert {p for p, _ in positions.values()} == {750}  # three pages, no more
    # Restart and finish: the follower resumes; a rebuild starts over, dropping the
    # half-built tables, and swaps in only when complete.
    finish = run_ledger(store_url, *[a for a in args if a != "--progress"])
    finish.communicate()
    assert finish.returncode == 0
    positions = tracking(database)
    # Every live model applied every event exactly once.
    for model in READ_MODELS:
        assert positions[model] == (head, head)
    ledger = ledger_on(store_url)
    assert rebuild(ledger, database, list(READ_MODELS), check=True).differences == []
    ledger.close()
    database.close()


def test_ledger_rebuild_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/ledger.db"
    monkeypatch.setenv("LEDGER_DATABASE_URL", url)
    assert main(["seed", "--prisons", "2", "--people", "40", "--quiet"]) == 0
    assert main(["project", "--once"]) == 0
    assert main(["rebuild", "--all", "--check"]) == 0
    out = capsys.readouterr().out
    assert "0 differences" in out
    assert main(["rebuild", "timeline"]) == 0
    assert "rebuilt and swapped in: timeline" in capsys.readouterr().out
    assert main(["rebuild", "nonsense"]) == 2
    assert "unknown: nonsense" in capsys.readouterr().err


def test_ledger_roll_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LEDGER_DATABASE_URL", f"sqlite:///{tmp_path}/ledger.db")
    ledger = ledger_on(f"sqlite:///{tmp_path}/ledger.db")
    ledger.record(
        ctx(prison="LEI", occurred_at=datetime(2025, 3, 1, 10, tzinfo=UTC)),
        "A1234BC",
        ReceivePrisoner(
            booking_no="10001A", movement_reason="N", legal_status="remand"
        ),
    )
    ledger.close()
    assert main(["roll", "LEI", "--on", "2025-03-01"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "LEI roll at end of 2025-03-01: 1",
        "  A1234BC",
    ]
    assert main(["roll", "LEI", "--on", "2025-02-28"]) == 0
    assert "LEI roll at end of 2025-02-28: 0" in capsys.readouterr().out
    assert main(["roll", "leeds"]) == 1
    assert "not a prison code" in capsys.readouterr().err


def test_a_second_rebuild_is_refused_while_one_runs(
    store_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ledger = ledger_on(store_url)
    receive(ledger, "A1234BC")
    ledger.close()
    monkeypatch.setenv("LEDGER_DATABASE_URL", store_url)
    # Another process's rebuild holds the lock: this one (another connection, or
    # another open file) cannot take it.
    other = open_database(environment_for(store_url))
    try:
        with other.exclusive("rebuild") as held:
            assert held
            assert main(["rebuild", "--all"]) == 1
            err = capsys.readouterr().err
            assert err == (
                "ledger rebuild: a rebuild is already running on this database; "
                "wait for it to finish, then run this one again\n"
            )
        # Released, a rebuild runs.
        assert main(["rebuild", "--all"]) == 0
    finally:
        other.close()
