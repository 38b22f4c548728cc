"""Run the screening of chunks here, in a pool of processes, or on a Dask cluster.

Every engine calls the same two functions of :mod:`assessment.screening.records` on each chunk
(``read_records`` then ``screen_records``) and yields the screened chunks in input order, so
the results do not depend on the engine. On Dask the records are a ``dask.dataframe`` built
with ``from_map`` (each worker reads its own chunk) and scored with ``map_partitions``.

Dask and distributed are optional (the ``[dask]`` extra): they are imported here, only when
the ``dask`` engine runs, and :func:`check_engine` names the extra when they are missing.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat

import pandas as pd

from ..errors import AssessmentError
from ..intake.chunks import Chunk
from .records import Settings, cached_model, cached_rules, read_records, screen_records

ENGINES = ("local", "dask")
DASK_EXTRA = ("dask", "dask.dataframe", "distributed")  # pip install 'assessment[dask]'
Progress = Callable[[int, int, int], None]  # (chunks done, chunks in all, rows in the chunk)


def screen_chunk(chunk: Chunk, settings: Settings) -> pd.DataFrame:
    """Read and screen one chunk (what one process does with it)."""
    return screen_records(read_records(chunk, settings.as_of, settings.strict), settings)


def check_engine(engine: str) -> None:
    """Refuse an unknown engine, or the ``dask`` engine without Dask and distributed
    installed (an :class:`AssessmentError` naming the extra), before any work starts."""
    if engine not in ENGINES:
        raise ValueError(f"the 'engine' parameter must be one of {ENGINES}; got {engine!r}")
    if engine == "dask":
        _dask_modules()


def _dask_modules() -> tuple:
    """The ``dask`` and ``distributed`` modules, or an error saying how to install them."""
    try:
        return tuple(importlib.import_module(name) for name in DASK_EXTRA)
    except ImportError as error:
        missing = error.name or "dask"
        raise AssessmentError(
            "the dask engine needs Dask and distributed, which are not installed",
            where="engine 'dask'",
            expected="the optional [dask] extra installed",
            got=f"no module named {missing!r}",
            hint="pip install 'assessment[dask]', or screen with the local engine",
        ) from None


def run_chunks(
    chunks: list[Chunk],
    settings: Settings,
    *,
    engine: str = "local",
    jobs: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> Iterator[pd.DataFrame]:
    """The screened chunks in input order. ``local`` uses ``jobs`` processes (default: the CPU
    count; 1: this process); ``dask`` starts a ``LocalCluster`` of ``jobs`` workers or joins
    the cluster at ``scheduler``."""
    check_engine(engine)
    if not chunks:  # every input refused before reading: no cluster to start
        return
    jobs = jobs or os.cpu_count() or 1
    if engine == "dask":
        parts = _on_dask(chunks, settings, jobs, scheduler)
    elif jobs == 1 or len(chunks) < 2:
        parts = (screen_chunk(chunk, settings) for chunk in chunks)
    else:
        parts = _in_pool(chunks, settings, jobs)
    for done, part in enumerate(parts, start=1):
        if progress is not None:
            progress(done, len(chunks), len(part))
        yield part


def _in_pool(chunks: list[Chunk], settings: Settings, jobs: int) -> Iterator[pd.DataFrame]:
    cached_rules(settings.rules)  # loaded before the workers fork, so they inherit them
    cached_model(settings.model)
    with ProcessPoolExecutor(max_workers=min(jobs, len(chunks))) as pool:
        yield from pool.map(screen_chunk, chunks, repeat(settings))


def _on_dask(
    chunks: list[Chunk], settings: Settings, jobs: int, scheduler: str | None
) -> Iterator[pd.DataFrame]:
    dask, dd, distributed = _dask_modules()
    cluster = None
    if scheduler:
        client = _joined(distributed, scheduler)
    else:
        cluster = distributed.LocalCluster(  # its web server on a free port of this host only:
            n_workers=jobs,  # with None it takes 8787, and warns when another cluster has it
            threads_per_worker=1,
            processes=True,
            dashboard_address="127.0.0.1:0",
        )
        client = distributed.Client(cluster)
    try:
        with dask.config.set({"dataframe.convert-string": False}):  # keep pandas' own types
            yield from _map_partitions(dd, client, chunks, settings)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _joined(distributed, scheduler: str):
    """A client of the running scheduler at ``scheduler``, or an error saying how to reach one
    (Dask waits its connect timeout, 30 s by default, for an address nobody answers)."""
    try:
        return distributed.Client(scheduler)
    except (OSError, TimeoutError, ValueError, TypeError) as error:
        raise AssessmentError(
            "cannot reach the Dask scheduler",
            where=f"--scheduler {scheduler}",
            expected="a running Dask scheduler at this address (tcp://HOST:PORT)",
            got=f"{type(error).__name__}: {error}",
            hint="start one with `dask scheduler` on that host and check the address and port, "
            "or leave out --scheduler to run a local cluster",
        ) from None


def _map_partitions(dd, client, chunks: list[Chunk], settings: Settings) -> Iterator[pd.DataFrame]:
    """Records read on the workers (``from_map`` of ``dd``, ``dask.dataframe``), screened
    there (``map_partitions``); the partitions come back in order. Meta is not enforced:
    partitions differ in their columns."""
    empty = pd.DataFrame({"project_id": pd.Series(dtype=object)})
    records = dd.from_map(
        read_records,
        chunks,
        as_of=settings.as_of,
        strict=settings.strict,
        meta=empty,
        enforce_metadata=False,
    )
    screened = records.map_partitions(screen_records, settings, meta=empty, enforce_metadata=False)
    for future in client.compute(screened.to_delayed()):
        yield future.result()
