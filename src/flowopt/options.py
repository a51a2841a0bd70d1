"""The user's configuration: column mapping, stages, sign-offs, costs, SLA and alerts.

One frozen :class:`Config` holds everything a TOML file (``--config FILE``) or a dict can say. Every
section is optional; unknown sections or keys raise :class:`~flowopt.errors.ConfigError` naming the key
and listing the valid ones, so a typo never falls back silently to a default.

Examples
--------
>>> from flowopt.options import load_config
>>> cfg = load_config({"columns": {"case": "CaseID"}, "sla": {"throughput_hours": 48}})
>>> cfg.columns.case, cfg.sla.throughput_hours
('CaseID', 48.0)
>>> load_config({"colums": {}})
Traceback (most recent call last):
...
flowopt.errors.ConfigError: Unknown config section [colums]. Valid sections: ...
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from flowopt.errors import ConfigError

__all__ = [
    "AlertsConfig",
    "AnalysisConfig",
    "ColumnsConfig",
    "Config",
    "CostsConfig",
    "ReadConfig",
    "SignoffsConfig",
    "SlaConfig",
    "load_config",
]



@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnsConfig:
    """The log's own column names for each canonical field (``None``: auto-detect)."""

    case: str | None = None
    activity: str | None = None
    timestamp: str | None = None
    start: str | None = None
    end: str | None = None
    lifecycle: str | None = None
    resource: str | None = None
    role: str | None = None
    outcome: str | None = None
    order: str | None = None  # an explicit event order column (ties in time are ordered by it)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadConfig:
    """How raw values are read."""

    timezone: str = "UTC"  # zone of naive timestamps
    dayfirst: bool = False  # 01/02/2024 is 1 February when true
    delimiter: str | None = None  # CSV delimiter; None sniffs it
    encoding: str | None = None  # CSV encoding; None tries UTF-8 (with BOM), then GB18030, then Latin-1
    drop_duplicates: bool = True  # exact duplicate rows go to quarantine
    max_activities: int = 20_000  # more distinct activities than this stops reading (probably a wrong column)
    min_year: int = 1970  # timestamps outside [min_year, max_year] are quarantined
    max_year: int = 2100


@dataclass(frozen=True, slots=True, kw_only=True)
class SignoffsConfig:
    """Which steps are sign-offs, how their outcomes are written, and which are protected controls."""

    activities: tuple[str, ...] = ()  # regexes; empty: detect automatically
    reject_values: tuple[str, ...] = ()  # outcome-column values meaning "rejected" (added to the defaults)
    approve_values: tuple[str, ...] = ()
    outcome_pattern: str | None = None  # regex with an `outcome` (and optionally `step`) group
    protected: tuple[str, ...] = ()  # regexes of controls regulation requires: never eliminated
    max_reject_rate: float = 0.01  # upper confidence bound below which a sign-off is a rubber stamp
    min_cases: int = 100  # fewer cases than this: never called redundant
    confidence: float = 0.95


