"""JSON Schemas of flowopt's documents and their validation."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any, Literal

from flowopt.errors import MissingDependencyError, SchemaError

__all__ = ["load_schema", "validate_document"]

_FILES = {"analysis": "schema.json", "score": "score.schema.json", "comparison": "score.schema.json"}


@cache
def _text(name: str) -> str:
    return (resources.files("flowopt.report") / name).read_text(encoding="utf-8")


def load_schema(kind: Literal["analysis", "score", "comparison"] = "analysis") -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a document kind, as a dict.

    Examples
    --------
    >>> load_schema()["$schema"]
    'https://json-schema.org/draft/2020-12/schema'
    """
    if kind not in _FILES:
        from flowopt.errors import ParameterError

        raise ParameterError(f"The 'kind' parameter of load_schema must be one of {sorted(_FILES)}. Got {kind!r}.")
    return dict(json.loads(_text(_FILES[kind])))


def validate_document(doc: Mapping[str, Any], kind: Literal["analysis", "score", "comparison"] | None = None) -> None:
    """Check ``doc`` against its JSON Schema; raise :class:`flowopt.errors.SchemaError` listing what is wrong.

    Parameters
    ----------
    doc : dict
        A parsed JSON document.
    kind : {"analysis", "score", "comparison"}, optional
        Default: ``doc["document"]`` when present, else "analysis".

    Examples
    --------
    >>> import flowopt
    >>> validate_document(flowopt.analyze(flowopt.datasets.example_log()).to_dict())
    >>> validate_document({"schema_version": "1"})
    Traceback (most recent call last):
    ...
    flowopt.errors.SchemaError: The analysis document does not match its schema (flowopt/report/schema.json): ...
    """
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - jsonschema ships with the dev extra
        raise MissingDependencyError("validate_document needs the 'jsonschema' package: pip install jsonschema") from None
    kind = kind or (doc.get("document") if isinstance(doc, Mapping) else None) or "analysis"
    schema = load_schema(kind)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(doc), key=lambda e: (list(e.absolute_path), e.message))
    if errors:
        shown = "; ".join(f"at /{'/'.join(str(p) for p in err.absolute_path)}: {err.message[:200]}"
                          for err in errors[:5])
        more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
        raise SchemaError(f"The {kind} document does not match its schema (flowopt/report/{_FILES[kind]}): "
                          f"{shown}{more}.")
