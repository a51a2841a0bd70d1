"""Suggestions: redesign heuristics mapped from findings, with savings estimated by replay and simulation."""

from __future__ import annotations

from flowopt.suggest._types import HEURISTICS, Saving, Suggestion, Suggestions, suggestion_id

__all__ = ["HEURISTICS", "Saving", "Suggestion", "Suggestions", "suggestion_id"]
