"""Write throughput of the ledger's store, against baselines measured in the same run.

The machine is shared and absolute numbers drift, so every figure is a ratio to a
baseline measured in the same process, in interleaved rounds (ours, baseline, ours,
baseline, ...), and reported as the ratio of the medians over rounds. See
bench/README.md for what each figure means.

    make bench
    .venv/bin/python bench/store_write.py [--rounds N] [--quick] [--server URL]

Prints a table and writes bench/results/store_write.json. Always exits 0 once it has
measured: missing a target is a finding, not a failure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from uuid import UUID

import psycopg2
import psycopg2.extensions
import psycopg2.extras
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import ApplicationRecorder, StoredEvent
from eventsourcing.utils import Environment, EnvType

from store.config import environment_for

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432"
BENCH_DATABASE = "ledger_bench"
SCHEMA_PREFIX = "bench_"
RESULTS = Path(__file__).resolve().parent / "results"
BATCH_SIZE = 100
# About 300 bytes of JSON state per stored event once timestamps etc. are added.
NOTE_TEXT = (
    "Received from court under warrant; property sealed and logged; medical "
    "screening booked; reception interview done; cell allocated on wing B; next "
    "of kin informed; risk assessment pending review by the duty officer."
)

Rate = float
"""Operations (saves or events) per second."""


# -- the application under test ------------------------------------------------


class Note(Aggregate):
    """One aggregate class: creating one stores one event."""

    def __init__(self, text: str) -> None:
        self.text = text

    @event("Annotated")
    def annotate(self, text: str) -> None:
        self.text = text


class NotesApp(Application[UUID]):
    """A tiny application, configured only by the env it is given.

    os.environ is ignored so that stray settings (POSTGRES_*, PERSISTENCE_MODULE)
    cannot change one side of a comparison.
    """

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        return Environment(name, dict(env or {}))


def new_notes(count: int) -> list[Note]:
    """Fresh aggregates with one pending event each (built before timing)."""
    return [Note(text=NOTE_TEXT) for _ in range(count)]


def new_annotated_notes(count: int, events_each: int) -> list[Note]:
    """Fresh aggregates with ``events_each`` pending events each."""
    notes = []
    for _ in range(count):
        note = Note(text=NOTE_TEXT)
        for i in range(events_each - 1):
            note.annotate(f"{i:03d} {NOTE_TEXT}")
        notes.append(note)
    return notes


def build_stored_batches(count: int, size: int) -> list[list[StoredEvent]]:
    """``count`` batches of ``size`` stored events, one originator per batch with
    versions 1..size, made by the application's own mapper."""
    app = NotesApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        return [
            [app.mapper.to_stored_event(e) for e in note.collect_events()]
            for note in new_annotated_notes(count, size)
        ]
    finally:
        app.close()


# -- parameters and results ----------------------------------------------------


@dataclass(frozen=True)
class Parameters:
    rounds: int
    saves: int
    warmup_saves: int
    batches: int
    warmup_batches: int
    batch_size: int
    quick: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Parameters:
        if args.quick:
            return cls(args.rounds or 3, 200, 20, 40, 5, BATCH_SIZE, True)
        return cls(args.rounds or 7, 1000, 100, 200, 10, BATCH_SIZE, False)


@dataclass
class Measure:
    """One comparison: ours against a baseline, one figure per round each."""

    key: str
    title: str
    unit: str
    baseline_name: str
    target: float | None
    """Minimum ratio ours/baseline of the medians; None: for information only."""
    ours: list[Rate] = field(default_factory=list)
    baseline: list[Rate] = field(default_factory=list)

    @property
    def ours_median(self) -> Rate:
        return statistics.median(self.ours)

    @property
    def baseline_median(self) -> Rate:
        return statistics.median(self.baseline)

    @property
    def ratio(self) -> float:
        return self.ours_median / self.baseline_median

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.ratio >= self.target

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "unit": self.unit,
            "baseline": self.baseline_name,
            "target_ratio": self.target,
            "ours_median": round(self.ours_median, 1),
            "baseline_median": round(self.baseline_median, 1),
            "ratio": round(self.ratio, 3),
            "met": self.met,
            "ours_rounds": [round(v, 1) for v in self.ours],
            "baseline_rounds": [round(v, 1) for v in self.baseline],
        }


