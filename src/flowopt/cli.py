"""The ``flowopt`` command line: analyze, validate, score, compare, render.

Exit codes: 0 done; 1 error (one paragraph on stderr naming the file and the fix; a traceback only
with ``--debug``); 2 usage error; 3 done, but an alert threshold was crossed (``score``).

Examples
--------
>>> from flowopt.cli import main
>>> main(["--version"])  # doctest: +ELLIPSIS
flowopt ...
0
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

__all__ = ["build_parser", "main"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_ALERT = 0, 1, 2, 3


# --------------------------------------------------------------------------- console helpers
class _Console:
    """Progress on stderr when it is a terminal (rich when installed), one-line warnings, messages."""

    def __init__(self, quiet: bool = False, err: TextIO | None = None) -> None:
        self.err = err or sys.stderr
        self.quiet = quiet
        self.interactive = not quiet and hasattr(self.err, "isatty") and self.err.isatty()

    @contextmanager
    def step(self, text: str) -> Iterator[None]:
        if not self.interactive:
            yield
            return
        try:
            from rich.console import Console
        except ImportError:
            print(f"{text} …", file=self.err, flush=True)
            yield
            return
        with Console(file=self.err).status(text):
            yield

    def warn(self, message: str) -> None:
        print("warning: " + " ".join(str(message).split()), file=self.err)

    def info(self, message: str) -> None:
        if not self.quiet:
            print(message, file=self.err)


@contextmanager
def _one_line_warnings(console: _Console) -> Iterator[None]:
    """Turn flowopt's warnings (e.g. RowsDroppedWarning) into one stderr line each, not a warnings dump."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            seen: set[str] = set()
            for w in caught:
                msg = str(w.message)
                if msg in seen or issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning)):
                    continue
                seen.add(msg)
                console.warn(msg)


def _resolve_log(arg: str) -> str:
    if arg == "example":
        from flowopt.datasets import example_log_path

        return example_log_path()
    return arg


_PRIVACY: dict[str, Any] = {"on": False, "key_file": None}


def _read(arg: str, config: str | None, console: _Console) -> Any:
    log = _read_raw(arg, config, console)
    if _PRIVACY["on"]:
        from flowopt._privacy import key_from_env, pseudonymize

        with console.step("Pseudonymising case ids and resources"):
            log = pseudonymize(log, key_from_env(file=_PRIVACY["key_file"]))
    return log


def _read_raw(arg: str, config: str | None, console: _Console) -> Any:
    import flowopt

    if arg == "example" and config is None:
        from flowopt.datasets import example_config_path

        config = example_config_path()  # the example's own columns, protected controls, costs and SLA
    with console.step(f"Reading {arg}"), _one_line_warnings(console):
        return flowopt.read_log(_resolve_log(arg), config)


def _write(path: str, data: str | bytes, console: _Console) -> None:
    from flowopt._atomic import atomic_write

    atomic_write(path, data)
    console.info(f"wrote {path}")


def _json_text(doc: Any) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def _validated(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    try:
        from flowopt.report import validate_document
        validate_document(doc, kind)  # type: ignore[arg-type]
    except ImportError:  # jsonschema missing: write the document anyway
        pass
    return doc


# --------------------------------------------------------------------------- commands
def _cmd_analyze(args: argparse.Namespace, console: _Console) -> int:
    import flowopt
    from flowopt.report import to_html, to_markdown

    log = _read(args.log, args.config, console)
    with console.step("Analysing"), _one_line_warnings(console):
        analysis = flowopt.analyze(log)
    doc = _validated(analysis.to_dict(), "analysis")
    if args.json:
        _write(args.json, _json_text(doc), console)
    if args.html:
        with console.step("Rendering the HTML report"), _one_line_warnings(console):
            page = to_html(analysis, lang=args.lang, log=log)
        _write(args.html, page, console)
    if args.md:
        _write(args.md, to_markdown(analysis, lang=args.lang), console)
    if args.svg:
        with console.step("Drawing the process map"):
            _write(args.svg, analysis.graph.to_svg(), console)
    if not (args.json or args.html or args.md or args.svg):
        sys.stdout.write(to_markdown(analysis, lang=args.lang))
    else:
        console.info(f"{analysis!r}")
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace, console: _Console) -> int:
    from flowopt.report import to_safe_csv

    log = _read(args.log, args.config, console)
    q = log.quarantine
    out = sys.stdout
    print(f"{log.source}: {log.rows_in:,} rows read; {log.rows_used:,} kept as {len(log):,} events in "
          f"{log.n_cases:,} cases ({len(log.activities):,} activities); {len(q):,} rows quarantined.", file=out)
    cols = log.mapping
    print("columns: " + ", ".join(f"{k}={v}" for k, v in sorted(cols.items())), file=out)
    if len(q):
        counts = q["reason"].value_counts().sort_index()
        for reason, n in counts.items():
            print(f"\n{reason}: {int(n):,} row(s); examples:", file=out)
            ex = q[q["reason"] == reason].head(3)
            for rec in ex.to_dict(orient="records"):
                row = rec.get("row", "?")
                detail = rec.get("detail", "")
                print(f"  row {row}: {reason}" + (f" — {' '.join(str(detail).split())}" if detail else ""), file=out)
    if args.quarantine_out:
        _write(args.quarantine_out, to_safe_csv(q), console)
    return EXIT_OK


