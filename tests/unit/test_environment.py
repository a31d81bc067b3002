"""Every test runs isolated from the user's environment (tests/utils/fixtures/environment.py)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def test_a_test_runs_in_its_own_empty_folder(tmp_path: Path) -> None:
    assert Path.cwd() == tmp_path
    assert list(tmp_path.iterdir()) == []


def test_no_cryptoj_variable_reaches_a_test() -> None:
    assert [name for name in os.environ if name.startswith("CRYPTOJ_")] == []


def test_prefect_has_a_temporary_home_and_no_analytics() -> None:
    home = Path(os.environ["PREFECT_HOME"])
    assert home.is_relative_to(tempfile.gettempdir())
    assert home != Path.home() / ".prefect"
    assert os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert os.environ["DO_NOT_TRACK"] == "1"
    assert "PREFECT_API_URL" not in os.environ
