"""Map a log's own column names to flowopt's canonical fields.

The ``[columns]`` config section wins; fields it leaves out are detected from well-known names (XES
standard keys, common English and Chinese CSV headers). Detection never guesses: when two columns fit a
field equally well, or a required field fits none, it stops with a :class:`ColumnDetectionError` listing
the columns it saw and the config lines that would settle it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from flowopt.errors import ColumnDetectionError, SchemaError
from flowopt.options import ColumnsConfig

__all__ = ["FIELDS", "detect_columns"]

FIELDS = ("case", "activity", "timestamp", "start", "end", "lifecycle", "resource", "role", "outcome", "order")

# Each field: tiers of candidate names (normalised: lower case, separators removed). A column matching a
# higher tier wins; two columns matching the same best tier are ambiguous.
_CANDIDATES: dict[str, list[list[str]]] = {
    "case": [["case:concept:name"],
             ["caseid", "case", "casenumber", "caseno", "traceid", "processinstanceid", "案件编号", "案例编号",
              "案件号", "流程编号", "工单号", "工单编号", "申请编号", "业务编号", "编号"],
             ["applicationid", "ticketid", "orderid", "loanid", "requestid", "id"]],
    "activity": [["concept:name"],
                 ["activity", "activityname", "activityid", "act", "task", "taskname", "eventname", "活动",
                  "活动名称", "环节", "节点", "节点名称", "步骤", "操作"],
                 ["event", "step", "action", "status"]],
    "timestamp": [["time:timestamp"],
                  ["timestamp", "time", "datetime", "eventtime", "eventtimestamp", "date", "时间", "时间戳",
                   "发生时间", "操作时间"]],
    "start": [["start_timestamp", "time:start", "starttimestamp"],
              ["starttime", "start", "startdate", "startedat", "开始时间"]],
    "end": [["time:complete"],
            ["endtime", "end", "endtimestamp", "completetime", "completetimestamp", "completiontime",
             "enddate", "finishedat", "completedat", "结束时间", "完成时间"]],
    "lifecycle": [["lifecycle:transition"], ["lifecycle", "transition", "eventtype", "lifecycletransition",
                                             "生命周期"]],
    "resource": [["org:resource"], ["resource", "user", "userid", "performer", "employee", "staff", "agent",
                                    "处理人", "执行人", "操作员", "操作人", "经办人", "审批人"]],
    "role": [["org:role"], ["role", "department", "dept", "orgunit", "team", "部门", "角色", "岗位"],
             ["org:group", "group"]],
    "outcome": [["outcome", "decision", "result", "approvalresult", "verdict", "结果", "审批结果", "审批意见"]],
    "order": [[".order", "eventorder", "order", "seq", "sequence", "序号"]],
}


def _norm(name: str) -> str:
    n = name.strip().lower()
    if ":" in n or n.startswith("."):
        return n
    return re.sub(r"[\s_\-]+", "", n)


def _find(field: str, columns: Sequence[str], taken: set[str]) -> list[str]:
    norm = {c: _norm(c) for c in columns if c not in taken}
    for tier in _CANDIDATES[field]:
        wanted = {_norm(t) for t in tier}
        hits = [c for c, n in norm.items() if n in wanted]
        if hits:
            return hits
    return []


def _fix_lines(mapping: Mapping[str, str | None], columns: Sequence[str]) -> str:
    lines = ["[columns]"]
    for f in ("case", "activity", "timestamp", "start", "end", "resource"):
        lines.append(f'{f} = "{mapping.get(f) or "<one of: " + ", ".join(columns[:12]) + ">"}"')
    return "\n  ".join(lines)


def detect_columns(columns: Sequence[str], config: ColumnsConfig, *, source: str) -> dict[str, str]:
    """Return ``{canonical field: column name}`` for the fields found in ``columns``.

    A single time column becomes ``end`` (the completion time) unless the log has a lifecycle
    column, in which case it is ``timestamp`` (each transition's time).

    Parameters
    ----------
    columns : sequence of str
        The log's column names.
    config : ColumnsConfig
        Explicit mapping; ``None`` fields are detected.
    source : str
        Name of the file or ``"<DataFrame>"``, for messages.

    Raises
    ------
    SchemaError
        A configured column does not exist.
    ColumnDetectionError
        A required field is missing or ambiguous.

    Examples
    --------
    >>> from flowopt.options import ColumnsConfig
    >>> detect_columns(["CaseID", "Activity", "Timestamp", "User"], ColumnsConfig(), source="x.csv")
    {'case': 'CaseID', 'activity': 'Activity', 'resource': 'User', 'end': 'Timestamp'}
    """
    cols = list(columns)
    mapping: dict[str, str] = {}
    for f in FIELDS:
        name = getattr(config, f)
        if name is not None:
            if name not in cols:
                close = [c for c in cols if _norm(c) == _norm(name)]
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise SchemaError(f"{source}: the config maps {f} to column {name!r}, which the log does not have."
                                  f"{hint} Columns present: {', '.join(cols)}.", source=source, column=name)
            mapping[f] = name
    explicit = set(mapping)
    taken = set(mapping.values())
    for f in FIELDS:
        if f in mapping:
            continue
        if f in ("start", "end", "timestamp") and explicit & {"start", "end", "timestamp"}:
            continue  # the user chose the time columns; don't add more behind their back
        hits = _find(f, cols, taken)
        if len(hits) > 1:
            raise ColumnDetectionError(
                f"{source}: cannot tell which column holds the {f}: {', '.join(repr(h) for h in hits)} all fit. "
                f"Say which in the config, e.g.\n  [columns]\n  {f} = \"{hits[0]}\"\nColumns present: "
                f"{', '.join(cols)}.", source=source, columns=cols, field=f)
        if hits:
            mapping[f] = hits[0]
            taken.add(hits[0])
    if "lifecycle" in mapping:
        # lifecycle rows carry one time each (the transition's time)
        times = [mapping[f] for f in ("timestamp", "end", "start") if f in mapping]
        if len(times) > 1 and not explicit & {"timestamp"}:
            raise ColumnDetectionError(
                f"{source}: the log has a lifecycle column ({mapping['lifecycle']!r}) and several time columns "
                f"({', '.join(times)}). Name the transition's time in the config, e.g.\n  [columns]\n  "
                f"timestamp = \"{times[0]}\"", source=source, columns=cols, field="timestamp")
        for f in ("end", "start"):
            mapping.pop(f, None)
        if times:
            mapping["timestamp"] = times[0]
    else:
        if "timestamp" in mapping and "end" in mapping:
            if not explicit & {"timestamp", "end"}:
                raise ColumnDetectionError(
                    f"{source}: both {mapping['timestamp']!r} and {mapping['end']!r} look like the completion time. "
                    f"Say which in the config, e.g.\n  [columns]\n  end = \"{mapping['end']}\"",
                    source=source, columns=cols, field="end")
            if "end" in explicit:
                mapping.pop("timestamp")
            else:
                mapping["end"] = mapping.pop("timestamp")
        elif "timestamp" in mapping:
            mapping["end"] = mapping.pop("timestamp")
    missing = [f for f in ("case", "activity") if f not in mapping]
    if "end" not in mapping and "timestamp" not in mapping:
        missing.append("timestamp")
    if missing:
        raise ColumnDetectionError(
            f"{source}: no column found for {', '.join(missing)}. Columns present: {', '.join(cols)}. Map them in "
            f"a config file, e.g.\n  {_fix_lines(mapping, cols)}", source=source, columns=cols, field=missing[0])
    return mapping
