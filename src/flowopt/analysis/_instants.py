"""Every row's instant — its start where known, else its end — and the rows in instant order.

Several steps of the wait-cause split need the rows of each group (an activity, a resource) in time order: the
batch detector by activity, the contention sweep by resource. Each used to sort the whole log by group and time;
now the log is sorted by time once (:func:`instant_order`) and each grouping is one stable pass over the group
codes of that order (:func:`by_group_then_instant`), a radix sort when the codes fit 16 bits. Nothing is cached:
the wait split computes the order, passes it on and lets it go (two arrays of the log's length).
"""

from __future__ import annotations

import numpy as np

from flowopt._sorting import code_order, group_time_order
from flowopt.discovery._kernels import NAT
from flowopt.log import EventLog

__all__ = ["by_group_then_instant", "instant_order"]


def instant_order(log: EventLog) -> tuple[np.ndarray, np.ndarray]:
    """``(inst, order)``: each row's instant (int64 ns: the start where known, else the end) and the rows by
    instant, ties in row order.

    Examples
    --------
    >>> import flowopt
    >>> inst, order = instant_order(flowopt.datasets.example_log())
    >>> bool((np.diff(inst[order]) >= 0).all())
    True
    """
    c = log.codes()
    inst = np.where(c.start != NAT, c.start, c.end)
    return inst, group_time_order(np.zeros(inst.shape[0], dtype=np.int8), inst)


def by_group_then_instant(order: np.ndarray, group: np.ndarray, n_groups: int,
                          mask: np.ndarray | None = None) -> np.ndarray:
    """``np.lexsort((inst, group))`` of the rows where ``mask`` holds (all rows when ``None``), from ``order``
    (:func:`instant_order`): the rows by ``group`` (non-negative codes below ``n_groups`` on those rows), then
    instant, ties in row order.

    Examples
    --------
    >>> import flowopt
    >>> log = flowopt.datasets.example_log()
    >>> act = log.codes().activity
    >>> inst, order = instant_order(log)
    >>> bool((by_group_then_instant(order, act, len(log.activities)) == np.lexsort((inst, act))).all())
    True
    """
    rows = order if mask is None else order[mask[order]]
    out: np.ndarray = rows[code_order(group[rows], n_groups)]
    return out
