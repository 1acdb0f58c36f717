"""Release days: which dates are working days, and when a release date is flagged.

Policy modelled here (England and Wales):
- a release due on a weekend or bank holiday happens on the last working day before it;
- a release that would then fall on a Friday, or on the day before a bank holiday, may
  be brought forward by up to two working days, so people are not released into a
  weekend or holiday without services open. The ledger flags such a date with the
  earliest day the discretion allows; the governor's decision to use it is its own
  event (``EarlyReleaseDayApproved``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from domain.codes import BANK_HOLIDAY_YEARS, BANK_HOLIDAYS_ENGLAND_AND_WALES

MAX_WORKING_DAYS_EARLIER = 2
_ONE_DAY = timedelta(days=1)


class CalendarNotKnown(ValueError):
    """A date outside the years whose bank holidays the ledger holds."""


def is_working_day(day: date) -> bool:
    if day.year not in BANK_HOLIDAY_YEARS:
        raise CalendarNotKnown(
            f"bank holidays for {day.year} are not known "
            f"(held: {BANK_HOLIDAY_YEARS.start}-{BANK_HOLIDAY_YEARS.stop - 1})"
        )
    return day.weekday() < 5 and day not in BANK_HOLIDAYS_ENGLAND_AND_WALES


def previous_working_day(day: date) -> date:
    day -= _ONE_DAY
    while not is_working_day(day):
        day -= _ONE_DAY
    return day


@dataclass(frozen=True)
class ReleaseDayAdvice:
    """Why a release date is flagged, and the earliest day policy allows instead."""

    release_on: date
    """The day release actually happens (the last working day on or before the date)."""
    earliest_allowed: date
    reason: str


def release_day_advice(release_date: date) -> ReleaseDayAdvice | None:
    """The flag for a release date, or None when it needs none."""
    release_on = release_date
    reasons = []
    if not is_working_day(release_on):
        release_on = previous_working_day(release_on)
        reasons.append(f"{release_date:%A %d %B %Y} is not a working day")
    next_day = release_on + _ONE_DAY
    if is_working_day(next_day):
        if not reasons:
            return None
        return ReleaseDayAdvice(release_on, release_on, "; ".join(reasons))
    if release_on.weekday() == 4:
        reasons.append(f"release would fall on Friday {release_on:%d %B %Y}")
    else:
        reasons.append(f"{next_day:%A %d %B %Y} is a bank holiday")
    earliest = release_on
    for _ in range(MAX_WORKING_DAYS_EARLIER):
        earliest = previous_working_day(earliest)
    return ReleaseDayAdvice(release_on, earliest, "; ".join(reasons))
