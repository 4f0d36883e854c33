"""pytest's view of the process tests (tests/CMakeLists.txt runs each file as
`python3 -m pytest FILE --actiond BIN ...`): the options CMake passes, as one `args` fixture with an
attribute per option (dashes as underscores; "" when not given)."""
import argparse

import pytest

# name: (type, default)
OPTIONS = {
    "actiond": (str, ""), "actionctl": (str, ""), "models": (str, ""), "source": (str, ""),
    "pretrained": (str, ""), "shared": (str, ""), "tiny": (str, ""), "model": (str, ""), "unit": (str, ""),
    "script": (str, ""), "screenshot": (str, ""), "man": (str, ""), "dashboard": (str, ""), "build": (str, ""),
    "kafka-mock": (str, ""), "cpp-subscriber": (str, ""), "videos": (str, ""),
    "label-png": (str, ""), "report-png": (str, ""), "train-command": (str, ""),
    "settle": (float, 0.0), "outage-s": (float, 20.0),
}


def pytest_addoption(parser) -> None:
    for name, (kind, default) in OPTIONS.items():
        parser.addoption(f"--{name}", dest=name.replace("-", "_"), type=kind, default=default)


@pytest.fixture
def args(request) -> argparse.Namespace:
    return argparse.Namespace(**{n.replace("-", "_"): request.config.getoption(n.replace("-", "_")) for n in OPTIONS})
