"""Every notebook in ``notebooks/`` runs top to bottom on a fresh kernel and shows at least one plot.

Executed with nbclient on the ``python3`` kernel of this interpreter (registered with ipykernel when
missing), with ``notebooks/`` as the working directory, as Jupyter would run them. A cell error fails
the test with the cell's source and traceback. The real-log notebooks need ``../shared/data``; they
are skipped, with the reason, when it is not there.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from _paths import CANDIDATES

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
DATA_DIRS = CANDIDATES
NEEDS = {
    "02_loan_applications_bpic2012.ipynb": "bpic2012.xes.gz",
    "03_signoff_chains_bpic2020.ipynb": "DomesticDeclarations.xes.gz",
}
IMAGE_TYPES = ("image/png", "image/svg+xml", "image/jpeg")
CELL_TIMEOUT_S = 300

pytestmark = pytest.mark.slow


def _notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def _kernel_name() -> str:
    """The ``python3`` kernel, registered for this interpreter (sys.prefix) when it is missing."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec("python3")
        if Path(spec.argv[0]).name.startswith("python"):
            return "python3"
    except NoSuchKernel:
        pass
    from ipykernel.kernelspec import install

    install(prefix=sys.prefix, kernel_name="python3")
    return "python3"


def test_there_are_four_notebooks() -> None:
    names = [p.name for p in _notebooks()]
    assert names == ["01_quickstart.ipynb", "02_loan_applications_bpic2012.ipynb",
                     "03_signoff_chains_bpic2020.ipynb", "04_weekly_scoring.ipynb"]


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.stem)
def test_notebook_runs_and_plots(path: Path) -> None:
    needed = NEEDS.get(path.name)
    if needed and not any((d / needed).exists() for d in DATA_DIRS):
        pytest.skip(f"{needed} not found in ../shared/data")
    nb = nbformat.read(path, as_version=4)
    committed = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert sum(len(str(o)) for o in committed) < 200_000, "clear large outputs before committing"
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name=_kernel_name(),
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    t0 = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as exc:  # the message holds the cell's source and the traceback
        pytest.fail(f"{path.name} failed:\n{exc}", pytrace=False)
    elapsed = time.perf_counter() - t0
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    errors = [o for o in outputs if o.get("output_type") == "error"]
    assert not errors, f"{path.name}: {errors[0].get('ename')}: {errors[0].get('evalue')}"
    images = [o for o in outputs if o.get("output_type") in ("display_data", "execute_result")
              and any(t in o.get("data", {}) for t in IMAGE_TYPES)]
    assert images, f"{path.name} produced no process map or chart"
    assert elapsed < 240, f"{path.name} took {elapsed:.0f} s; keep notebooks quick"
