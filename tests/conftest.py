"""Shared fixtures: the real logs in ``shared/data`` (each read at most once per session) and doctests."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

import flowopt
from _paths import shared_data_dir
from flowopt.log import EventLog

REPO = Path(__file__).resolve().parents[1]

# The suite (make test, CI) draws the same Hypothesis examples on every run: a run fails only when the code
# changed, never because it drew new inputs. Exploring new inputs is a separate, deliberate run:
# FLOWOPT_HYPOTHESIS_PROFILE=explore (with FLOWOPT_FUZZ_EXAMPLES=1000 for the fuzz tests); what it finds
# becomes a regression test.
settings.register_profile("repeatable", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("FLOWOPT_HYPOTHESIS_PROFILE", "repeatable"))


def _data_dir() -> Path:
    return shared_data_dir()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder of real public logs (``../shared/data`` from the repo root, else ``/work/shared/data``)."""
    path = _data_dir()
    if not path.is_dir():
        pytest.skip(f"the shared real logs are not available at {path}")
    return path


_CACHE: dict[str, EventLog] = {}


@pytest.fixture(scope="session")
def real_log(data_dir: Path) -> Callable[[str], EventLog]:
    """``real_log(name)`` reads ``data_dir / name`` once per test session (quarantine warnings silenced).

    The large logs (bpic2012, traffic_fines) take seconds to read: every test shares one reading.
    Never modify the returned log's frame.
    """

    def load(name: str) -> EventLog:
        if name not in _CACHE:
            path = data_dir / name
            if not path.exists():
                pytest.skip(f"shared log {path} is not available")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", flowopt.errors.RowsDroppedWarning)
                _CACHE[name] = flowopt.read_log(path)
        return _CACHE[name]

    return load


@pytest.fixture(scope="session")
def bpic2012(real_log: Callable[[str], EventLog]) -> EventLog:
    """BPI Challenge 2012, lifecycle-paired (read once per session)."""
    return real_log("bpic2012.xes.gz")


@pytest.fixture(scope="session")
def traffic_fines(real_log: Callable[[str], EventLog]) -> EventLog:
    """Road traffic fines (read once per session)."""
    return real_log("traffic_fines.csv.gz")


@pytest.fixture(autouse=True)
def _doctest_flowopt(doctest_namespace: dict[str, object]) -> None:
    """Doctests may use ``flowopt`` without importing it."""
    doctest_namespace["flowopt"] = flowopt


# conftest files are plugins, not doctest modules (two conftest.py in dirs without __init__ clash as "conftest")
collect_ignore_glob = ["conftest.py", "*/conftest.py"]
