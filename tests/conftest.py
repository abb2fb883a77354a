"""Shared test configuration: hypothesis profiles and the ``device`` parameter.

Hypothesis profiles (pick one with ``HYPOTHESIS_PROFILE=<name>``):

* ``default``: few examples per test (the whole gradient-check suite runs in a few minutes on two
  cores), no deadline, the reproduction blob printed on failure; derandomized when the ``CI``
  environment variable is set, so a CI run is reproducible exactly.
* ``thorough``: many more examples, for a nightly run or after touching the autograd engine.
* ``quick``: 5 examples, derandomized: the GPU suite's budget (``benchmarks/gpu_suite.sh``).

Device: tests that take a ``device`` argument run on ``--device cpu`` (the default), ``cuda`` or
``all`` (both); the cuda runs are marked ``gpu`` and skip cleanly when ``tg.cuda.is_available()`` is
False.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

import tinygrad_lm as tg

_COMMON = dict(
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("default", max_examples=20, derandomize=bool(os.environ.get("CI")), **_COMMON)
settings.register_profile("thorough", max_examples=300, **_COMMON)
settings.register_profile("quick", max_examples=5, derandomize=True, **_COMMON)  # benchmarks/gpu_suite.sh
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--device",
        action="store",
        default="cpu",
        choices=("cpu", "cuda", "all"),
        help="device for tests taking a `device` argument: cpu (default), cuda, or all (both)",
    )


def _device_param(device: str) -> object:
    if device == "cpu":
        return pytest.param("cpu", id="cpu")
    skip = pytest.mark.skipif(
        not tg.cuda.is_available(), reason="CUDA is not available (needs CuPy and a GPU)"
    )
    return pytest.param("cuda", id="cuda", marks=[pytest.mark.gpu, skip])


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "device" not in metafunc.fixturenames:
        return
    for marker in metafunc.definition.iter_markers("parametrize"):
        names = marker.args[0]
        if "device" in ([n.strip() for n in names.split(",")] if isinstance(names, str) else names):
            return  # the test parametrizes device itself
    chosen = metafunc.config.getoption("--device")
    devices = ["cpu", "cuda"] if chosen == "all" else [chosen]
    metafunc.parametrize("device", [_device_param(d) for d in devices])
