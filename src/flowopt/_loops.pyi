"""Type stubs of the compiled extension (source: _loops.pyx)."""

import numpy as np

def contention(S: np.ndarray, E: np.ndarray, C: np.ndarray, EN: np.ndarray, bounds: np.ndarray, qa: np.ndarray,
               qb: np.ndarray, qc: np.ndarray, qe: np.ndarray, qw: np.ndarray, q_bounds: np.ndarray,
               multi_share: float, cont: np.ndarray, prio: np.ndarray, shared: np.ndarray) -> None: ...
def retime(hit: np.ndarray, bounds: np.ndarray, a_begin: np.ndarray, a_end: np.ndarray, act: np.ndarray,
           drop: np.ndarray, run: np.ndarray, advance: np.ndarray, cal_idx: np.ndarray, masks: np.ndarray, off: float,
           release: np.ndarray, rel_mode: int, rel_latency: float, rel_tod: float, origin_s: float,
           rel_weekdays: np.ndarray, begin: np.ndarray, end: np.ndarray) -> None: ...
def hours_floor(x: np.ndarray, out: np.ndarray) -> None: ...
def working_ns(cal: np.ndarray, t1: np.ndarray, t2: np.ndarray, prefix: np.ndarray, cells: np.ndarray,
               out: np.ndarray) -> None: ...