# -- PostgreSQL ----------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    """Where the PostgreSQL server is; the bench database lives on it."""

    host: str
    port: int
    user: str
    password: str

    @classmethod
    def from_url(cls, url: str) -> Server:
        parts = urlsplit(url)
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
        )

    def connect(self, dbname: str) -> psycopg2.extensions.connection:
        return psycopg2.connect(
            dbname=dbname,
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password or None,
            application_name="ledger-bench",
        )

    def url(self, schema: str) -> str:
        auth = self.user + (f":{self.password}" if self.password else "")
        return (
            f"postgresql://{auth}@{self.host}:{self.port}/{BENCH_DATABASE}"
            f"?schema={schema}"
        )


def ensure_bench_database(server: Server) -> None:
    """CREATE DATABASE ledger_bench unless it exists (autocommit: it cannot run in
    a transaction)."""
    conn = server.connect("postgres")
    try:
        conn.autocommit = True
        with conn.cursor() as curs:
            curs.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (BENCH_DATABASE,)
            )
            if curs.fetchone() is None:
                curs.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    finally:
        conn.close()


class Schemas:
    """Fresh schemas in the bench database, one per measured store per round."""

    def __init__(self, server: Server) -> None:
        self.conn = server.connect(BENCH_DATABASE)
        self.conn.autocommit = True

    def _execute(self, statement: str) -> None:
        with self.conn.cursor() as curs:
            curs.execute(statement)

    @contextmanager
    def fresh(self, name: str) -> Iterator[str]:
        """A new empty schema for the block, dropped (with its tables) after it.

        Named for this process too: benches run side by side (outside the lock, by
        another session) must never drop or reuse each other's schemas."""
        schema = f"{SCHEMA_PREFIX}{name}_{os.getpid()}"
        self._execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        self._execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield schema
        finally:
            self._execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    def drop_abandoned(self) -> None:
        """Drop the bench schemas of processes that are gone (an interrupted run)."""
        with self.conn.cursor() as curs:
            curs.execute(
                "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)",
                (SCHEMA_PREFIX,),
            )
            names = [row[0] for row in curs.fetchall()]
        for name in names:
            pid = name.rpartition("_")[2]
            if not pid.isdigit() or not Path(f"/proc/{pid}").exists():
                self._execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')

    def server_facts(self) -> dict[str, str]:
        with self.conn.cursor() as curs:
            curs.execute(
                "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)",
                (["server_version", "fsync", "synchronous_commit", "wal_sync_method"],),
            )
            return dict(curs.fetchall())

    def close(self) -> None:
        self.drop_abandoned()
        self.conn.close()


def our_postgres_env(server: Server, schema: str) -> dict[str, str]:
    return environment_for(server.url(schema))


def library_postgres_env(server: Server, schema: str) -> dict[str, str]:
    """The library's bundled module (psycopg 3), on its defaults otherwise
    (POSTGRES_ENABLE_DB_FUNCTIONS left unset, i.e. off)."""
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": BENCH_DATABASE,
        "POSTGRES_HOST": server.host,
        "POSTGRES_PORT": str(server.port),
        "POSTGRES_USER": server.user,
        # Required by the library even when empty; "" works with trust auth.
        "POSTGRES_PASSWORD": server.password,
        "POSTGRES_SCHEMA": schema,
    }


@contextmanager
def running_app(env: dict[str, str]) -> Iterator[NotesApp]:
    app = NotesApp(env=env)
    try:
        yield app
    finally:
        app.close()


# -- what is timed -------------------------------------------------------------


