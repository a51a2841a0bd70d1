"""Where the tests find the real public logs: ``../shared/data`` beside the repository (as CI lays it out),
else ``/work/shared/data`` (the workplace's copy). One definition for conftest and the tests that need a path."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CANDIDATES = (REPO.parent / "shared" / "data", Path("/work/shared/data"))


def shared_data_dir() -> Path:
    """The first candidate folder that exists (the first one when none does, so messages name it)."""
    for cand in CANDIDATES:
        if cand.is_dir():
            return cand
    return CANDIDATES[0]
