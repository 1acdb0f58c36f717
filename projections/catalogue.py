"""Every read model, by name."""

from __future__ import annotations

from projections.access_log import AccessLogModel
from projections.case_state import CaseStateModel
from projections.caseloads import CaseloadsModel
from projections.indicators import IndicatorsModel
from projections.overdue import OverdueModel
from projections.read_model import ReadModel
from projections.roll import RollModel
from projections.timeline import TimelineModel

READ_MODELS: dict[str, type[ReadModel]] = {
    model.name: model
    for model in (
        CaseStateModel,
        TimelineModel,
        CaseloadsModel,
        RollModel,
        OverdueModel,
        IndicatorsModel,
        AccessLogModel,
    )
}


def all_models(suffix: str = "") -> list[ReadModel]:
    return [cls(suffix) for cls in READ_MODELS.values()]
