"""Conformance against ordered lists (vectorised, no pm4py), BPMN files and inductive-miner models."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import flowopt
from flowopt.discovery._conformance import Conformance, Model, conformance, discover_model
from flowopt.errors import LogReadError, ParameterError
from flowopt.log import EventLog


def _log(traces: dict[str, list[str]]) -> EventLog:
    rows = [(c, a, pd.Timestamp("2024-01-01") + pd.Timedelta(hours=i))
            for c, acts in traces.items() for i, a in enumerate(acts)]
    return flowopt.read_log(pd.DataFrame(rows, columns=["case_id", "activity", "timestamp"]))


REF = ["A", "B", "C", "D"]


@pytest.fixture(scope="module")
def small() -> EventLog:
    return _log({"ok": ["A", "B", "C", "D"], "skip": ["A", "C", "D"], "ins": ["A", "B", "X", "C", "D"],
                 "swap": ["A", "C", "B", "D"], "rework": ["A", "B", "B", "C", "D"], "late": ["D", "A", "B", "C"]})


def test_ordered_activities(small: EventLog) -> None:
    res = conformance(small, REF)
    assert isinstance(res, Conformance) and res.method == "sequence" and res.level == "activity"
    t = res.to_frame().set_index("case_id")
    cols = ["skipped", "inserted", "repeated", "out_of_order"]
    assert t.loc["ok", cols].tolist() == [0, 0, 0, 0] and t.loc["ok", "fitness"] == 1.0 and t.loc["ok", "fits"]
    assert t.loc["skip", cols].tolist() == [1, 0, 0, 0] and t.loc["skip", "skipped_steps"] == "B"
    assert t.loc["ins", cols].tolist() == [0, 1, 0, 0] and t.loc["ins", "deviating_steps"] == "X"
    assert t.loc["swap", cols].tolist() == [0, 0, 0, 1] and t.loc["swap", "deviating_steps"] == "B"
    assert t.loc["rework", cols].tolist() == [0, 0, 1, 0]
    assert t.loc["late", cols].tolist() == [0, 0, 0, 3]
    assert t.loc["skip", "fitness"] == pytest.approx(1 - 1 / (4 + 3))
    assert t.loc["late", "fitness"] == pytest.approx(1 - 3 / (4 + 4))
    assert res.fitness == pytest.approx(t["fitness"].mean())
    assert res.fitting_share == pytest.approx(1 / 6)
    dev = res.deviations.set_index(["kind", "step"])
    assert dev.loc[("skipped", "B"), "cases"] == 1 and dev.loc[("inserted", "X"), "count"] == 1
    assert dev.loc[("out_of_order", "A"), "cases"] == 1
    d = res.to_dict()
    assert d["cases_total"] == d["cases_checked"] == 6 and d["cases_fitting"] == 1
    assert d["reference"] == REF and {x["kind"] for x in d["deviations"]} == {"skipped", "inserted", "repeated",
                                                                               "out_of_order"}
    with pytest.raises(AttributeError):
        res.fitness = 0.0  # type: ignore[misc]


def test_ordered_stages_collapse_visits() -> None:
    log = _log({"1": ["Inquiry", "Submit application", "Document check", "Credit risk approval", "Disbursement"],
                "2": ["Submit application", "Inquiry", "Credit risk approval"]})
    res = conformance(log, ["consultation", "application", "approval", "disbursement"])
    assert res.level == "stage"
    t = res.to_frame().set_index("case_id")
    # case 1: Submit application + Document check are one application visit
    assert t.loc["1", "events"] == 4 and t.loc["1", "fits"]
    assert t.loc["2", "out_of_order"] == 1 and t.loc["2", "skipped_steps"] == "disbursement"


def test_counts_are_consistent_on_a_larger_log() -> None:
    log = flowopt.datasets.example_log()
    steps = ["Inquiry", "Submit application", "Document check", "Credit scoring", "Branch manager approval",
             "Contract signing", "Disbursement"]
    res = conformance(log, steps)
    t = res.cases
    assert len(t) == log.n_cases and t["fitness"].between(0, 1).all()
    events = log.to_pandas().groupby("case_id")["activity"].size()
    assert (t.set_index("case_id")["events"] == events.reindex(t["case_id"]).to_numpy()).all()
    dev = res.deviations
    for kind in ("skipped", "inserted", "repeated", "out_of_order"):
        assert dev.loc[dev.kind == kind, "count"].sum() == t[kind].sum()
    # inserted events are exactly those whose activity is not a reference step
    acts = log.to_pandas()["activity"].astype(str)
    assert t["inserted"].sum() == int((~acts.isin(steps)).sum())
    assert t["fits"].sum() == int((t[["skipped", "inserted", "repeated", "out_of_order"]].sum(axis=1) == 0).sum())


@pytest.mark.parametrize("bad", [[], ["A", "A"]])
def test_bad_ordered_reference(small: EventLog, bad: list[str]) -> None:
    with pytest.raises(ParameterError, match="reference"):
        conformance(small, bad)


def test_bad_parameters(small: EventLog, tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="method"):
        conformance(small, REF, method="magic")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="max_variants"):
        conformance(small, REF, max_variants=0)
    with pytest.raises(ParameterError, match="does not exist"):
        conformance(small, tmp_path / "missing.bpmn")
    junk = tmp_path / "junk.bpmn"
    junk.write_text("<not-bpmn/>", encoding="utf-8")
    with pytest.raises(LogReadError, match="BPMN"):
        conformance(small, junk)
    with pytest.raises(ParameterError, match="noise_threshold"):
        discover_model(small, noise_threshold=1.5)


# ------------------------------------------------------------------ Petri nets via pm4py
@pytest.fixture(scope="module")
def sequence_model() -> Model:
    return discover_model(_log({f"c{i}": REF for i in range(5)}))


def test_alignments_classify_moves(small: EventLog, sequence_model: Model) -> None:
    assert sequence_model.activities == REF
    res = conformance(small, sequence_model)
    assert res.method == "alignments" and res.cases_checked == res.cases_total == 6
    t = res.to_frame().set_index("case_id")
    assert t.loc["ok", "fitness"] == 1.0 and t.loc["ok", "fits"]
    assert t.loc["skip", "skipped"] == 1 and t.loc["skip", "skipped_steps"] == "B"
    assert t.loc["ins", "inserted"] == 1 and t.loc["ins", "deviating_steps"] == "X"
    assert t.loc["swap", "out_of_order"] == 1
    assert (t.drop(index="ok")["fitness"] < 1).all()
    assert 0 < res.fitness < 1


def test_model_fits_its_own_log_and_bpmn_roundtrip(real_log: Callable[[str], EventLog], tmp_path: Path) -> None:
    log = real_log("running-example.xes")
    model = discover_model(log)
    res = conformance(log, model)
    assert res.fitness == pytest.approx(1.0) and res.fitting_share == 1.0
    assert res.deviations.empty
    path = model.to_bpmn(tmp_path / "model.bpmn")
    assert path.read_text(encoding="utf-8").lstrip().startswith("<?xml")
    again = conformance(log, path)
    assert again.fitness == pytest.approx(1.0) and again.reference == str(path)


def test_token_replay_and_bounded_sample(real_log: Callable[[str], EventLog]) -> None:
    log = real_log("receipt.xes.gz")
    model = discover_model(log, noise_threshold=0.4)
    variants = flowopt.discover_variants(log)
    res = conformance(log, model, method="token_replay", max_variants=10)
    assert res.method == "token_replay"
    assert res.cases_checked == int(variants.table["cases"].head(10).sum()) < res.cases_total == log.n_cases
    assert len(res.cases) == res.cases_checked
    assert {"missing_tokens", "remaining_tokens", "not_enabled"} <= set(res.cases.columns)
    assert res.cases["fitness"].between(0, 1).all()
    assert res.fitness < 1.0 and set(res.deviations["kind"]) <= {"not_enabled"}
    aligned = conformance(log, model, max_variants=10)
    assert aligned.cases_checked == res.cases_checked and aligned.fitness < 1.0
    assert aligned.to_dict()["params"]["variants_checked"] == 10


def test_pm4py_stays_out_of_output(small: EventLog, sequence_model: Model, capsys: pytest.CaptureFixture[str]) -> None:
    conformance(small, sequence_model)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_import_flowopt_does_not_import_pm4py() -> None:
    # a fresh interpreter: importing flowopt leaves pm4py alone; the first model imports it without a banner
    code = ("import flowopt, flowopt.discovery, flowopt.discovery._conformance as c, sys\n"
            "assert 'pm4py' not in sys.modules, 'pm4py imported by import flowopt'\n"
            "log = flowopt.datasets.example_log()\n"
            "res = c.conformance(log, c.discover_model(log.filter_cases(log.to_pandas()['case_id'].unique()[:20])))\n"
            "assert 'pm4py' in sys.modules and 0 < res.fitness <= 1\n")
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""
