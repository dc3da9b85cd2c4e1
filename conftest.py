"""Shared pytest options and fixtures for ``tests/`` and ``tb/``.

Random tests take the ``seed`` fixture (or ``rng``). The base seed is random per run unless given with
``--seed N`` or ``MRAM_SEED=N``; it is printed in the session header and in every failing test's report,
and each test derives its own seed from the base seed and its node id, so one test replays alone.
"""

from __future__ import annotations

import os
import random
import zlib

import numpy as np
import pytest


def pytest_addoption(parser):
    parser.addoption("--seed", type=int, default=None,
                     help="base random seed (default: $MRAM_SEED, else random); printed in the header")
    parser.addoption("--waves", action="store_true", default=False,
                     help="cocotb testbenches record waveforms (VCD) in their build folder (also: WAVES=1)")


def _base_seed(config) -> int:
    if not hasattr(config, "_mram_seed"):
        seed = config.getoption("--seed")
        workerinput = getattr(config, "workerinput", None)
        if seed is None and workerinput is not None:  # a pytest-xdist worker: the controller's seed
            seed = workerinput.get("mram_seed")
        if seed is None and os.environ.get("MRAM_SEED"):
            try:
                seed = int(os.environ["MRAM_SEED"])
            except ValueError:
                raise pytest.UsageError(f"MRAM_SEED must be an integer, got {os.environ['MRAM_SEED']!r}")
        if seed is None:
            seed = random.SystemRandom().randrange(2**31)
        config._mram_seed = seed
    return config._mram_seed


def pytest_configure_node(node):
    """pytest-xdist hook: hand the controller's base seed to each worker."""
    node.workerinput["mram_seed"] = _base_seed(node.config)


def pytest_report_header(config):
    return f"random seed: {_base_seed(config)} (replay with --seed {_base_seed(config)} or MRAM_SEED=...)"


@pytest.fixture
def seed(request) -> int:
    """This test's seed: derived from the base seed and the test's node id; printed on failure."""
    base = _base_seed(request.config)
    value = zlib.crc32(f"{base}:{request.node.nodeid}".encode()) & 0x7FFFFFFF
    request.node.user_properties.append(("seed", value))
    print(f"seed={value} (base seed {base}; replay: pytest '{request.node.nodeid}' --seed {base})")
    return value


@pytest.fixture
def rng(seed) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.fixture
def waves(request) -> bool:
    return bool(request.config.getoption("--waves")) or os.environ.get("WAVES", "") not in ("", "0")
