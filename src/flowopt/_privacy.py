"""Pseudonymisation: replace case ids, resource names and customer identifiers by keyed hashes.

Banks may not ship customer identifiers into a report. :func:`pseudonymize` returns a copy of a log in
which every case id, resource name and identifier-like attribute (a column whose name says customer,
client, user, account, phone, e-mail, ID card, 客户, 身份证, ...) is replaced by
``prefix + HMAC-SHA256(key, value)`` truncated to 20 hex digits (80 bits). The same value and key always
give the same pseudonym, so week-over-week scoring of pseudonymised logs still matches cases and
resources; without the key the original cannot be recovered or confirmed by guessing.

Prefixes: ``c_`` case ids, ``r_`` resources, ``u_`` other identifier columns. The quarantine is
pseudonymised the same way (its case, resource and identifier columns; the raw text of malformed rows is
redacted). Activity names, roles, outcomes, times and other attributes are kept.

The key comes from :func:`key_from_env`: the environment variable ``FLOWOPT_PSEUDONYM_KEY`` or a key
file (at least 16 bytes; generate one with ``python -c "import secrets; print(secrets.token_hex(32))"``).

Examples
--------
>>> import flowopt
>>> from flowopt._privacy import pseudonymize
>>> log = flowopt.datasets.example_log()
>>> anon = pseudonymize(log, b"0123456789abcdef-example-key")
>>> len(anon) == len(log), anon.n_cases == log.n_cases
(True, True)
>>> str(anon.frame["case_id"].iloc[0])[:2], str(anon.frame["resource"].dropna().iloc[0])[:2]
('c_', 'r_')
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from flowopt.errors import ConfigError, ParameterError, QuarantineReason
from flowopt.log import EventLog

__all__ = ["DEFAULT_KEY_VAR", "IDENTIFIER_PATTERN", "MIN_KEY_BYTES", "identifier_columns", "key_from_env",
           "pseudonym", "pseudonymize"]

DEFAULT_KEY_VAR = "FLOWOPT_PSEUDONYM_KEY"
MIN_KEY_BYTES = 16
_DIGITS = 20  # hex digits kept: 80 bits, collisions need ~10^12 distinct values
_MAKE_KEY = 'python -c "import secrets; print(secrets.token_hex(32))"'

# column names that hold personal or customer identifiers (matched case-insensitively, anywhere in the name)
IDENTIFIER_PATTERN = re.compile(
    r"customer|client|cust_?id|user|member|account|applicant|borrower|person|national|passport|"
    r"id_?card|ssn|phone|mobile|e-?mail|iban|客户|用户|身份证|证件|手机|电话|账号|账户|姓名|借款人|申请人",
    re.IGNORECASE)


def key_from_env(var: str = DEFAULT_KEY_VAR, file: str | os.PathLike[str] | None = None) -> bytes:
    """The pseudonymisation key: the contents of ``file`` when given, else the environment variable ``var``.

    Parameters
    ----------
    var : str
        Environment variable holding the key (text; surrounding whitespace is ignored).
    file : path, optional
        A file holding the key (takes precedence over the variable; a trailing newline is ignored).

    Returns
    -------
    bytes
        At least :data:`MIN_KEY_BYTES` bytes.

    Raises
    ------
    flowopt.errors.ConfigError
        Neither is set, the file is missing or empty, or the key is shorter than 16 bytes.

    Examples
    --------
    >>> import os
    >>> os.environ["FLOWOPT_PSEUDONYM_KEY"] = "d3b07384d113edec49eaa6238ad5ff00"
    >>> key_from_env()
    b'd3b07384d113edec49eaa6238ad5ff00'
    >>> del os.environ["FLOWOPT_PSEUDONYM_KEY"]
    >>> key_from_env()
    Traceback (most recent call last):
    ...
    flowopt.errors.ConfigError: Pseudonymisation needs a secret key, and none is set: ...
    """
    if file is not None:
        path = Path(file)
        try:
            key = path.read_bytes().strip()
        except FileNotFoundError:
            raise ConfigError(f"The pseudonymisation key file {path} does not exist. Write a key into it, e.g. "
                              f"{_MAKE_KEY} > {path}", key="key file", path=str(path)) from None
        except OSError as exc:
            raise ConfigError(f"The pseudonymisation key file {path} cannot be read ({exc.strerror}). Check its "
                              "permissions.", key="key file", path=str(path)) from None
        where = f"the key file {path}"
    else:
        value = os.environ.get(var, "").strip()
        if not value:
            raise ConfigError(f"Pseudonymisation needs a secret key, and none is set: the environment variable "
                              f"{var} is empty or unset and no key file was given. Set it, e.g. "
                              f"export {var}=$({_MAKE_KEY}), or pass a key file.", key=var)
        key = value.encode("utf-8")
        where = f"the environment variable {var}"
    _check_key(key, where)
    return key


def _check_key(key: object, where: str = "the 'key' parameter of pseudonymize") -> None:
    if not isinstance(key, (bytes, bytearray)):
        raise ParameterError(f"The 'key' parameter of pseudonymize must be bytes. Got {type(key).__name__} "
                             "instead; use flowopt._privacy.key_from_env() to read it.")
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(f"The pseudonymisation key in {where} is {len(key)} bytes; it must be at least "
                          f"{MIN_KEY_BYTES} bytes so pseudonyms cannot be reversed by guessing. Generate one with "
                          f"{_MAKE_KEY}", key="key")


def pseudonym(value: str, key: bytes, prefix: str) -> str:
    """``prefix`` + the first 20 hex digits of HMAC-SHA256(``key``, ``value``).

    Examples
    --------
    >>> pseudonym("C000001", b"0123456789abcdef", "c_")
    'c_...'
    >>> pseudonym("C000001", b"0123456789abcdef", "c_") == pseudonym("C000001", b"0123456789abcdef", "c_")
    True
    """
    return prefix + hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:_DIGITS]


def _pseudonyms(values: Iterable[str], key: bytes, prefix: str, what: str) -> list[str]:
    """Pseudonyms of distinct ``values`` (one HMAC per distinct value), refusing collisions."""
    vals = list(values)
    out = [pseudonym(v, key, prefix) for v in vals]
    if len(set(out)) != len(set(vals)):  # pragma: no cover - 80-bit collision
        raise ParameterError(f"Two different {what} values got the same pseudonym; use another key.")
    return out


def _hash_series(s: pd.Series, key: bytes, prefix: str, what: str) -> pd.Series:
    """Any column -> pseudonymised text (missing stays missing; values compared as stripped text)."""
    text = s.astype("string").str.strip()
    text = text.mask(text == "")
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    names = np.asarray(_pseudonyms((str(u) for u in uniques), key, prefix, what) + [pd.NA], dtype=object)
    return pd.Series(names[codes], index=s.index, dtype="string")


def _hash_categorical(s: pd.Series, key: bytes, prefix: str, what: str) -> pd.Series:
    """A categorical column -> pseudonymised categorical with sorted categories (codes remapped)."""
    cats = [str(c) for c in s.cat.categories]
    new = np.asarray(_pseudonyms(cats, key, prefix, what), dtype=object)
    order = np.argsort(new, kind="stable")
    rank = np.empty(len(new), dtype=np.int64)
    rank[order] = np.arange(len(new))
    codes = s.cat.codes.to_numpy()
    remapped = np.where(codes >= 0, rank[np.maximum(codes, 0)], -1)
    return pd.Series(pd.Categorical.from_codes(remapped, categories=pd.Index(new[order], dtype="string")),
                     index=s.index)


def identifier_columns(columns: Iterable[str]) -> list[str]:
    """The columns whose names look like customer or user identifiers (see :data:`IDENTIFIER_PATTERN`).

    Examples
    --------
    >>> identifier_columns(["case_id", "customer_no", "amount", "客户号", "user email", "channel"])
    ['customer_no', '客户号', 'user email']
    """
    return [c for c in columns if IDENTIFIER_PATTERN.search(str(c))]


def pseudonymize(log: EventLog, key: bytes) -> EventLog:
    """A copy of ``log`` with case ids, resources and identifier-like attributes replaced by keyed hashes.

    Parameters
    ----------
    log : EventLog
        From :func:`flowopt.read_log`; not modified.
    key : bytes
        The secret key (at least 16 bytes), normally from :func:`key_from_env`.

    Returns
    -------
    EventLog
        Same events, cases, activities, times and quarantine rows; ``case_id`` becomes ``c_<hash>``,
        ``resource`` ``r_<hash>``, identifier columns (:func:`identifier_columns`) ``u_<hash>``. Rows are
        ordered by pseudonymised case id, keeping each case's event order.

    Raises
    ------
    flowopt.errors.ParameterError, flowopt.errors.ConfigError
        ``key`` is not bytes or is shorter than 16 bytes.

    Examples
    --------
    >>> import pandas as pd, flowopt
    >>> df = pd.DataFrame({"case_id": ["A-1", "A-1", "B-2"], "activity": ["Apply", "Approve", "Apply"],
    ...                    "timestamp": ["2024-01-02 09:00", "2024-01-02 11:00", "2024-01-03 09:00"],
    ...                    "resource": ["alice", "bob", "alice"], "customer_id": ["K7", "K7", "K9"]})
    >>> anon = pseudonymize(flowopt.read_log(df), b"a key of 16 bytes or more")
    >>> anon.n_cases, sorted(anon.to_pandas()["activity"])
    (2, ['Apply', 'Apply', 'Approve'])
    >>> "A-1" in anon.to_pandas().to_string() or "alice" in anon.to_pandas().to_string()
    False
    """
    _check_key(key)
    key = bytes(key)
    frame = log.frame
    out = frame.copy()
    out["case_id"] = _hash_categorical(frame["case_id"], key, "c_", "case id")
    out["resource"] = _hash_categorical(frame["resource"], key, "r_", "resource")
    canonical = {"case_id", "activity", "start", "end", "resource", "role", "outcome", "scheduled", "_row"}
    for col in identifier_columns(c for c in frame.columns if c not in canonical):
        out[col] = _hash_series(frame[col], key, "u_", f"column '{col}'")
    # rows in pseudonymised case order, each case's events kept in their order
    order = np.argsort(out["case_id"].cat.codes.to_numpy(), kind="stable")
    out = out.iloc[order].reset_index(drop=True)

    quarantine = log.quarantine
    mapping = log.mapping
    for field, prefix in (("case", "c_"), ("resource", "r_")):
        source_col = mapping.get(field)
        if source_col is not None and source_col in quarantine.columns:
            quarantine[source_col] = _hash_series(quarantine[source_col], key, prefix, field)
    fixed = {"row", "reason", "detail", *mapping.values()}
    for col in identifier_columns(c for c in quarantine.columns if c not in fixed):
        quarantine[col] = _hash_series(quarantine[col], key, "u_", f"column '{col}'")
    if "detail" in quarantine.columns and "reason" in quarantine.columns:
        malformed = (quarantine["reason"] == QuarantineReason.MALFORMED_ROW.value).to_numpy(dtype=bool)
        if malformed.any():
            quarantine.loc[malformed, "detail"] = "wrong number of fields (row text withheld: pseudonymised)"

    stages = {str(r.activity): (str(r.stage), str(r.rule)) for r in log.stages.itertuples(index=False)}
    return EventLog(out, quarantine=quarantine, source=log.source, rows_in=log.rows_in, rows_used=log.rows_used,
                    mapping=mapping, config=log.config, stages=stages)
