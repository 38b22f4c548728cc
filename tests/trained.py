"""What several test modules build the same way, built once per test process: the example loan
history and models trained on its first rows. Imported as ``from trained import ...``.

Everything here is shared: a test may read it, never change it. A test that changes a model
(its card, its fields) takes ``copy.deepcopy`` of it, or trains its own."""

from __future__ import annotations

import functools

import pandas as pd
from helpers import ROOT
from threadpoolctl import threadpool_limits

from assessment.model.estimator import RiskModel
from assessment.model.training import train_model

HISTORY = ROOT / "sample_projects" / "history" / "loan_history.parquet"


@functools.cache
def _history() -> pd.DataFrame:
    return pd.read_parquet(HISTORY)


def history(rows: int | None = None) -> pd.DataFrame:
    """The example history as ``pd.read_parquet`` gives it (no ``attrs``: its outcomes read as
    real), its first ``rows`` rows if given; a copy of the frame read once, the caller's own."""
    frame = _history()
    return (frame if rows is None else frame.iloc[:rows]).copy()


@functools.cache
def trained(kind: str, rows: int = 3000, **options) -> RiskModel:
    """``train_model`` of ``kind`` on the first ``rows`` rows of :func:`history`, target
    ``defaulted``, with ``options``; trained once per process for the same arguments, with
    OpenMP limited to one thread (what ``train_model`` uses on small data anyway)."""
    with threadpool_limits(limits=1, user_api="openmp"):
        return train_model(history(rows), "defaulted", kind=kind, **options)
