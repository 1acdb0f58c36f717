"""The prisons: each one's dashboard (roll, caseloads, overdue checks, indicator
charts by month) and the league table of all of them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import Request, Response
from fastapi.responses import HTMLResponse

from api.console.charts import Bar, bar_chart
from api.console.rendering import (
    MONTH,
    PRISON_CODE,
    Found,
    Person,
    console_router,
    form_choice,
    page,
    require_prison,
)
from api.http.routers.prisons import known_prison

router = console_router()
CHART_MONTHS = 12


@router.get("/prisons", response_class=HTMLResponse)
def prisons(request: Request, principal: Person, found: Found) -> Response:
    codes = [p for p in found.queries.prisons() if principal.may_read_prison(p)]
    now = datetime.now(UTC)
    return page(
        request,
        "prisons.html",
        principal,
        prisons=[(code, len(found.queries.roll(code, now))) for code in codes],
    )


@router.get("/prisons/{code}", response_class=HTMLResponse)
def prison_page(
    code: str,
    request: Request,
    principal: Person,
    found: Found,
    month: str = "",
) -> Response:
    prison = form_choice(code, PRISON_CODE, "prison code")
    assert prison is not None
    registered = known_prison(found, prison)
    require_prison(principal, prison)
    last = form_choice(month, MONTH, "month") or datetime.now(UTC).strftime("%Y-%m")
    months = _months_ending(last, CHART_MONTHS)
    series = [found.queries.indicators(prison, m) for m in months]
    roll = found.queries.roll(prison)
    officers = found.queries.officers_at(prison)
    limits = found.ledger.caseload_limits
    for officer in officers:
        officer["limits"] = {
            role: limits.limit_for(role) for role in officer["roles"].split(",") if role
        }
    return page(
        request,
        "prison.html",
        principal,
        prison=prison,
        registered=registered,
        month=last,
        roll=roll,
        officers=officers,
        over_limit=found.queries.over_limit_allocations(prison),
        overdue=found.queries.overdue(prison),
        charts=_indicator_charts(prison, series),
        series=series,
    )


def _months_ending(last: str, count: int) -> list[str]:
    year, month = int(last[:4]), int(last[5:])
    months = []
    for _ in range(count):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def _label(month: str) -> str:
    return datetime.strptime(month, "%Y-%m").strftime("%b %y")


def _indicator_charts(prison: str, series: list[Any]) -> list[dict[str, Any]]:
    def chart(
        key: str, title: str, measure: Callable[[Any], float], percent: bool
    ) -> dict[str, Any]:
        bars = [
            Bar(
                _label(row.month),
                measure(row),
                f"{measure(row):.1f}%" if percent else f"{measure(row):.1f}",
            )
            for row in series
        ]
        first, last = series[0].month, series[-1].month
        return {
            "id": f"chart-{key}",
            "title": title,
            "svg": bar_chart(
                f"chart-{key}",
                f"{title}, {prison}",
                f"{title} at {prison} by month, {first} to {last}",
                bars,
            ),
        }

    return [
        chart(
            "population",
            "Average daily population",
            lambda r: r.average_daily_population,
            False,
        ),
        chart(
            "incidents",
            "Incidents per 1,000 population",
            lambda r: r.per_thousand("incidents"),
            False,
        ),
        chart(
            "self-harm",
            "Self-harm per 1,000 population",
            lambda r: r.per_thousand("self_harm"),
            False,
        ),
        chart(
            "drug-tests",
            "Positive drug tests (% of tests)",
            lambda r: 100 * r.as_dict()["drug_tests_positive_rate"],
            True,
        ),
        chart(
            "screening",
            "Initial screening on time (% of receptions)",
            lambda r: 100 * r.as_dict()["initial_screening_on_time_rate"],
            True,
        ),
    ]


@router.get("/league-table", response_class=HTMLResponse)
def league_table(
    request: Request, principal: Person, found: Found, month: str = ""
) -> Response:
    chosen = form_choice(month, MONTH, "month") or datetime.now(UTC).strftime("%Y-%m")
    return page(
        request,
        "league.html",
        principal,
        month=chosen,
        rows=found.queries.league_table(chosen),
    )
