"""(Being written: see the API issue.)"""

from __future__ import annotations

from fastapi import APIRouter

from api.problems import PROBLEM_RESPONSES

router = APIRouter(responses=PROBLEM_RESPONSES)