@dataclass(frozen=True, slots=True, kw_only=True)
class CostsConfig:
    """Cost rates; money is in ``currency`` units."""

    currency: str = "EUR"
    default_hourly: float | None = None  # per hour of service time when nothing more specific applies
    hourly_by_resource: Mapping[str, float] = field(default_factory=dict)
    hourly_by_role: Mapping[str, float] = field(default_factory=dict)
    fixed_by_activity: Mapping[str, float] = field(default_factory=dict)  # regex -> cost per execution
    waiting_hourly: float | None = None  # cost of an hour a case waits (customer-experience cost)


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaConfig:
    """Service-level targets."""

    throughput_hours: float | None = None
    stage_hours: Mapping[str, float] = field(default_factory=dict)
    complaint_response_hours: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertsConfig:
    """Thresholds for ``flowopt score``; crossing any makes the command exit with code 3."""

    throughput_p50_increase_pct: float | None = None
    throughput_p90_increase_pct: float | None = None
    sla_compliance_below: float | None = None
    rework_rate_above: float | None = None
    new_high_findings: int | None = None  # alert when at least this many new high-severity findings appear
    drift_p_value: float | None = None  # alert when the process drift test's p-value is below this


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalysisConfig:
    """Support and effect-size thresholds shared by the detectors."""

    min_cases: int = 30  # a finding needs at least this many cases behind it
    min_events: int = 30
    top_n: int = 10  # at most this many findings of each kind
    working_hours: tuple[int, int] | None = None  # (start hour, end hour); None: learned per resource
    threads: int = 2  # threads analyze may use on logs of 200k+ events (1: one thread only)


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """The whole configuration. Build it with :func:`load_config`."""

    columns: ColumnsConfig = field(default_factory=ColumnsConfig)
    read: ReadConfig = field(default_factory=ReadConfig)
    stages: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    signoffs: SignoffsConfig = field(default_factory=SignoffsConfig)
    costs: CostsConfig = field(default_factory=CostsConfig)
    sla: SlaConfig = field(default_factory=SlaConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    source: str | None = None  # the file it came from, for error messages

    def to_dict(self) -> dict[str, Any]:
        """A plain dict that :func:`load_config` turns back into an equal ``Config``."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "source":
                continue
            value = getattr(self, f.name)
            if dataclasses.is_dataclass(value):
                out[f.name] = {k.name: _plain(getattr(value, k.name)) for k in fields(value)}
            else:
                out[f.name] = _plain(value)
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


STAGE_NAMES = ("consultation", "application", "approval", "disbursement", "after_service")

_SECTIONS: dict[str, type] = {
    "columns": ColumnsConfig,
    "read": ReadConfig,
    "signoffs": SignoffsConfig,
    "costs": CostsConfig,
    "sla": SlaConfig,
    "alerts": AlertsConfig,
    "analysis": AnalysisConfig,
}


def _coerce(section: str, key: str, value: Any, annotation: str, where: str) -> Any:
    """Check ``value`` against the field's annotation (a string, e.g. ``"float | None"``)."""
    name = f"[{section}] {key}"
    ann = annotation.replace(" ", "")
    optional = ann.endswith("|None")
    base = ann[: -len("|None")] if optional else ann
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{where}{name} cannot be empty.", key=name)
    if base == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}{name} must be true or false. Got {value!r} instead.", key=name)
        return value
    if base == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}{name} must be a whole number. Got {value!r} instead.", key=name)
        return value
    if base == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}{name} must be a number. Got {value!r} instead.", key=name)
        return float(value)
    if base == "str":
        if not isinstance(value, str):
            raise ConfigError(f"{where}{name} must be a string. Got {value!r} instead.", key=name)
        return value
    if base == "tuple[int,int]":
        if (not isinstance(value, (list, tuple)) or len(value) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 24 for v in value)
                or value[0] >= value[1]):
            raise ConfigError(f"{where}{name} must be [start_hour, end_hour] with 0 <= start < end <= 24, e.g. "
                              f"[8, 18]. Got {value!r} instead.", key=name)
        return (int(value[0]), int(value[1]))
    if base.startswith("tuple[str"):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, (str, int, float)) for v in value):
            raise ConfigError(f"{where}{name} must be a list of strings. Got {value!r} instead.", key=name)
        return tuple(str(v) for v in value)
    if base.startswith("Mapping[str,float]"):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}{name} must be a table of name = number. Got {value!r} instead.", key=name)
        out = {}
        for k, v in value.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ConfigError(f"{where}{name}: {k} must be a number. Got {v!r} instead.", key=name)
            out[str(k)] = float(v)
        return out
    raise ConfigError(f"{where}{name}: unsupported setting type {annotation}.", key=name)  # pragma: no cover