def time_single_event_saves(app: NotesApp, count: int, warmup: int) -> Rate:
    """Saves/s of ``app.save(note)``, each note new with one pending event."""
    for note in new_notes(warmup):
        app.save(note)
    notes = new_notes(count)
    start = time.perf_counter()
    for note in notes:
        app.save(note)
    return count / (time.perf_counter() - start)


def time_multi_event_saves(app: NotesApp, count: int, warmup: int) -> Rate:
    """Events/s of ``app.save(note)``, each note new with BATCH_SIZE pending events."""
    for note in new_annotated_notes(warmup, BATCH_SIZE):
        app.save(note)
    notes = new_annotated_notes(count, BATCH_SIZE)
    start = time.perf_counter()
    for note in notes:
        app.save(note)
    return count * BATCH_SIZE / (time.perf_counter() - start)


def time_recorder_inserts(
    recorder: ApplicationRecorder,
    batches: Sequence[Sequence[StoredEvent]],
    warmup: Sequence[Sequence[StoredEvent]],
) -> Rate:
    """Events/s of ``recorder.insert_events(batch)``."""
    for batch in warmup:
        recorder.insert_events(batch)
    start = time.perf_counter()
    for batch in batches:
        recorder.insert_events(batch)
    return sum(map(len, batches)) / (time.perf_counter() - start)


def time_raw_psycopg2_inserts(
    conn: psycopg2.extensions.connection,
    table: str,
    batches: Sequence[Sequence[StoredEvent]],
    warmup: Sequence[Sequence[StoredEvent]],
) -> Rate:
    """Events/s of psycopg2 ``execute_values(page_size=100)`` + commit per batch."""
    statement = (
        f"INSERT INTO {table} (originator_id, originator_version, topic, state) "
        "VALUES %s"
    )

    def insert(batch: Sequence[StoredEvent]) -> None:
        rows = [
            (e.originator_id, e.originator_version, e.topic, e.state) for e in batch
        ]
        with conn.cursor() as curs:
            psycopg2.extras.execute_values(curs, statement, rows, page_size=100)
        conn.commit()

    for batch in warmup:
        insert(batch)
    start = time.perf_counter()
    for batch in batches:
        insert(batch)
    return sum(map(len, batches)) / (time.perf_counter() - start)


# -- one round of each comparison ----------------------------------------------


class Bench:
    """The measured stores, each a function of the round number returning a rate."""

    def __init__(self, params: Parameters, server: Server, tmp: Path) -> None:
        self.params = params
        self.server = server
        self.tmp = tmp
        self.schemas = Schemas(server)
        all_batches = build_stored_batches(
            params.warmup_batches + params.batches, params.batch_size
        )
        self.warmup_batches = all_batches[: params.warmup_batches]
        self.batches = all_batches[params.warmup_batches :]

    def close(self) -> None:
        self.schemas.close()

    def _postgres_saves(
        self, name: str, env_for: Callable[[Server, str], dict[str, str]], multi: bool
    ) -> Rate:
        p = self.params
        with (
            self.schemas.fresh(name) as schema,
            running_app(env_for(self.server, schema)) as app,
        ):
            if multi:
                return time_multi_event_saves(app, p.batches, p.warmup_batches)
            return time_single_event_saves(app, p.saves, p.warmup_saves)

    def pg_single_save_ours(self, r: int) -> Rate:
        return self._postgres_saves(f"save1_ours_r{r}", our_postgres_env, False)

    def pg_single_save_library(self, r: int) -> Rate:
        return self._postgres_saves(f"save1_lib_r{r}", library_postgres_env, False)

    def pg_batch_save_ours(self, r: int) -> Rate:
        return self._postgres_saves(f"save100_ours_r{r}", our_postgres_env, True)

    def pg_batch_save_library(self, r: int) -> Rate:
        return self._postgres_saves(f"save100_lib_r{r}", library_postgres_env, True)

    def pg_batch_insert_ours(self, r: int) -> Rate:
        with (
            self.schemas.fresh(f"insert100_ours_r{r}") as schema,
            running_app(our_postgres_env(self.server, schema)) as app,
        ):
            return time_recorder_inserts(
                app.recorder, self.batches, self.warmup_batches
            )

    def pg_batch_insert_raw(self, r: int) -> Rate:
        with self.schemas.fresh(f"insert100_raw_r{r}") as schema:
            conn = self.server.connect(BENCH_DATABASE)
            try:
                psycopg2.extras.register_uuid(conn_or_curs=conn)  # type: ignore[no-untyped-call]
                table = f'"{schema}"."events"'
                with conn.cursor() as curs:
                    curs.execute(
                        f"CREATE TABLE {table} (originator_id uuid, "
                        "originator_version bigint, topic text, state bytea, "
                        "PRIMARY KEY (originator_id, originator_version))"
                    )
                conn.commit()
                return time_raw_psycopg2_inserts(
                    conn, table, self.batches, self.warmup_batches
                )
            finally:
                conn.close()

    def _sqlite_saves(self, path: Path, env: dict[str, str]) -> Rate:
        try:
            with running_app(env) as app:
                return time_single_event_saves(
                    app, self.params.saves, self.params.warmup_saves
                )
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

    def sqlite_single_save_ours(self, r: int) -> Rate:
        path = self.tmp / f"ours_r{r}.db"
        return self._sqlite_saves(path, environment_for(f"sqlite:///{path}"))

    def sqlite_single_save_library(self, r: int) -> Rate:
        path = self.tmp / f"lib_r{r}.db"
        env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}
        return self._sqlite_saves(path, env)


