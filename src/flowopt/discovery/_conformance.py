"""Conformance: how far each case strays from a reference process, and how.

The reference can be

* an **ordered list** of stages (``["consultation", "application", "approval", "disbursement"]``) or of
  activities — the way a bank writes its procedure down. The check is computed directly, vectorised,
  without pm4py;
* a **BPMN file** (path to a ``.bpmn``), or
* a :class:`Model` discovered with :func:`discover_model` (pm4py's inductive miner).

BPMN files and models are Petri nets under the hood and are checked with pm4py: alignments (the
default; exact skipped / inserted / out-of-order moves) on one representative case per variant, for
the most frequent variants up to ``max_variants``, or token-based replay on the same sample. pm4py is an
optional extra and is imported only here, lazily and quietly (:func:`flowopt.io._pm4py.import_pm4py`).

Deviation kinds
---------------
``skipped``       a reference step the case never did
``inserted``      an event whose step is not in the reference
``repeated``      a reference step done again (rework) while no later step had happened yet
``out_of_order``  a step done after a step that comes later in the reference (for Petri nets: an
                  activity the alignment both skips and inserts, i.e. done at the wrong moment)
``not_enabled``   token replay only: an activity fired while the model did not allow it

Case fitness for an ordered list is ``1 - deviations / (reference steps + events checked)`` (1 = exactly
the reference; 0 = nothing in common); for Petri nets it is pm4py's alignment (or token) fitness.

Examples
--------
>>> import flowopt
>>> from flowopt.discovery._conformance import conformance
>>> log = flowopt.datasets.example_log()
>>> res = conformance(log, ["consultation", "application", "approval", "disbursement"])
>>> res.level, res.method, 0.0 <= res.fitness <= 1.0
('stage', 'sequence', True)
>>> sorted(res.to_dict())[:4]
['cases_checked', 'cases_fitting', 'cases_total', 'deviations']
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from flowopt.errors import LogReadError, ParameterError
from flowopt.io._pm4py import import_pm4py
from flowopt.log import STAGES, EventLog

__all__ = ["Conformance", "Model", "conformance", "discover_model"]

KINDS = ("skipped", "inserted", "repeated", "out_of_order", "not_enabled")
_CASE_COLUMNS = ["case_id", "events", "fitness", "fits", *KINDS[:4], "skipped_steps", "deviating_steps"]


# ---------------------------------------------------------------------------------------------- results
@dataclass(frozen=True, slots=True, kw_only=True)
class Model:
    """A Petri net (with initial and final marking) to check logs against; built by :func:`discover_model`
    or read from a BPMN file. ``bpmn`` is the BPMN form where one is known."""

    net: Any
    initial_marking: Any
    final_marking: Any
    bpmn: Any = None
    source: str = "inductive miner"

    @property
    def activities(self) -> list[str]:
        """The visible activity labels of the model, sorted."""
        return sorted({str(t.label) for t in self.net.transitions if t.label is not None})

    def to_bpmn(self, path: str | os.PathLike[str]) -> Path:
        """Write the model as a BPMN 2.0 file (readable by BPMN tools and by :func:`conformance`)."""
        pm4py = import_pm4py()
        bpmn = self.bpmn if self.bpmn is not None else pm4py.convert_to_bpmn(self.net, self.initial_marking,
                                                                             self.final_marking)
        out = Path(path)
        with _quiet():
            pm4py.write_bpmn(bpmn, str(out), auto_layout=False)
        return out

    def __repr__(self) -> str:
        return f"Model({len(self.activities)} activities, {len(self.net.transitions)} transitions, from {self.source})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Conformance:
    """Result of :func:`conformance`.

    Attributes
    ----------
    cases : DataFrame
        One row per checked case: ``case_id, events, fitness, fits, skipped, inserted, repeated,
        out_of_order, skipped_steps, deviating_steps`` (steps joined with ``" | "``); token replay adds
        ``not_enabled, missing_tokens, remaining_tokens``.
    deviations : DataFrame
        Aggregated: ``kind, step, count, cases`` sorted by ``cases`` (descending), then kind and step.
    fitness : float
        Mean case fitness over the checked cases.
    method : {"sequence", "alignments", "token_replay"}
    level : {"stage", "activity"}
    reference : tuple of str or str
        The ordered steps, or a description of the model.
    cases_total, cases_checked : int
        Cases in the log, and cases checked (Petri-net checks run on the most frequent variants).
    """

    cases: pd.DataFrame
    deviations: pd.DataFrame
    fitness: float
    method: Literal["sequence", "alignments", "token_replay"]
    level: Literal["stage", "activity"]
    reference: tuple[str, ...] | str
    cases_total: int
    cases_checked: int
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def fitting_share(self) -> float:
        """Share of checked cases that follow the reference exactly."""
        return float(self.cases["fits"].mean()) if len(self.cases) else float("nan")

    def to_frame(self) -> pd.DataFrame:
        """The per-case table (a copy)."""
        return self.cases.copy()

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON summary: fitness, counts and the aggregated deviations."""
        return {
            "method": self.method,
            "level": self.level,
            "reference": list(self.reference) if isinstance(self.reference, tuple) else self.reference,
            "fitness": _num(self.fitness),
            "fitting_share": _num(self.fitting_share),
            "cases_total": int(self.cases_total),
            "cases_checked": int(self.cases_checked),
            "cases_fitting": int(self.cases["fits"].sum()) if len(self.cases) else 0,
            "deviations": [{"kind": str(r.kind), "step": str(r.step), "count": int(r.count), "cases": int(r.cases)}
                           for r in self.deviations.itertuples(index=False)],
            "params": dict(self.params),
        }

    def __repr__(self) -> str:
        return (f"Conformance({self.method}, {self.level} level: fitness {self.fitness:.3f}, "
                f"{self.fitting_share:.1%} of {self.cases_checked:,} cases fit)")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """pm4py prints progress bars and warnings: keep them out of flowopt's output."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _num(v: float) -> float | None:
    return None if np.isnan(v) else float(v)


# ---------------------------------------------------------------------------------------------- entry point
def conformance(log: EventLog, reference: Sequence[str] | str | os.PathLike[str] | Model, *,
                method: Literal["auto", "alignments", "token_replay"] = "auto",
                max_variants: int = 200) -> Conformance:
    """Check every case of ``log`` against ``reference``.

    Parameters
    ----------
    log : EventLog
    reference : list of str, path or Model
        Ordered stages (all names from ``consultation, application, approval, disbursement,
        after_service, other``) or ordered activities; a ``.bpmn`` file; or a :class:`Model`.
    method : {"auto", "alignments", "token_replay"}
        For Petri-net references; ``auto`` means alignments. Ignored for ordered lists.
    max_variants : int, default 200
        Petri-net references are checked on one case per variant, for this many of the most frequent
        variants (their cases are all checked; the rest are counted in ``cases_total`` only).

    Returns
    -------
    Conformance

    Raises
    ------
    flowopt.errors.ParameterError
        An empty or repetitive ordered list, a missing or unreadable BPMN file, a bad ``method``.
    flowopt.errors.MissingDependencyError
        A BPMN file or Model needs pm4py, which is not installed.
    """
    if method not in ("auto", "alignments", "token_replay"):
        raise ParameterError(f"The 'method' parameter of conformance must be 'auto', 'alignments' or "
                             f"'token_replay'. Got {method!r} instead.")
    if isinstance(max_variants, bool) or not isinstance(max_variants, (int, np.integer)) or max_variants < 1:
        raise ParameterError(f"The 'max_variants' parameter of conformance must be an int >= 1. Got "
                             f"{max_variants!r} instead.")
    if isinstance(reference, Model):
        return _check_net(log, reference, method, int(max_variants))
    if isinstance(reference, (str, os.PathLike)):
        return _check_net(log, _read_bpmn(reference), method, int(max_variants))
    steps = [str(s) for s in reference]
    return _check_sequence(log, steps)


# ---------------------------------------------------------------------------------------------- ordered list
def _check_sequence(log: EventLog, steps: list[str]) -> Conformance:
    if not steps:
        raise ParameterError("The 'reference' parameter of conformance must name at least one step. Got an "
                             "empty list instead.")
    dup = sorted({s for s in steps if steps.count(s) > 1})
    if dup:
        raise ParameterError(f"The 'reference' parameter of conformance lists {', '.join(map(repr, dup))} more than "
                             "once; an ordered reference names each step once.")
    level: Literal["stage", "activity"] = "stage" if set(steps) <= set(STAGES) else "activity"
    c = log.codes()
    m = len(steps)
    pos_of = {s: i for i, s in enumerate(steps)}
    if level == "stage":
        labels = [log.stage_of(a) for a in c.activity_names]
    else:
        labels = list(c.activity_names)
    unit_label = np.asarray(labels, dtype=object)
    code_pos = np.array([pos_of.get(lab, -1) for lab in labels], dtype=np.int64)
    case = c.case
    lab_code = np.asarray(pd.factorize(unit_label)[0], dtype=np.int64)[c.activity] if len(c.activity) else \
        np.zeros(0, dtype=np.int64)
    keep = np.ones(len(case), dtype=bool)
    if level == "stage" and len(case):
        # a stage visit is a run of consecutive events in one stage
        keep[1:] = (lab_code[1:] != lab_code[:-1]) | (case[1:] != case[:-1])
    case = case[keep]
    act = c.activity[keep]
    pos = code_pos[act]
    label = unit_label[act]
    n_cases = len(c.case_start) - 1
    n = len(case)

    # running maximum of the reference positions seen before each unit, per case
    first = np.ones(n, dtype=bool)
    first[1:] = case[1:] != case[:-1]
    run_max = pd.Series(pos).groupby(case).cummax().to_numpy() if n else np.zeros(0, dtype=np.int64)
    prev_max = np.empty(n, dtype=np.int64)
    if n:
        prev_max[0] = -1
        prev_max[1:] = run_max[:-1]
        prev_max[first] = -1
    seen_before = pd.Series(case * (m + 1) + (pos + 1)).duplicated().to_numpy() if n else np.zeros(0, dtype=bool)
    inserted = pos < 0
    out_of_order = (~inserted) & (pos < prev_max)
    repeated = (~inserted) & (~out_of_order) & seen_before
    done = np.zeros((n_cases, m), dtype=bool)
    ok = pos >= 0
    done[case[ok], pos[ok]] = True
    skipped_mat = ~done

    units = np.bincount(case, minlength=n_cases)
    counts = {k: np.bincount(case, weights=v.astype(np.float64), minlength=n_cases).astype(np.int64)
              for k, v in (("inserted", inserted), ("repeated", repeated), ("out_of_order", out_of_order))}
    counts["skipped"] = skipped_mat.sum(axis=1).astype(np.int64)
    cost = counts["skipped"] + counts["inserted"] + counts["repeated"] + counts["out_of_order"]
    fitness = 1.0 - cost / (m + units)

    step_names = np.asarray(steps, dtype=object)
    skipped_steps = _join_rows(skipped_mat, step_names)
    bad = inserted | repeated | out_of_order
    dev_steps = _join_units(case[bad], label[bad].astype(str), n_cases)
    cases = pd.DataFrame({"case_id": c.case_ids.astype(str), "events": units.astype(np.int64), "fitness": fitness,
                          "fits": cost == 0, **{k: counts[k] for k in KINDS[:4]}, "skipped_steps": skipped_steps,
                          "deviating_steps": dev_steps})[_CASE_COLUMNS]

    parts = []
    for kind, mask in (("inserted", inserted), ("repeated", repeated), ("out_of_order", out_of_order)):
        if mask.any():
            parts.append(pd.DataFrame({"kind": kind, "step": label[mask].astype(str), "case": case[mask]}))
    sk_case, sk_pos = np.nonzero(skipped_mat)
    if len(sk_case):
        parts.append(pd.DataFrame({"kind": "skipped", "step": step_names[sk_pos].astype(str), "case": sk_case}))
    deviations = _aggregate(parts)
    return Conformance(cases=cases, deviations=deviations, fitness=float(fitness.mean()) if n_cases else float("nan"),
                       method="sequence", level=level, reference=tuple(steps), cases_total=n_cases,
                       cases_checked=n_cases)


def _join_rows(mat: np.ndarray, names: np.ndarray) -> np.ndarray:
    """For each row of a boolean matrix, the names of its True columns joined with ' | ' (a loop over columns)."""
    out = np.full(mat.shape[0], "", dtype=object)
    for j, name in enumerate(names):
        col = mat[:, j]
        out[col] = np.where(out[col] == "", name, out[col] + " | " + name)
    return out


def _join_units(case: np.ndarray, label: np.ndarray, n_cases: int) -> np.ndarray:
    out = np.full(n_cases, "", dtype=object)
    if len(case):
        joined = pd.Series(label).groupby(case, sort=True).agg(" | ".join)
        out[joined.index.to_numpy()] = joined.to_numpy()
    return out


def _aggregate(parts: list[pd.DataFrame]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame({"kind": pd.Series(dtype=str), "step": pd.Series(dtype=str),
                             "count": pd.Series(dtype=np.int64), "cases": pd.Series(dtype=np.int64)})
    allp = pd.concat(parts, ignore_index=True)
    if "weight" not in allp:
        allp["weight"] = 1
    agg = allp.groupby(["kind", "step"], sort=True).agg(count=("weight", "sum"), cases=("case", "nunique"))
    if "case_weight" in allp:
        per = allp.drop_duplicates(["kind", "step", "case"]).groupby(["kind", "step"])["case_weight"].sum()
        agg["cases"] = per.reindex(agg.index).to_numpy()
    agg = agg.reset_index().astype({"count": np.int64, "cases": np.int64})
    return agg.sort_values(["cases", "kind", "step"], ascending=[False, True, True], kind="stable").reset_index(
        drop=True)


# ---------------------------------------------------------------------------------------------- Petri nets
def _pm4py_frame(log: EventLog) -> pd.DataFrame:
    """The canonical log in pm4py's column convention, in flowopt's order (time = completion)."""
    df = log.to_pandas()
    return pd.DataFrame({"case:concept:name": df["case_id"].astype(str), "concept:name": df["activity"].astype(str),
                         "time:timestamp": df["end"]})


def discover_model(log: EventLog, *, noise_threshold: float = 0.0) -> Model:
    """Discover a sound process model of ``log`` with pm4py's inductive miner.

    Parameters
    ----------
    log : EventLog
    noise_threshold : float in [0, 1), default 0.0
        0 keeps every behaviour (the model fits every case); higher values (IMf) drop infrequent paths.

    Returns
    -------
    Model
        The Petri net and its BPMN form.

    Raises
    ------
    flowopt.errors.MissingDependencyError
        pm4py is not installed.
    """
    if isinstance(noise_threshold, bool) or not isinstance(noise_threshold, (int, float)) \
            or not 0.0 <= float(noise_threshold) < 1.0:
        raise ParameterError(f"The 'noise_threshold' parameter of discover_model must be a float in [0, 1). Got "
                             f"{noise_threshold!r} instead.")
    pm4py = import_pm4py()
    with _quiet():
        tree = pm4py.discover_process_tree_inductive(_pm4py_frame(log), noise_threshold=float(noise_threshold))
        net, im, fm = pm4py.convert_to_petri_net(tree)
        bpmn = pm4py.convert_to_bpmn(tree)
    return Model(net=net, initial_marking=im, final_marking=fm, bpmn=bpmn,
                 source=f"inductive miner (noise_threshold={float(noise_threshold):g})")


def _read_bpmn(path: str | os.PathLike[str]) -> Model:
    p = Path(path)
    if not p.is_file():
        raise ParameterError(f"The 'reference' parameter of conformance names the BPMN file {str(p)!r}, which does "
                             "not exist. Give an ordered list of steps, a .bpmn file or a Model.")
    pm4py = import_pm4py()
    try:
        with _quiet():
            bpmn = pm4py.read_bpmn(str(p))
            net, im, fm = pm4py.convert_to_petri_net(bpmn)
    except Exception as exc:  # noqa: BLE001 - pm4py raises whatever its XML parser raises
        raise LogReadError(f"{p}: not a readable BPMN 2.0 model ({type(exc).__name__}: {exc}). Export the model "
                           "again as BPMN 2.0 XML.", path=str(p)) from None
    if not any(t.label is not None for t in net.transitions):
        raise LogReadError(f"{p}: the BPMN model has no tasks to check cases against.", path=str(p))
    return Model(net=net, initial_marking=im, final_marking=fm, bpmn=bpmn, source=str(p))


def _check_net(log: EventLog, model: Model, method: str, max_variants: int) -> Conformance:
    from flowopt.discovery._variants import discover_variants

    pm4py = import_pm4py()
    variants = discover_variants(log)
    table = variants.table.head(max_variants)
    case_variant = variants.case_variant
    # one representative case per checked variant, as a pm4py EventLog (bounded: max_variants traces)
    from pm4py.objects.log.obj import Event, Trace
    from pm4py.objects.log.obj import EventLog as PmLog

    traces = []
    for v, acts in zip(table["variant"], table["activities"]):
        tr = Trace([Event({"concept:name": a, "time:timestamp": pd.Timestamp(0, unit="s", tz="UTC")
                           + pd.Timedelta(seconds=i)}) for i, a in enumerate(acts)])
        tr.attributes["concept:name"] = f"variant {int(v)}"
        traces.append(tr)
    pmlog = PmLog(traces)
    use = "token_replay" if method == "token_replay" else "alignments"
    if use == "alignments":
        with _quiet():
            res = pm4py.conformance_diagnostics_alignments(pmlog, model.net, model.initial_marking,
                                                           model.final_marking, multi_processing=False)
        per_variant = [_alignment_deviations(r, acts) for r, acts in zip(res, table["activities"])]
    else:
        with _quiet():
            res = pm4py.conformance_diagnostics_token_based_replay(pmlog, model.net, model.initial_marking,
                                                                   model.final_marking)
        per_variant = [_token_deviations(r, acts) for r, acts in zip(res, table["activities"])]
    vt = pd.DataFrame([{k: v for k, v in d.items() if k != "_steps"} for d in per_variant])
    vt["variant"] = table["variant"].to_numpy()
    vt["events"] = table["events"].to_numpy()
    # spread the variant results to its cases
    cv = case_variant.rename("variant").reset_index()
    cases = cv.merge(vt, on="variant", how="inner").sort_values("case_id", kind="stable").reset_index(drop=True)
    cols = [c for c in _CASE_COLUMNS if c in cases] + [c for c in ("not_enabled", "missing_tokens",
                                                                    "remaining_tokens") if c in cases]
    cases = cases[cols]
    parts = []
    for d, v, n in zip(per_variant, table["variant"], table["cases"]):
        for kind, step in d["_steps"]:
            parts.append((kind, step, int(v), int(n)))
    if parts:
        dev = pd.DataFrame(parts, columns=["kind", "step", "case", "case_weight"])
        dev["weight"] = dev["case_weight"]
        deviations = _aggregate([dev])
    else:
        deviations = _aggregate([])
    checked = int(table["cases"].sum())
    fitness = float(np.average(vt["fitness"], weights=table["cases"])) if checked else float("nan")
    return Conformance(cases=cases, deviations=deviations, fitness=fitness, method=use,  # type: ignore[arg-type]
                       level="activity", reference=model.source, cases_total=len(case_variant),
                       cases_checked=checked, params={"max_variants": max_variants,
                                                      "variants_checked": len(table)})


def _alignment_deviations(res: dict[str, Any], acts: tuple[str, ...]) -> dict[str, Any]:
    """Classify the moves of one alignment: log moves are inserted, visible model moves skipped; an activity
    that is both inserted and skipped in the same case was done at the wrong moment (out of order)."""
    log_moves: dict[str, int] = {}
    model_moves: dict[str, int] = {}
    for lm, mm in _labels(res.get("alignment") or []):
        if lm != ">>" and mm == ">>":
            log_moves[lm] = log_moves.get(lm, 0) + 1
        elif lm == ">>" and mm not in (">>", None):
            model_moves[mm] = model_moves.get(mm, 0) + 1
    steps: list[tuple[str, str]] = []
    counts = dict.fromkeys(("skipped", "inserted", "repeated", "out_of_order"), 0)
    for a in sorted(set(log_moves) | set(model_moves)):
        both = min(log_moves.get(a, 0), model_moves.get(a, 0))
        for kind, k in (("out_of_order", both), ("inserted", log_moves.get(a, 0) - both),
                        ("skipped", model_moves.get(a, 0) - both)):
            if k:
                counts[kind] += k
                steps.extend([(kind, a)] * k)
    fit = float(res.get("fitness", np.nan))
    return {"fitness": fit, "fits": bool(not steps and fit >= 1.0 - 1e-12), **counts,
            "skipped_steps": " | ".join(s for k, s in steps if k == "skipped"),
            "deviating_steps": " | ".join(s for k, s in steps if k != "skipped"), "_steps": steps}


def _labels(alignment: list[Any]) -> list[tuple[Any, Any]]:
    """Alignment steps as (log label, model label); pm4py gives either labels or ((names), (labels))."""
    out = []
    for step in alignment:
        if isinstance(step, tuple) and len(step) == 2 and isinstance(step[0], tuple):
            step = step[1]
        out.append((step[0], step[1]))
    return out


def _token_deviations(res: dict[str, Any], acts: tuple[str, ...]) -> dict[str, Any]:
    problems = sorted(str(t.label) for t in res.get("transitions_with_problems", []) if t.label is not None)
    fit = float(res.get("trace_fitness", np.nan))
    return {"fitness": fit, "fits": bool(res.get("trace_is_fit", False)), "skipped": 0, "inserted": 0,
            "repeated": 0, "out_of_order": 0, "not_enabled": len(problems), "skipped_steps": "",
            "deviating_steps": " | ".join(problems), "missing_tokens": int(res.get("missing_tokens", 0)),
            "remaining_tokens": int(res.get("remaining_tokens", 0)),
            "_steps": [("not_enabled", p) for p in problems]}
