"""Tests of flowopt.options: the configuration file and dict."""

from __future__ import annotations

import pytest

from flowopt.errors import ConfigError
from flowopt.options import Config, load_config


def test_none_gives_defaults() -> None:
    cfg = load_config(None)
    assert cfg == Config()
    assert cfg.read.timezone == "UTC"
    assert cfg.signoffs.max_reject_rate == 0.01


def test_contract_example_toml(tmp_path) -> None:
    text = '''
[columns]
case = "case_id"
activity = "activity"
timestamp = "time"
lifecycle = "transition"
resource = "user"
role = "department"
outcome = "decision"

[stages]
consultation = ["inquiry", "咨询"]
approval = ["approv", "审批"]

[signoffs]
activities = ["^Approval - "]
reject_values = ["rejected"]
outcome_pattern = "-(?P<outcome>通过|驳回)$"
protected = ["Compliance"]
'''
    path = tmp_path / "flowopt.toml"
    path.write_text(text, encoding="utf-8")
    cfg = load_config(path)
    assert cfg.columns.lifecycle == "transition"
    assert cfg.stages["consultation"] == ("inquiry", "咨询")
    assert cfg.signoffs.protected == ("Compliance",)
    assert cfg.source == str(path)


def test_round_trip() -> None:
    cfg = load_config({"columns": {"case": "CaseID"}, "costs": {"hourly_by_role": {"RISK": 80}},
                       "stages": {"approval": ["审批"]}, "analysis": {"working_hours": [8, 18]}})
    again = load_config(cfg.to_dict())
    assert again == cfg


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"colums": {}}, r"Unknown config section \[colums\]"),
        ({"columns": {"cas": "x"}}, r"Unknown key 'cas' in \[columns\]"),
        ({"sla": {"throughput_hours": "two days"}}, r"\[sla\] throughput_hours must be a number"),
        ({"read": {"dayfirst": "yes"}}, r"must be true or false"),
        ({"signoffs": {"outcome_pattern": "-(通过|驳回)$"}}, r"needs a named group"),
        ({"signoffs": {"protected": ["(unclosed"]}}, r"not a valid regular expression"),
        ({"read": {"timezone": "Mars/Olympus"}}, r"not a known time zone"),
        ({"stages": {"approval": 3}}, r"must be a list of regexes"),
    ],
)
def test_bad_values_are_rejected_with_the_key(data, match) -> None:
    with pytest.raises(ConfigError, match=match):
        load_config(data)


def test_missing_and_invalid_toml(tmp_path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[columns\ncase = 1", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_wrong_type_of_config() -> None:
    with pytest.raises(ConfigError, match="must be None, a dict"):
        load_config(42)  # type: ignore[arg-type]


def test_analysis_threads_must_be_positive() -> None:
    assert load_config({"analysis": {"threads": 1}}).analysis.threads == 1
    assert load_config(None).analysis.threads == 2
    with pytest.raises(ConfigError, match="threads must be 1 or more"):
        load_config({"analysis": {"threads": 0}})