Side = Callable[[int], Rate]


def comparisons(bench: Bench) -> list[tuple[Measure, Side, Side]]:
    """Each measure with its two sides, in the order they run within a round."""
    return [
        (
            Measure(
                "pg_single_event_save",
                "PG single-event Application.save",
                "saves/s",
                "library eventsourcing.postgres (psycopg 3)",
                2.0,
            ),
            bench.pg_single_save_ours,
            bench.pg_single_save_library,
        ),
        (
            Measure(
                "pg_100_event_insert_events",
                "PG 100-event recorder.insert_events",
                "events/s",
                "raw psycopg2 execute_values + commit",
                0.6,
            ),
            bench.pg_batch_insert_ours,
            bench.pg_batch_insert_raw,
        ),
        (
            Measure(
                "pg_100_event_save",
                "PG 100-event Application.save (info)",
                "events/s",
                "library eventsourcing.postgres (psycopg 3)",
                None,
            ),
            bench.pg_batch_save_ours,
            bench.pg_batch_save_library,
        ),
        (
            Measure(
                "sqlite_single_event_save",
                "SQLite single-event Application.save",
                "saves/s",
                "library eventsourcing.sqlite",
                1.0,
            ),
            bench.sqlite_single_save_ours,
            bench.sqlite_single_save_library,
        ),
    ]


MEASURE_KEYS = (
    "pg_single_event_save",
    "pg_100_event_insert_events",
    "pg_100_event_save",
    "sqlite_single_event_save",
)


def run_rounds(
    bench: Bench, rounds: int, only: Sequence[str] | None = None
) -> list[Measure]:
    """Interleaved: in every round each measure runs ours, then its baseline."""
    plan = [c for c in comparisons(bench) if not only or c[0].key in only]
    for r in range(rounds):
        for measure, ours, baseline in plan:
            measure.ours.append(ours(r))
            measure.baseline.append(baseline(r))
            progress(
                f"round {r + 1}/{rounds} {measure.title}: "
                f"ours {measure.ours[-1]:,.0f}, baseline {measure.baseline[-1]:,.0f} "
                f"{measure.unit}"
            )
    return [measure for measure, _, _ in plan]


