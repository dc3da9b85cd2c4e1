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

A scheduler that cannot be reached within :data:`CONNECT_TIMEOUT_S` seconds (wrong address, nothing listening,
an unknown host) is a ValueError naming where the address came from (``--scheduler`` or ``MRAM_DASK_SCHEDULER``),
so the commands exit 2 with one line instead of a traceback.

Each worker host needs the project installed (``pip install -e .``) in the same place relative to its working
directory; a worker that runs a Verilator job builds the model once under its ``build/`` and reuses it (the
build cache is keyed by the Verilog, so concurrent workers of one host share one build under a file lock).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import Callable, Iterable, Iterator

__all__ = ["ENV_SCHEDULER", "CONNECT_TIMEOUT_S", "scheduler_address", "connect", "serial_mapper", "dask_client",
           "dask_mapper", "mapper_for"]

ENV_SCHEDULER = "MRAM_DASK_SCHEDULER"
#: Seconds to reach a running scheduler before giving up (ours: a reachable scheduler answers within milliseconds
#: on a LAN; 5 s leaves room for a slow link without keeping a user waiting).
CONNECT_TIMEOUT_S = 5


def scheduler_address(scheduler: str | None = None) -> tuple[str | None, str]:
    """The scheduler address to use and where it came from: ``(scheduler, "--scheduler")``, else
    ``($MRAM_DASK_SCHEDULER, "MRAM_DASK_SCHEDULER")``, else ``(None, "")`` (a new LocalCluster)."""
    if scheduler:
        return scheduler, "--scheduler"
    env = os.environ.get(ENV_SCHEDULER, "").strip()
    return (env, ENV_SCHEDULER) if env else (None, "")


def _reachable(address: str, timeout_s: float) -> None:
    """Raise OSError or ValueError unless a TCP connection to the scheduler's host and port opens within
    ``timeout_s`` (name resolution included: it runs in a daemon thread that is abandoned at the deadline).
    Checked before a ``distributed.Client`` exists, because a Client that failed to connect blocks for 10 s in
    its finaliser and prints a traceback."""
    import socket
    import threading

    from distributed.comm.addressing import parse_address, parse_host_port

    scheme, loc = parse_address(address)
    if scheme not in ("tcp", "tls"):
        return                                   # inproc://, ucx://: left to distributed
    host, port = parse_host_port(loc)            # ValueError: no port
    outcome = []

    def attempt():
        try:
            socket.create_connection((host, port), timeout=timeout_s).close()
            outcome.append(None)
        except OSError as e:
            outcome.append(e)

    t = threading.Thread(target=attempt, daemon=True)
    t.start()
    t.join(timeout_s)
    if not outcome:
        raise OSError(f"no answer from {host}:{port}")
    if outcome[0] is not None:
        raise OSError(f"{host}:{port}: {outcome[0].strerror or outcome[0]}")


def _identity(address: str, timeout_s: float) -> str:
    """The ``type`` a Dask server at ``address`` reports (``"Scheduler"``), asked without creating a Client;
    asyncio.TimeoutError when nothing answers in the Dask protocol (another server listens there)."""
    from distributed.core import rpc

    async def ask():
        async with rpc(address, timeout=timeout_s) as r:
            return await asyncio.wait_for(r.identity(), timeout_s)

    reply = asyncio.run(ask())
    return str(reply.get("type")) if isinstance(reply, dict) else type(reply).__name__


def connect(address: str, source: str = "--scheduler", timeout_s: float = CONNECT_TIMEOUT_S):
    """A ``distributed.Client`` connected to ``address``, or ValueError naming ``source`` when the scheduler cannot
    be reached within ``timeout_s`` seconds (refused, unknown host, no port, a malformed address)."""
    from distributed import Client

    def fail(e):
        reason = " ".join(str(e).split()) or type(e).__name__
        return ValueError(f"{source}: cannot reach a Dask scheduler at {address!r} within {timeout_s:g} s "
                          f"({reason}); give a running scheduler's tcp://HOST:PORT, or leave {source} unset for a "
                          f"local cluster")

    try:
        _reachable(address, timeout_s)
        kind = _identity(address, timeout_s)
    except (OSError, ValueError, TypeError, MemoryError, asyncio.TimeoutError) as e:
        raise fail(e if str(e) else f"no Dask answer within {timeout_s:g} s") from None
    if kind != "Scheduler":
        raise fail(f"the process there is a Dask {kind!r}, not a scheduler")
    quiet = [logging.getLogger(name) for name in ("distributed", "distributed.client", "distributed.comm")]
    levels = [lg.level for lg in quiet]
    for lg in quiet:
        lg.setLevel(logging.CRITICAL)
    try:
        return Client(address, timeout=f"{timeout_s}s")
    except Exception as e:  # the scheduler went away between the probe and the connection
        raise fail(e) from None
    finally:
        for lg, level in zip(quiet, levels):
            lg.setLevel(level)


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
    """A ``distributed.Client``: to ``scheduler`` (or ``$MRAM_DASK_SCHEDULER``; :func:`connect`), else to a new
    ``LocalCluster`` with ``workers`` single-threaded worker processes (default: the machine's cores). Closed on
    exit."""
    from distributed import Client, LocalCluster

    address, source = scheduler_address(scheduler)
    if address:
        client = connect(address, source)
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
