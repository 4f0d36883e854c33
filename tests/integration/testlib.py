"""Helpers shared by the Python process tests (imported from the tests' own directory)."""
import socket
import sys


def fail(msg: str) -> None:
    """Report a failed check and exit 1 (ctest shows stderr)."""
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