def _cmd_score(args: argparse.Namespace, console: _Console) -> int:
    from flowopt.history import score
    from flowopt.report import score_markdown

    log = _read(args.log, args.config, console)
    with console.step("Scoring against the history"), _one_line_warnings(console):
        result = score(log, args.history, period=args.period, config=args.config)
    doc = _validated(result.to_dict(), "score")
    if args.json:
        _write(args.json, _json_text(doc), console)
    md = score_markdown(doc, lang=args.lang)
    if args.md:
        _write(args.md, md, console)
    if not args.quiet:
        sys.stdout.write(md)
    for alert in result.alerts:
        print(f"alert: {alert.message}", file=console.err)
    return result.exit_code


def _load_side(arg: str, config: str | None, console: _Console) -> dict[str, Any]:
    import flowopt

    if arg != "example" and arg.lower().endswith(".json"):
        try:
            doc = json.loads(Path(arg).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            from flowopt.errors import SchemaError

            raise SchemaError(f"{arg} is not valid JSON ({exc}). Pass an analysis document written by "
                              f"`flowopt analyze --json` or an event log.", source=arg) from None
        from flowopt.report import validate_document

        validate_document(doc, "analysis")
        return dict(doc)
    log = _read(arg, config, console)
    with console.step(f"Analysing {arg}"), _one_line_warnings(console):
        return flowopt.analyze(log).to_dict()


def _cmd_compare(args: argparse.Namespace, console: _Console) -> int:
    from flowopt.history import compare
    from flowopt.report import comparison_markdown

    before = _load_side(args.before, args.config, console)
    after = _load_side(args.after, args.config, console)
    doc = _validated(compare(before, after).to_dict(), "comparison")
    if args.json:
        _write(args.json, _json_text(doc), console)
    md = comparison_markdown(doc, lang=args.lang)
    if args.md:
        _write(args.md, md, console)
    if not args.quiet:
        sys.stdout.write(md)
    return EXIT_OK


def _stage_graph(log: Any) -> Any:
    """The stage view as a ProcessGraph (stages as nodes), so the same renderer draws it."""
    import pandas as pd

    import flowopt
    from flowopt.discovery import END, START

    sv = flowopt.discover_stages(log)
    st = sv.stages
    nodes = pd.DataFrame({"activity": st["stage"], "stage": st["stage"], "count": st["visits"],
                          "service_median_s": st["time_in_median_s"]})
    edges = sv.transitions[["source", "target", "count", "wait_median_s", "wait_p90_s"]].copy()
    g = flowopt.discover_graph(log)
    stage_of = {a: log.stage_of(a) for a in log.activities}
    ends = g.edges[(g.edges["source"] == START) | (g.edges["target"] == END)].copy()
    ends["source"] = ends["source"].map(lambda a: stage_of.get(a, a))
    ends["target"] = ends["target"].map(lambda a: stage_of.get(a, a))
    ends = ends.groupby(["source", "target"], as_index=False)["count"].sum()
    edges = pd.concat([edges, ends.assign(wait_median_s=float("nan"), wait_p90_s=float("nan"))], ignore_index=True)
    return flowopt.ProcessGraph(nodes=nodes, edges=edges, wait_basis=g.wait_basis, n_cases=g.n_cases,
                                n_events=g.n_events)


def _cmd_render(args: argparse.Namespace, console: _Console) -> int:
    import flowopt
    from flowopt.discovery import render_dot, render_png, render_svg

    log = _read(args.log, args.config, console)
    graph = _stage_graph(log) if args.stages else flowopt.discover_graph(log)
    if not (args.svg or args.png or args.dot):
        sys.stdout.write(render_dot(graph) + "\n")
        return EXIT_OK
    if args.dot:
        _write(args.dot, render_dot(graph) + "\n", console)
    with console.step("Drawing the process map"):
        if args.svg:
            _write(args.svg, render_svg(graph), console)
        if args.png:
            _write(args.png, render_png(graph), console)
    return EXIT_OK


# --------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``flowopt``."""
    from flowopt import __version__
    from flowopt._compiled import available

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", help="TOML configuration (columns, stages, sign-offs, alerts)")
    common.add_argument("--quiet", action="store_true", help="no progress or 'wrote' messages")
    common.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    common.add_argument("--lang", choices=("en", "zh"), default="en", help="report language (default: en)")
    common.add_argument("--pseudonymize", action="store_true",
                        help="replace case ids, resource names and customer/user identifiers by keyed hashes in every "
                             "output (key from $FLOWOPT_PSEUDONYM_KEY or --pseudonym-key-file)")
    common.add_argument("--pseudonym-key-file", metavar="FILE", help="file holding the pseudonymisation key")

    p = argparse.ArgumentParser(prog="flowopt", description="Process mining for service flows: find bottlenecks, "
                                "redundant sign-offs and waits, and estimate what each simplification saves.",
                                epilog="LOG may be the word 'example' for the bundled example log. Exit codes: "
                                "0 done, 1 error, 2 usage error, 3 alert threshold crossed (score).")
    loops = "compiled loops" if available() else "no compiled loops: NumPy versions, slower on large logs (reinstall " \
        "with a C compiler and the Python headers)"
    p.add_argument("--version", action="version", version=f"flowopt {__version__} ({loops})")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    a = sub.add_parser("analyze", parents=[common], help="analyse a log; write JSON, HTML, Markdown, SVG")
    a.add_argument("log", metavar="LOG")
    a.add_argument("--json", metavar="OUT", help="analysis document (JSON)")
    a.add_argument("--html", metavar="OUT", help="self-contained HTML report")
    a.add_argument("--md", metavar="OUT", help="Markdown summary")
    a.add_argument("--svg", metavar="OUT", help="process map (SVG; needs Graphviz)")
    a.set_defaults(func=_cmd_analyze)

    v = sub.add_parser("validate", parents=[common], help="what would be kept and what quarantined, and why")
    v.add_argument("log", metavar="LOG")
    v.add_argument("--quarantine-out", metavar="FILE.csv", help="write the quarantined rows (spreadsheet-safe CSV)")
    v.set_defaults(func=_cmd_validate)

    s = sub.add_parser("score", parents=[common], help="score a period against the history; exit 3 on alerts")
    s.add_argument("log", metavar="LOG")
    s.add_argument("--history", metavar="STORE", required=True, help="history store file (DuckDB)")
    s.add_argument("--period", metavar="LABEL", help="period label (default: ISO week of the last event)")
    s.add_argument("--json", metavar="OUT")
    s.add_argument("--md", metavar="OUT")
    s.set_defaults(func=_cmd_score)

    c = sub.add_parser("compare", parents=[common], help="before/after of two logs or two analysis JSON files")
    c.add_argument("before", metavar="A")
    c.add_argument("after", metavar="B")
    c.add_argument("--json", metavar="OUT")
    c.add_argument("--md", metavar="OUT")
    c.set_defaults(func=_cmd_compare)

    r = sub.add_parser("render", parents=[common], help="draw the process map (DOT to stdout by default)")
    r.add_argument("log", metavar="LOG")
    r.add_argument("--svg", metavar="OUT")
    r.add_argument("--png", metavar="OUT")
    r.add_argument("--dot", metavar="OUT")
    r.add_argument("--stages", action="store_true", help="draw the stage view instead of activities")
    r.set_defaults(func=_cmd_render)
    return p


def _error(console: _Console, text: str) -> None:
    print("flowopt: error: " + " ".join(text.split()), file=console.err)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (``console_scripts`` passes it to ``sys.exit``)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version -> 0, usage error -> 2
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_USAGE
    console = _Console(quiet=args.quiet)
    _PRIVACY["on"] = bool(getattr(args, "pseudonymize", False))
    _PRIVACY["key_file"] = getattr(args, "pseudonym_key_file", None)
    if _PRIVACY["key_file"] and not _PRIVACY["on"]:
        _error(console, "--pseudonym-key-file is only used together with --pseudonymize; add --pseudonymize.")
        return EXIT_USAGE
    func: Callable[[argparse.Namespace, _Console], int] = args.func
    from flowopt.errors import FlowoptError

    try:
        return func(args, console)
    except FlowoptError as exc:
        if args.debug:
            traceback.print_exc()
        _error(console, f"{exc}")
        return EXIT_ERROR
    except OSError as exc:
        if args.debug:
            traceback.print_exc()
        where = exc.filename or "a file"
        _error(console, f"cannot access {where}: {exc.strerror or exc}. Check that the path exists, is spelled "
                        f"right and that you may read (or write) it.")
        return EXIT_ERROR
    except KeyboardInterrupt:
        _error(console, "interrupted.")
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence of a command line
        if args.debug:
            traceback.print_exc()
        _error(console, f"unexpected {type(exc).__name__}: {exc}")
        print("This is a bug in flowopt: rerun with --debug and report the traceback.", file=console.err)
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
