"""The fast reading routes give exactly what the general ones give: Parquet read without the dataset machinery."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from flowopt.datasets import generate_lending_log
from flowopt.io._sources import _read_parquet_file


def _frames(tmp_path: Path) -> dict[str, pd.DataFrame]:
    f = generate_lending_log(60, seed=2).frame
    naive = f.assign(start=f["start"].dt.tz_localize(None), end=f["end"].dt.tz_localize(None))
    plain = f.astype({c: object for c in ("case_id", "activity", "resource")})
    return {"typed": f, "naive": naive, "plain": plain, "indexed": f.set_index(f.index * 3 + 1)}


@pytest.mark.parametrize("name", ["typed", "naive", "plain", "indexed"])
@pytest.mark.parametrize("row_group_size", [None, 1, 37])  # one row group; many (read in two halves)
def test_parquet_file_route_reads_what_read_table_reads(tmp_path: Path, name: str,
                                                         row_group_size: int | None) -> None:
    frame = _frames(tmp_path)[name]
    folder = tmp_path / "year=2024"  # a hive-style folder name must not add a partition column
    folder.mkdir()
    path = folder / f"{name}.parquet"
    frame.to_parquet(path, row_group_size=row_group_size)
    ours, theirs = _read_parquet_file(path), pq.read_table(path)
    assert ours.equals(theirs) and ours.schema.equals(theirs.schema, check_metadata=True)
    a = ours.to_pandas(split_blocks=True, self_destruct=True)
    b = theirs.to_pandas(split_blocks=True, self_destruct=True)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    for c in a.columns:
        if isinstance(a[c].dtype, pd.CategoricalDtype):  # the same categories in the same order
            assert list(a[c].cat.categories) == list(b[c].cat.categories)
