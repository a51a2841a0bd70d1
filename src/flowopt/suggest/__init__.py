"""Suggestions: redesign heuristics mapped from findings, with savings estimated by replay and simulation."""

from __future__ import annotations

from flowopt.suggest._catalogue import Candidate, Change, candidates, is_protected
from flowopt.suggest._replay import Replay, replay_advance, replay_parallel, replay_release, replay_remove
from flowopt.suggest._simulate import PoolSimulation, simulate_capacity
from flowopt.suggest._suggest import estimate, suggest
from flowopt.suggest._types import HEURISTICS, Saving, Suggestion, Suggestions, suggestion_id

__all__ = ["HEURISTICS", "Candidate", "Change", "PoolSimulation", "Replay", "Saving", "Suggestion", "Suggestions",
           "candidates", "estimate", "is_protected", "replay_advance", "replay_parallel", "replay_release",
           "replay_remove", "simulate_capacity", "suggest", "suggestion_id"]
