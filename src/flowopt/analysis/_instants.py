"""Every row's instant — its start where known, else its end — and the rows in instant order, once per log.

Several detectors need the rows of each group (an activity, a resource) in time order: the batch detector by
activity, the wait-cause split by resource. Each used to sort the whole log by group and time; now the log is
sorted by time once (:func:`instants`, cached per log) and each grouping is one stable pass over the group
codes of that order (:func:`by_group_then_instant`), a radix sort when the codes fit 16 bits.
"""

from __future__ import annotations

import numpy as np

from flowopt._memo import PerObjectCache
from flowopt._sorting import code_order, group_time_order
from flowopt.discovery._kernels import NAT
from flowopt.log import EventLog

__all__ = ["by_group_then_instant", "instants"]

_CACHE: PerObjectCache[tuple[np.ndarray, np.ndarray]] = PerObjectCache()


def instants(log: EventLog) -> tuple[np.ndarray, np.ndarray]:
    """``(inst, order)``: each row's instant (int64 ns: the start where known, else the end) and the rows by
    instant, ties in row order. Read-only; computed once per log.

    Examples
    --------
    >>> import flowopt
    >>> inst, order = instants(flowopt.datasets.example_log())
    >>> bool((np.diff(inst[order]) >= 0).all())
    True
    """
    def compute() -> tuple[np.ndarray, np.ndarray]:
        c = log.codes()
        inst = np.where(c.start != NAT, c.start, c.end)
        order = group_time_order(np.zeros(inst.shape[0], dtype=np.int8), inst)
        for arr in (inst, order):
            arr.setflags(write=False)
        return inst, order

    return _CACHE.get(log, None, compute)


def by_group_then_instant(log: EventLog, group: np.ndarray, n_groups: int,
                          mask: np.ndarray | None = None) -> np.ndarray:
    """``np.lexsort((inst, group))`` of the rows where ``mask`` holds (all rows when ``None``): the rows by
    ``group`` (non-negative codes below ``n_groups`` on those rows), then instant, ties in row order.

    Examples
    --------
    >>> import flowopt
    >>> log = flowopt.datasets.example_log()
    >>> act = log.codes().activity
    >>> inst, _ = instants(log)
    >>> bool((by_group_then_instant(log, act, len(log.activities)) == np.lexsort((inst, act))).all())
    True
    """
    _, order = instants(log)
    rows = order if mask is None else order[mask[order]]
    out: np.ndarray = rows[code_order(group[rows], n_groups)]
    return out
