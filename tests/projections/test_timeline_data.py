"""The timeline's data text is what its JSON encoder says, whichever way it is made."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from projections.timeline import _DATA_ENCODER, encode_data


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"stage": "initial", "outcome": "ok", "referrals": ["b", "a"]},
        {"z": 1, "a": 2.5, "m": None, "t": True, "f": False, "n": -3, "big": 10**20},
        {"release_date": date(2025, 1, 3), "at": datetime(2025, 1, 3, 9, tzinfo=UTC)},
        {"at": datetime(2025, 1, 3, 9, tzinfo=timezone(timedelta(hours=1)))},
        {"narrative": 'Ünïcode "quoted"\ttab\nline \\ back', "emoji": "\U0001f600"},
        {"nested": {"b": [1, {"d": None, "c": [date(2020, 2, 29)]}], "a": {}}},
        {"nan": float("nan"), "inf": float("inf"), "tiny": 1e-300},
    ],
)
def test_encode_data_equals_the_encoder(data: dict[str, Any]) -> None:
    assert encode_data(data) == _DATA_ENCODER.encode(data)