def load_config(config: Config | Mapping[str, Any] | str | os.PathLike[str] | None = None) -> Config:
    """Build a :class:`Config` from ``None``, a dict, a ``Config`` or the path of a TOML file.

    Raises
    ------
    ConfigError
        Unknown section or key, wrong type, unreadable TOML. The message names the key and the fix.
    """
    if config is None:
        return Config()
    if isinstance(config, Config):
        return config
    source: str | None = None
    where = ""
    if isinstance(config, (str, os.PathLike)):
        path = Path(config)
        source = str(path)
        where = f"{path}: "
        if not path.is_file():
            raise ConfigError(f"Config file {path} does not exist. Pass the path of a TOML file.", path=source)
        try:
            data: Mapping[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}. Check the line it names.", path=source) from None
    elif isinstance(config, Mapping):
        data = config
    else:
        raise ConfigError(f"config must be None, a dict, a Config or a path to a TOML file. "
                          f"Got {type(config).__name__} instead.")
    kwargs: dict[str, Any] = {"source": source}
    valid = sorted([*_SECTIONS, "stages"])
    for section, body in data.items():
        if section == "stages":
            if not isinstance(body, Mapping):
                raise ConfigError(f"{where}[stages] must be a table of stage = [regexes].", key="stages")
            stages: dict[str, tuple[str, ...]] = {}
            for stage, patterns in body.items():
                if isinstance(patterns, str):
                    patterns = [patterns]
                if not isinstance(patterns, (list, tuple)) or not all(isinstance(p, str) for p in patterns):
                    raise ConfigError(f"{where}[stages] {stage} must be a list of regexes.", key=f"stages.{stage}")
                _check_regexes(patterns, f"{where}[stages] {stage}")
                stages[str(stage)] = tuple(patterns)
            kwargs["stages"] = stages
            continue
        cls = _SECTIONS.get(section)
        if cls is None:
            raise ConfigError(f"Unknown config section [{section}]. Valid sections: {', '.join(valid)}.",
                              key=section, path=source)
        if not isinstance(body, Mapping):
            raise ConfigError(f"{where}[{section}] must be a table.", key=section, path=source)
        types = {f.name: str(f.type) for f in fields(cls)}
        names = set(types)
        values = {}
        for key, value in body.items():
            if key not in names:
                raise ConfigError(f"{where}Unknown key '{key}' in [{section}]. Valid keys: {', '.join(sorted(names))}.",
                                  key=f"{section}.{key}", path=source)
            values[key] = _coerce(section, key, value, types[key], where)
        if section == "signoffs":
            _check_regexes(values.get("activities", ()), f"{where}[signoffs] activities")
            _check_regexes(values.get("protected", ()), f"{where}[signoffs] protected")
            if values.get("outcome_pattern"):
                _check_regexes([values["outcome_pattern"]], f"{where}[signoffs] outcome_pattern")
                if "(?P<outcome>" not in values["outcome_pattern"]:
                    raise ConfigError(f"{where}[signoffs] outcome_pattern needs a named group (?P<outcome>...).",
                                      key="signoffs.outcome_pattern")
        if section == "read":
            _check_timezone(values.get("timezone", "UTC"), where)
        if section == "analysis" and values.get("threads", 1) < 1:
            raise ConfigError(f"{where}[analysis] threads must be 1 or more (1: no helper threads); got "
                              f"{values['threads']}.", key="analysis.threads", path=source)
        kwargs[section] = cls(**values)
    return Config(**kwargs)


def _check_regexes(patterns: Any, name: str) -> None:
    import re

    for p in patterns:
        try:
            re.compile(p)
        except re.error as exc:
            raise ConfigError(f"{name}: {p!r} is not a valid regular expression ({exc}).", key=name) from None


def _check_timezone(tz: str, where: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{where}[read] timezone {tz!r} is not a known time zone; use an IANA name such as "
                          f"'Europe/Amsterdam' or 'Asia/Shanghai'.", key="read.timezone") from None
