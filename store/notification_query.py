"""The one query both stores answer ``select_notifications`` with.

Kept in one place so the two stores cannot drift in what a range means: ``start``
inclusive unless told otherwise, ``stop`` inclusive, optional topics, ordered by
position.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def notification_query(
    table: str,
    *,
    start: int | None,
    limit: int,
    stop: int | None,
    topics: Sequence[str],
    inclusive_of_start: bool,
    placeholder: str,
) -> tuple[str, list[Any]]:
    """SQL and parameters for a range of notifications (placeholder ``?`` or ``%s``)."""
    conditions: list[str] = []
    params: list[Any] = []
    if start is not None:
        conditions.append(
            f"notification_id {'>=' if inclusive_of_start else '>'} {placeholder}"
        )
        params.append(start)
    if stop is not None:
        conditions.append(f"notification_id <= {placeholder}")
        params.append(stop)
    if topics:
        conditions.append(f"topic IN ({', '.join([placeholder] * len(topics))})")
        params.extend(topics)
    statement = (
        "SELECT notification_id, originator_id, originator_version, topic, state "
        f"FROM {table}"
    )
    if conditions:
        statement += " WHERE " + " AND ".join(conditions)
    statement += f" ORDER BY notification_id LIMIT {placeholder}"
    params.append(limit)
    return statement, params
