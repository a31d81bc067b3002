"""The domain stays pure: importing it pulls in no I/O library, and pandas only when a strategy computes."""

import json
import subprocess
import sys

FORBIDDEN = (
    "httpx",
    "sqlalchemy",
    "sqlmodel",
    "prefect",
    "websockets",
    "psycopg",
    "pandas",
    "cryptoj.coinbase",
    "cryptoj.store",
    "cryptoj.services",
)


def test_importing_the_domain_loads_no_io_library() -> None:
    code = "import json, sys, cryptoj.domain; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    loaded = json.loads(result.stdout)
    offenders = [m for m in loaded if m.startswith(FORBIDDEN)]
    assert offenders == []
    assert "cryptoj.domain.paper" in loaded
