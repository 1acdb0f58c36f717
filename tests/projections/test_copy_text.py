"""COPY text built a page at a time says exactly what field-by-field escaping says."""

from __future__ import annotations

from typing import Any

import pytest

from projections.database import _copy_field, copy_text


def field_by_field(rows: list[tuple[Any, ...]]) -> str:
    return "".join("\t".join(map(_copy_field, row)) + "\n" for row in rows)


@pytest.mark.parametrize(
    "rows",
    [
        [(1, "A1234BC", None, "plain")],
        [(2, "tab\there", "new\nline", "back\\slash", "cr\rhere", None, 3.5, True)],
        [(3, "\\N", "None", "", None), (4, "", None, "\\\\t", "x")],
        # Values holding the stand-ins themselves: still exact (the slow way).
        [(5, "unit\x1fsep", None), (6, "rec\x1esep", "grp\x1dsep")],
        [(7, "\x1d", None, "a")],
    ],
)
def test_copy_text_matches_field_by_field(rows: list[tuple[Any, ...]]) -> None:
    assert copy_text(rows, len(rows[0])) == field_by_field(rows)
