"""Generated weekly logs for the scoring tests (common random numbers: only the planted problem differs)."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import pytest

import flowopt
from flowopt.datasets._generator import generate_lending_log
from flowopt.log import EventLog


def make_week(start: str, problems: tuple[str, ...] = (), n_cases: int = 240, seed: int = 7) -> EventLog:
    g = generate_lending_log(n_cases, seed=seed, problems=problems, start=start, cases_per_day=60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", flowopt.errors.RowsDroppedWarning)
        return flowopt.read_log(g.frame, g.config)


@pytest.fixture(scope="session")
def weeks() -> list[EventLog]:
    """Three weeks: healthy, with payment batching, healthy again."""
    return [make_week("2024-01-01"), make_week("2024-01-08", ("batching",)), make_week("2024-01-15")]


@pytest.fixture(scope="session")
def week_factory() -> Callable[..., EventLog]:
    return make_week