# -- reporting -----------------------------------------------------------------


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def source_revision() -> dict[str, Any]:
    """The commit measured, and whether store/ had uncommitted changes."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, check=True
            )
        except (OSError, subprocess.CalledProcessError):
            return None
        return done.stdout.strip()

    status = git("status", "--porcelain", "--", "store")
    return {
        "commit": git("rev-parse", "HEAD"),
        "store_modified": None if status is None else bool(status),
    }


def machine_info(server_facts: dict[str, str]) -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": source_revision(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "postgresql": server_facts,
        "sqlite": sqlite3.sqlite_version,
        "packages": {
            name: metadata.version(name)
            for name in ("eventsourcing", "psycopg2-binary", "psycopg")
        },
    }


def table(measures: Sequence[Measure]) -> str:
    header = (
        "measure",
        "ours (median)",
        "baseline (median)",
        "ratio",
        "target",
        "met?",
    )
    rows = [header]
    for m in measures:
        rows.append(
            (
                f"{m.title} [{m.unit}]",
                f"{m.ours_median:,.0f}",
                f"{m.baseline_median:,.0f}",
                f"{m.ratio:.2f}x",
                "info" if m.target is None else f">= {m.target:.1f}x",
                {None: "-", True: "yes", False: "NO"}[m.met],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        " | ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def baselines(measures: Sequence[Measure]) -> str:
    return "\n".join(f"  {m.title}: baseline = {m.baseline_name}" for m in measures)


def missed_targets(measures: Sequence[Measure]) -> list[str]:
    return [
        f"TARGET MISSED: {m.title}: {m.ratio:.2f}x < {m.target:.1f}x"
        for m in measures
        if m.target is not None and not m.met
    ]


def write_results(
    path: Path,
    params: Parameters,
    machine: dict[str, Any],
    measures: Sequence[Measure],
    mean_state_bytes: float,
) -> None:
    document = {
        "machine": machine,
        "parameters": {
            "rounds": params.rounds,
            "quick": params.quick,
            "single_event_saves_per_round": params.saves,
            "single_event_warmup_saves": params.warmup_saves,
            "batches_per_round": params.batches,
            "warmup_batches": params.warmup_batches,
            "events_per_batch": params.batch_size,
            "mean_stored_state_bytes": round(mean_state_bytes, 1),
            "statistic": "median over rounds; ratio = ours median / baseline median",
        },
        "measures": {m.key: m.as_json() for m in measures},
        "targets_missed": [m.key for m in measures if m.met is False],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


# -- main ----------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, help="rounds (default 7, quick 3)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer rounds and operations; writes store_write.quick.json",
    )
    parser.add_argument(
        "--server",
        default=DEFAULT_SERVER,
        help=f"PostgreSQL server, without database (default {DEFAULT_SERVER})",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=MEASURE_KEYS,
        help="only this measure (repeatable); writes store_write.partial.quick.json",
    )
    parser.add_argument("--output", type=Path, help="results file")
    args = parser.parse_args(argv)
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if find_spec("psycopg") is None:
        progress("psycopg 3 is missing: .venv/bin/pip install -e '.[dev,bench]'")
        return 2
    params = Parameters.from_args(args)
    if args.only:
        default_name = "store_write.partial.quick.json"
    elif params.quick:
        default_name = "store_write.quick.json"
    else:
        default_name = "store_write.json"
    output = args.output or RESULTS / default_name
    server = Server.from_url(args.server)
    ensure_bench_database(server)
    tmp = Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    bench = Bench(params, server, tmp)
    try:
        server_facts = bench.schemas.server_facts()
        measures = run_rounds(bench, params.rounds, args.only)
    finally:
        bench.close()
        shutil.rmtree(tmp, ignore_errors=True)
    all_events = [e for batch in bench.batches for e in batch]
    mean_state_bytes = statistics.fmean(len(e.state) for e in all_events)
    write_results(
        output, params, machine_info(server_facts), measures, mean_state_bytes
    )
    print(table(measures))
    print(baselines(measures))
    print(f"{params.rounds} rounds; results written to {output}")
    missed = missed_targets(measures)
    print("\n".join(missed) if missed else "All targets met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
