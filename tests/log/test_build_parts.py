"""Pieces of the log builder that must not depend on how rows are ordered or which route they came by."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from flowopt.log._build import _maybe_numeric

VALUES = ["1", "2.5", "-3", "+5", "0012", "1e5", "5.", ".5", "0x10", "0X1", "nan", "NaN", "inf", "1e500", " 5", "1_000",
          "١٢", "abc", "", "9223372036854775808", "-0"]


def _same(a: pd.Series, b: pd.Series) -> None:
    assert str(a.dtype) == str(b.dtype)
    pd.testing.assert_series_equal(a, b, check_exact=True)


@settings(max_examples=150, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.sampled_from(VALUES)), min_size=1, max_size=40),
       arrow=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_numeric_conversion_then_reorder_is_reorder_then_conversion(values: list[str | None], arrow: bool,
                                                                     seed: int) -> None:
    col = pd.Series(values, dtype=pd.StringDtype("pyarrow") if arrow else object, name="x")
    order = np.random.default_rng(seed).permutation(len(col))
    _same(_maybe_numeric(col).iloc[order].reset_index(drop=True),
          _maybe_numeric(col.iloc[order].reset_index(drop=True)))


def test_the_quick_look_does_not_depend_on_the_order() -> None:
    # an odd value after the first 2000 in file order but first in the final order (and the reverse)
    for odd in VALUES:
        for arrow in (True, False):
            col = pd.Series([str(i) for i in range(3000)], dtype=pd.StringDtype("pyarrow") if arrow else object)
            col.iloc[2500] = odd
            order = np.r_[2500, np.arange(2500), np.arange(2501, 3000)]
            for o in (order, np.argsort(order)):
                _same(_maybe_numeric(col).iloc[o].reset_index(drop=True),
                      _maybe_numeric(col.iloc[o].reset_index(drop=True)))
