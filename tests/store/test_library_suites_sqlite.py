"""eventsourcing's own recorder test suites, run against our SQLite store.

These are the library's contract for a persistence module; passing them unchanged is
what lets the rest of the ledger use the library's Application, projection runners and
system classes on our store.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Literal
from uuid import UUID, uuid4

from eventsourcing import sqlite as es_sqlite
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    ProcessRecorder,
    TrackingRecorder,
)
from eventsourcing.tests.persistence import (
    AggregateRecorderTestCase,
    ApplicationRecorderTestCase,
    InfrastructureFactoryTestCase,
    NonInterleavingNotificationIDsBaseCase,
    ProcessRecorderTestCase,
    TrackingRecorderTestCase,
)
from eventsourcing.utils import Environment

from store.sqlite import (
    SealedSQLiteApplicationRecorder,
    SealedSQLiteDatastore,
    SealedSQLiteFactory,
    SealedSQLiteProcessRecorder,
)


class _TempDatabase:
    """A fresh database file per test (the library's tests share :memory: ones)."""

    originator_id_type: Literal["uuid", "text"] = "uuid"

    def setUp(self) -> None:
        self._tmpdir = tempfile.TemporaryDirectory()
        self.db_name = str(Path(self._tmpdir.name) / "ledger.db")
        super().setUp()  # type: ignore[misc]

    def tearDown(self) -> None:
        super().tearDown()  # type: ignore[misc]
        self._tmpdir.cleanup()

    def datastore(self) -> SealedSQLiteDatastore:
        return SealedSQLiteDatastore(
            self.db_name, pool_size=20, originator_id_type=self.originator_id_type
        )


class _TextOriginatorIds:
    originator_id_type: Literal["uuid", "text"] = "text"

    def new_originator_id(self) -> UUID | str:
        return f"case-{uuid4()}"


class TestAggregateRecorder(_TempDatabase, AggregateRecorderTestCase):
    # Snapshots use the library's aggregate recorder unchanged, on our datastore.
    def create_recorder(self) -> AggregateRecorder:
        recorder = es_sqlite.SQLiteAggregateRecorder(self.datastore())
        recorder.create_table()
        return recorder


class TestApplicationRecorder(_TempDatabase, ApplicationRecorderTestCase):
    def create_recorder(self) -> ApplicationRecorder:
        recorder = SealedSQLiteApplicationRecorder(self.datastore())
        recorder.create_table()
        return recorder

    def test_insert_subscribe(self) -> None:
        self.optional_test_insert_subscribe()


class TestApplicationRecorderTextIds(_TextOriginatorIds, TestApplicationRecorder):
    pass


class TestApplicationRecorderInMemory(ApplicationRecorderTestCase):
    """The library's in-memory mode (one shared cache) works too."""

    def create_recorder(self) -> ApplicationRecorder:
        recorder = SealedSQLiteApplicationRecorder(
            SealedSQLiteDatastore(f"file:{uuid4().hex}?mode=memory&cache=shared")
        )
        recorder.create_table()
        return recorder


class TestTrackingRecorder(_TempDatabase, TrackingRecorderTestCase):
    def create_recorder(self) -> TrackingRecorder:
        recorder = es_sqlite.SQLiteTrackingRecorder(self.datastore())
        recorder.create_table()
        return recorder


class TestProcessRecorder(_TempDatabase, ProcessRecorderTestCase):
    def create_recorder(self) -> ProcessRecorder:
        recorder = SealedSQLiteProcessRecorder(self.datastore())
        recorder.create_table()
        return recorder


class TestProcessRecorderTextIds(_TextOriginatorIds, TestProcessRecorder):
    pass


class TestNonInterleavingNotificationIDs(
    _TempDatabase, NonInterleavingNotificationIDsBaseCase
):
    def create_recorder(self) -> ApplicationRecorder:
        recorder = SealedSQLiteApplicationRecorder(self.datastore())
        recorder.create_table()
        return recorder


class _CustomTrackingRecorder(es_sqlite.SQLiteTrackingRecorder):
    pass


class TestInfrastructureFactory(InfrastructureFactoryTestCase[SealedSQLiteFactory]):
    def setUp(self) -> None:
        self._tmpdir = tempfile.TemporaryDirectory()
        self.env = Environment("TestCase")
        self.env["PERSISTENCE_MODULE"] = "store.sqlite"
        self.env["SQLITE_DBNAME"] = os.path.join(self._tmpdir.name, "ledger.db")
        super().setUp()

    def tearDown(self) -> None:
        super().tearDown()
        self._tmpdir.cleanup()

    def expected_factory_class(self) -> type[SealedSQLiteFactory]:
        return SealedSQLiteFactory

    def expected_aggregate_recorder_class(self) -> type[AggregateRecorder]:
        return es_sqlite.SQLiteAggregateRecorder

    def expected_application_recorder_class(self) -> type[ApplicationRecorder]:
        return SealedSQLiteApplicationRecorder

    def expected_tracking_recorder_class(self) -> type[TrackingRecorder]:
        return es_sqlite.SQLiteTrackingRecorder

    def tracking_recorder_subclass(self) -> type[TrackingRecorder]:
        return _CustomTrackingRecorder

    def expected_process_recorder_class(self) -> type[ProcessRecorder]:
        return SealedSQLiteProcessRecorder


del AggregateRecorderTestCase, ApplicationRecorderTestCase, TrackingRecorderTestCase
del ProcessRecorderTestCase, NonInterleavingNotificationIDsBaseCase
del InfrastructureFactoryTestCase
