"""Inline SVG charts (no JavaScript, no network): histogram, bars with a line, area over time.

Every text drawn comes through :func:`~flowopt.report._escape.escape_html`, so names from the log
stay text. Charts are plain SVG 1.1 that any browser and most e-mail clients show.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from flowopt.report._escape import escape_html as esc

__all__ = ["bars_svg", "histogram_svg", "timeline_svg", "trend_svg"]

_W, _H = 1000, 240
_L, _R, _T, _B = 60, 60, 14, 44
_BLUE, _RED, _GREY = "#3b6ea5", "#c0392b", "#8a8a8a"


def _frame(title: str, body: list[str], width: int = _W, height: int = _H) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" aria-label="{esc(title)}">'
            f"<title>{esc(title)}</title>" + "".join(body) + "</svg>")


def _nice(hi: float) -> float:
    if not np.isfinite(hi) or hi <= 0:
        return 1.0
    mag = 10 ** np.floor(np.log10(hi))
    for m in (1, 2, 4, 6, 8, 10):  # a quarter of each is a round tick step
        if hi <= m * mag:
            return float(m * mag)
    return float(10 * mag)


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 10 or v == 0 else f"{v:.1f}"


def _yaxis(top: float, x: float, label: str, colour: str = "#555", anchor: str = "end") -> list[str]:
    out = []
    ph = _H - _T - _B
    for k in range(5):
        v = top * k / 4
        y = _H - _B - ph * k / 4
        if anchor == "end":
            out.append(f'<line x1="{_L}" x2="{_W - _R}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        dx = -4 if anchor == "end" else 4
        out.append(f'<text x="{x + dx:.1f}" y="{y + 3:.1f}" text-anchor="{anchor}" fill="{colour}" '
                   f'class="tick">{esc(_fmt(v))}</text>')
    tx = 12 if anchor == "end" else _W - 10
    out.append(f'<text transform="translate({tx},{_H / 2:.0f}) rotate(-90)" text-anchor="middle" '
               f'fill="{colour}" class="tick">{esc(label)}</text>')
    return out


def histogram_svg(values_s: np.ndarray, *, title: str, xlabel: str, ylabel: str, bins: int = 20) -> str:
    """Histogram of waits (seconds, shown in hours) up to the 95th percentile; the rest in one last bar.

    Examples
    --------
    >>> import numpy as np
    >>> svg = histogram_svg(np.array([3600.0, 7200, 90000]), title="<a>", xlabel="h", ylabel="share")
    >>> svg.startswith("<svg"), "<a>" in svg, "&lt;a&gt;" in svg
    (True, False, True)
    """
    v = np.asarray(values_s, dtype=float) / 3600.0
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return _frame(title, [f'<text x="{_W / 2}" y="{_H / 2}" text-anchor="middle">–</text>'])
    hi = float(np.percentile(v, 95))
    hi = _nice(hi if hi > 0 else float(v.max()) or 1.0)
    edges = np.linspace(0.0, hi, bins + 1)
    counts, _ = np.histogram(np.clip(v, 0, hi), bins=edges)
    over = int((v > hi).sum())
    counts[-1] -= over
    shares = np.append(counts, over) / len(v)
    top = _nice(float(shares.max()) * 100)
    pw, ph = _W - _L - _R, _H - _T - _B
    bw = pw / (bins + 1)
    body = _yaxis(top, _L, ylabel + " (%)")
    for i, s in enumerate(shares):
        h = ph * (s * 100) / top
        colour = _RED if i == bins else _BLUE
        body.append(f'<rect x="{_L + i * bw + 1:.1f}" y="{_H - _B - h:.1f}" width="{bw - 2:.1f}" '
                    f'height="{h:.1f}" fill="{colour}"><title>{esc(f"{s:.1%}")}</title></rect>')
    for k in range(0, bins, max(bins // 5, 1)):
        x = _L + k * bw
        body.append(f'<text x="{x:.1f}" y="{_H - _B + 14}" text-anchor="middle" class="tick">'
                    f'{esc(_fmt(edges[k]))}</text>')
    body.append(f'<text x="{_L + bins * bw + bw / 2:.1f}" y="{_H - _B + 14}" text-anchor="middle" class="tick">'
                f'&gt;{esc(_fmt(hi))}</text>')
    body.append(f'<text x="{_L + pw / 2:.1f}" y="{_H - 8}" text-anchor="middle" class="tick">{esc(xlabel)}</text>')
    return _frame(title, body)


def trend_svg(weeks: Sequence[pd.Timestamp], bars: Sequence[float], line: Sequence[float], *, title: str,
              bar_label: str, line_label: str) -> str:
    """Bars (e.g. cases completed per week, left axis) with a line (e.g. median days, right axis)."""
    n = len(weeks)
    if n == 0:
        return _frame(title, [f'<text x="{_W / 2}" y="{_H / 2}" text-anchor="middle">–</text>'])
    b = np.asarray(bars, dtype=float)
    ln = np.asarray(line, dtype=float)
    tb = _nice(float(np.nanmax(b)) if len(b) else 1.0)
    tl = _nice(float(np.nanmax(ln)) if np.isfinite(ln).any() else 1.0)
    pw, ph = _W - _L - _R, _H - _T - _B
    bw = pw / n
    body = _yaxis(tb, _L, bar_label, _BLUE) + _yaxis(tl, _W - _R, line_label, _RED, anchor="start")
    pts = []
    step = max(n // 8, 1)
    for i in range(n):
        h = ph * b[i] / tb
        x = _L + i * bw
        body.append(f'<rect x="{x + 1:.1f}" y="{_H - _B - h:.1f}" width="{max(bw - 2, 1):.1f}" height="{h:.1f}" '
                    f'fill="{_BLUE}" opacity="0.55"><title>{esc(f"{weeks[i]:%Y-%m-%d}: {b[i]:,.0f}")}</title></rect>')
        if np.isfinite(ln[i]):
            pts.append(f"{x + bw / 2:.1f},{_H - _B - ph * ln[i] / tl:.1f}")
        if i % step == 0:
            body.append(f'<text x="{x + bw / 2:.1f}" y="{_H - _B + 14}" text-anchor="middle" class="tick">'
                        f'{esc(f"{weeks[i]:%m-%d}")}</text>')
    if pts:
        body.append(f'<polyline points="{" ".join(pts)}" fill="none" stroke="{_RED}" stroke-width="2"/>')
        body.extend(f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="2.5" fill="{_RED}"/>' for p in pts)
    return _frame(title, body)


def timeline_svg(days: Sequence[pd.Timestamp], values: Sequence[float], *, title: str, ylabel: str) -> str:
    """An area chart of a daily series (e.g. open cases)."""
    n = len(days)
    if n == 0:
        return _frame(title, [f'<text x="{_W / 2}" y="{_H / 2}" text-anchor="middle">–</text>'])
    v = np.asarray(values, dtype=float)
    top = _nice(float(v.max()) if len(v) else 1.0)
    pw, ph = _W - _L - _R, _H - _T - _B
    xs = _L + (np.arange(n) + 0.5) * pw / n
    ys = _H - _B - ph * v / top
    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
    body = _yaxis(top, _L, ylabel)
    body.append(f'<polygon points="{xs[0]:.1f},{_H - _B} {pts} {xs[-1]:.1f},{_H - _B}" fill="{_BLUE}" '
                f'opacity="0.35"/>')
    body.append(f'<polyline points="{pts}" fill="none" stroke="{_BLUE}" stroke-width="1.5"/>')
    for i in np.linspace(0, n - 1, min(n, 7)).astype(int):
        body.append(f'<text x="{xs[i]:.1f}" y="{_H - _B + 14}" text-anchor="middle" class="tick">'
                    f'{esc(f"{days[i]:%Y-%m-%d}")}</text>')
    return _frame(title, body)


def bars_svg(labels: Sequence[str], a: Sequence[float], b: Sequence[float], *, title: str, a_label: str,
             b_label: str) -> str:
    """Horizontal paired bars (e.g. median and p90 wait per edge); labels are escaped."""
    n = len(labels)
    row = 26
    height = _T + 20 + n * row + 10
    left = 380
    width = _W
    va = np.nan_to_num(np.asarray(a, dtype=float))
    vb = np.nan_to_num(np.asarray(b, dtype=float))
    top = _nice(float(max(va.max(initial=0), vb.max(initial=0))))
    pw = width - left - 70
    body = [(f'<rect x="{left}" y="{_T}" width="10" height="8" fill="{_BLUE}"/>'
             f'<text x="{left + 14}" y="{_T + 8}" class="tick">{esc(a_label)}</text>'
             f'<rect x="{left + 200}" y="{_T}" width="10" height="8" fill="{_RED}"/>'
             f'<text x="{left + 214}" y="{_T + 8}" class="tick">{esc(b_label)}</text>')]
    for i in range(n):
        y = _T + 16 + i * row
        lab = str(labels[i])
        short = lab if len(lab) <= 64 else lab[:63] + "…"
        body.append(f'<text x="{left - 6}" y="{y + 12}" text-anchor="end" class="tick"><title>{esc(lab)}</title>'
                    f'{esc(short)}</text>')
        wa, wb = pw * va[i] / top, pw * vb[i] / top
        body.append(f'<rect x="{left}" y="{y + 1}" width="{wa:.1f}" height="9" fill="{_BLUE}"/>')
        body.append(f'<rect x="{left}" y="{y + 11}" width="{wb:.1f}" height="9" fill="{_RED}"/>')
        body.append(f'<text x="{left + max(wa, wb) + 4:.1f}" y="{y + 16}" class="tick">'
                    f'{esc(_fmt(va[i]))} / {esc(_fmt(vb[i]))}</text>')
    return _frame(title, body, width, height)
