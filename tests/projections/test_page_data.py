"""A page hands the read models each case event's data as the fold made it."""

from __future__ import annotations

from domain.ledger import JourneyLedger
from synthetic.estate import seed_estate
from tests.projections.conftest import ReadModels


def test_a_page_carries_each_events_own_data(
    ledger: JourneyLedger, read_models: ReadModels
) -> None:
    # Corrections and merges included, some in the page of what they correct.
    seed_estate(ledger, prisons=2, people=120, years=2, seed=7)
    runner = read_models.runner
    position, carried = 0, 0
    while rows := runner._select(position, 300, None):
        page = runner._page(rows)
        for item in page.items:
            if item.data is not None:
                carried += 1
                assert item.data == item.event.data()
        position = rows[-1].position
    assert carried > 1_000
