"""Scale-out on Dask: a ``LocalCluster`` on this machine's cores by default, or a running Dask cluster.

Every sweep of the project takes a ``mapper(func, items) -> list`` (serial by default: ``list(map(...))``); this
module supplies one that runs the items as Dask tasks and returns the results in the items' order, so a sweep
gives identical numbers serially and on any cluster (each item carries its own seeds).

Where the scheduler comes from (first that is set): the ``scheduler`` argument (``--scheduler ADDRESS`` of the
commands), the environment variable ``MRAM_DASK_SCHEDULER``, else a new ``LocalCluster`` with one single-threaded
worker process per core. A two-host cluster::

    host A:  dask scheduler                          # prints tcp://A:8786
    host A:  dask worker tcp://A:8786 --nthreads 1 --nworkers 2
    host B:  dask worker tcp://A:8786 --nthreads 1 --nworkers 2
    anywhere: mram-accel exhaustive bf16_mul --scheduler tcp://A:8786

Each worker host needs the project installed (``pip install -e .``) in the same place relative to its working
directory; a worker that runs a Verilator job builds the model once under its ``build/`` and reuses it (the
build cache is keyed by the Verilog, so concurrent workers of one host share one build under a file lock).
"""

from __future__ import annotations

import contextlib
import os
from typing import Callable, Iterable, Iterator

__all__ = ["ENV_SCHEDULER", "serial_mapper", "dask_client", "dask_mapper", "mapper_for"]

ENV_SCHEDULER = "MRAM_DASK_SCHEDULER"


def serial_mapper(func: Callable, items: Iterable, progress=None, on_result=None) -> list:
    """The serial reference: ``[func(x) for x in items]``; ``progress(iterable, total=)`` wraps the loop (a
    progress bar) and ``on_result(result)`` sees each result as it completes (e.g. to record it)."""
    items = list(items)
    out = []
    for x in (progress(items, total=len(items)) if progress else items):
        out.append(func(x))
        if on_result is not None:
            on_result(out[-1])
    return out


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None) -> Iterator:
    """A ``distributed.Client``: to ``scheduler`` (or ``$MRAM_DASK_SCHEDULER``), else to a new ``LocalCluster``
    with ``workers`` single-threaded worker processes (default: the machine's cores). Closed on exit."""
    from distributed import Client, LocalCluster

    address = scheduler or os.environ.get(ENV_SCHEDULER) or None
    if address:
        client = Client(address, timeout="20s")
        try:
            yield client
        finally:
            client.close()
        return
    n = workers or os.cpu_count() or 1
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=40) as cluster, Client(cluster) as client:
        yield client


def dask_mapper(client) -> Callable:
    """``mapper(func, items, progress=None, on_result=None) -> list``: one Dask task per item, results in the
    items' order (``on_result`` is called in completion order, in this process)."""

    def mapper(func: Callable, items: Iterable, progress=None, on_result=None) -> list:
        from distributed import as_completed

        items = list(items)
        futures = client.map(func, items, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        out = [None] * len(items)
        done = as_completed(futures)
        for fut in (progress(done, total=len(items)) if progress else done):
            out[index[fut.key]] = fut.result()
            if on_result is not None:
                on_result(out[index[fut.key]])
        return out

    return mapper


@contextlib.contextmanager
def mapper_for(scheduler: str | None = None, workers: int | None = None, serial: bool = False) -> Iterator:
    """A mapper: serial when ``serial``, else on Dask (:func:`dask_client`)."""
    if serial:
        yield serial_mapper
        return
    with dask_client(scheduler, workers) as client:
        yield dask_mapper(client)
