"""eventsourcing's own recorder test suites, run against our psycopg2 store.

Each test gets a fresh schema on the harness's server (tests/postgres_server.py).
"""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID, uuid4

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
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

from store.config import environment_for
from store.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
    PostgresProcessRecorder,
    PostgresTrackingRecorder,
)
from tests.postgres_server import drop_schema_url, fresh_schema_url


class _FreshSchema:
    originator_id_type = "uuid"

    def setUp(self) -> None:
        self.url = fresh_schema_url()
        env = environment_for(self.url) | {
            "ORIGINATOR_ID_TYPE": self.originator_id_type,
            "POSTGRES_POOL_SIZE": "20",
        }
        self.factory = cast(PostgresFactory, InfrastructureFactory.construct(env))
        super().setUp()  # type: ignore[misc]

    def tearDown(self) -> None:
        super().tearDown()  # type: ignore[misc]
        self.factory.close()
        drop_schema_url(self.url)

    @property
    def datastore(self) -> PostgresDatastore:
        return self.factory.datastore


class _TextOriginatorIds:
    originator_id_type = "text"

    def new_originator_id(self) -> UUID | str:
        return f"case-{uuid4()}"


def _created(recorder: Any) -> Any:
    recorder.create_table()
    return recorder


class TestAggregateRecorder(_FreshSchema, AggregateRecorderTestCase):
    def create_recorder(self) -> AggregateRecorder:
        return cast(
            AggregateRecorder, _created(PostgresAggregateRecorder(self.datastore))
        )


class TestAggregateRecorderTextIds(_TextOriginatorIds, TestAggregateRecorder):
    pass


class TestApplicationRecorder(_FreshSchema, ApplicationRecorderTestCase):
    def create_recorder(self) -> ApplicationRecorder:
        return cast(
            ApplicationRecorder, _created(PostgresApplicationRecorder(self.datastore))
        )

    def test_insert_subscribe(self) -> None:
        self.optional_test_insert_subscribe()


class TestApplicationRecorderTextIds(_TextOriginatorIds, TestApplicationRecorder):
    pass


class TestTrackingRecorder(_FreshSchema, TrackingRecorderTestCase):
    def create_recorder(self) -> TrackingRecorder:
        return cast(
            TrackingRecorder, _created(PostgresTrackingRecorder(self.datastore))
        )


class TestProcessRecorder(_FreshSchema, ProcessRecorderTestCase):
    def create_recorder(self) -> ProcessRecorder:
        return cast(ProcessRecorder, _created(PostgresProcessRecorder(self.datastore)))


class TestProcessRecorderTextIds(_TextOriginatorIds, TestProcessRecorder):
    pass


class TestNonInterleavingNotificationIDs(
    _FreshSchema, NonInterleavingNotificationIDsBaseCase
):
    def create_recorder(self) -> ApplicationRecorder:
        return cast(
            ApplicationRecorder, _created(PostgresApplicationRecorder(self.datastore))
        )


class _CustomTrackingRecorder(PostgresTrackingRecorder):
    pass


class TestInfrastructureFactory(InfrastructureFactoryTestCase[PostgresFactory]):
    def setUp(self) -> None:
        self.url = fresh_schema_url()
        self.env = Environment("TestCase")
        for key, value in environment_for(self.url).items():
            self.env[key] = value
        super().setUp()

    def tearDown(self) -> None:
        super().tearDown()
        drop_schema_url(self.url)

    def expected_factory_class(self) -> type[PostgresFactory]:
        return PostgresFactory

    def expected_aggregate_recorder_class(self) -> type[AggregateRecorder]:
        return PostgresAggregateRecorder

    def expected_application_recorder_class(self) -> type[ApplicationRecorder]:
        return PostgresApplicationRecorder

    def expected_tracking_recorder_class(self) -> type[TrackingRecorder]:
        return PostgresTrackingRecorder

    def tracking_recorder_subclass(self) -> type[TrackingRecorder]:
        return _CustomTrackingRecorder

    def expected_process_recorder_class(self) -> type[ProcessRecorder]:
        return PostgresProcessRecorder


del AggregateRecorderTestCase, ApplicationRecorderTestCase, TrackingRecorderTestCase
del ProcessRecorderTestCase, NonInterleavingNotificationIDsBaseCase
del InfrastructureFactoryTestCase
