"""The bank holiday table and the release day policy."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from domain.codes import BANK_HOLIDAY_YEARS, BANK_HOLIDAYS_ENGLAND_AND_WALES
from domain.release_days import CalendarNotKnown, release_day_advice

# Holidays moved or added by royal proclamation; everything else follows the
# statutory schedule, which the table is checked against below.
PROCLAIMED = {
    date(2020, 5, 8),  # VE Day (replaced the first Monday in May)
    date(2022, 6, 2),  # spring holiday moved for the Platinum Jubilee
    date(2022, 6, 3),  # Platinum Jubilee
    date(2022, 9, 19),  # State Funeral of Queen Elizabeth II
    date(2023, 5, 8),  # Coronation of King Charles III
}
REPLACED = {date(2020, 5, 4), date(2022, 5, 30)}


def easter_sunday(year: int) -> date:
    """Anonymous Gregorian algorithm (Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    weekday_offset = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday_offset) // 451
    n = h + weekday_offset - 7 * m + 114
    return date(year, n // 31, n % 31 + 1)


def monday_on_or_after(day: date) -> date:
    return day + timedelta(days=(7 - day.weekday()) % 7)


def last_monday(year: int, month: int) -> date:
    day = date(year, month + 1, 1) - timedelta(days=1)
    return day - timedelta(days=day.weekday())


def statutory(year: int) -> set[date]:
    new_year = date(year, 1, 1)
    days = {
        new_year if new_year.weekday() < 5 else monday_on_or_after(new_year),
        easter_sunday(year) - timedelta(days=2),
        easter_sunday(year) + timedelta(days=1),
        monday_on_or_after(date(year, 5, 1)),
        last_monday(year, 5),
        last_monday(year, 8),
    }
    christmas, boxing = date(year, 12, 25), date(year, 12, 26)
    if christmas.weekday() < 5 and boxing.weekday() < 5:
        days |= {christmas, boxing}
    elif christmas.weekday() == 4:  # Friday: Boxing Day moves to Monday
        days |= {christmas, date(year, 12, 28)}
    else:  # Christmas at a weekend: both move to the next weekdays
        first = monday_on_or_after(christmas)
        days |= {first, first + timedelta(days=1)}
    return days


@pytest.mark.parametrize("year", BANK_HOLIDAY_YEARS)
def test_bank_holidays_follow_the_statutory_schedule(year: int) -> None:
    held = {d for d in BANK_HOLIDAYS_ENGLAND_AND_WALES if d.year == year}
    expected = (statutory(year) - REPLACED) | {d for d in PROCLAIMED if d.year == year}
    assert held == expected


def test_a_friday_release_may_come_two_working_days_earlier() -> None:
    advice = release_day_advice(date(2025, 6, 13))
    assert advice is not None
    assert (advice.release_on, advice.earliest_allowed) == (
        date(2025, 6, 13),
        date(2025, 6, 11),
    )
    assert "Friday" in advice.reason


def test_a_weekend_release_moves_to_friday_and_is_flagged() -> None:
    advice = release_day_advice(date(2025, 6, 15))  # Sunday
    assert advice is not None
    assert advice.release_on == date(2025, 6, 13)
    assert advice.earliest_allowed == date(2025, 6, 11)


def test_the_day_before_a_bank_holiday_is_flagged() -> None:
    advice = release_day_advice(date(2025, 4, 17))  # Thursday before Good Friday
    assert advice is not None
    assert advice.earliest_allowed == date(2025, 4, 15)
    assert "bank holiday" in advice.reason


def test_a_release_after_easter_monday_skips_the_holidays() -> None:
    advice = release_day_advice(date(2025, 4, 21))  # Easter Monday
    assert advice is not None
    assert advice.release_on == date(2025, 4, 17)
    assert advice.earliest_allowed == date(2025, 4, 15)


def test_a_midweek_release_is_not_flagged() -> None:
    assert release_day_advice(date(2025, 6, 11)) is None


def test_a_year_outside_the_table_is_refused() -> None:
    with pytest.raises(CalendarNotKnown):
        release_day_advice(date(2035, 6, 13))
