"""What CI runs (`.ci/run`): the README's test command with coverage on, the floor after it, PostgreSQL required."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _ci_lines() -> list[str]:
    return [line.strip() for line in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()]


def test_ci_runs_exactly_the_readmes_test_command_with_coverage_then_checks_the_floor() -> None:
    lines = _ci_lines()
    assert "uv run pytest" in (REPO / "README.md").read_text(encoding="utf-8")
    coverage_on = next(i for i, line in enumerate(lines) if line.startswith('export PYTEST_ADDOPTS="--cov'))
    suite = lines.index("uv run pytest")
    coverage_off = lines.index("unset PYTEST_ADDOPTS LONGRUN_INTENTS LONGRUN_SECONDS")
    floor = lines.index("uv run coverage report --fail-under=97 --format=total")
    assert coverage_on < suite < coverage_off < floor


def test_the_default_run_holds_everything_but_the_benchmarks() -> None:
    # The heavy end-to-end runs included: `.ci/run` calls the README's command and nothing else runs them.
    options = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]
    addopts = options["addopts"]
    assert addopts[addopts.index("-m") + 1] == "not performance"


def test_ci_requires_postgresql_before_the_suite() -> None:
    lines = _ci_lines()
    assert lines.index("export TESTS_REQUIRE_POSTGRES=1") < lines.index("uv run pytest")


def test_pytest_on_a_subset_passes_when_its_tests_do(tmp_path: Path) -> None:
    # As the README runs `uv run pytest tests/unit/domain`, and with coverage on as CI has it: no floor fails a subset.
    env = {**os.environ, "COVERAGE_FILE": str(tmp_path / ".coverage"), "PYTEST_ADDOPTS": "--cov=cryptoj --cov=flows"}
    done = subprocess.run(
        # One process (-n 0): xdist's workers would each pay pytest's 10 s start for a file of a few tests.
        [sys.executable, "-m", "pytest", "tests/unit/test_layering.py", "-q", "-n", "0", "-p", "no:cacheprovider"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-1500:]
    assert "Required test coverage" not in done.stdout


def test_the_heavy_runs_are_collected_first_and_the_rest_keeps_its_order() -> None:
    from tests.conftest import pytest_collection_modifyitems

    class Item:
        def __init__(self, name: str, *, heavy: bool) -> None:
            self.name, self.heavy = name, heavy

        def get_closest_marker(self, marker: str) -> object | None:
            return object() if marker == "heavy" and self.heavy else None

    items = [Item("a", heavy=False), Item("long run", heavy=True), Item("b", heavy=False), Item("up", heavy=True)]
    pytest_collection_modifyitems(items)  # type: ignore[arg-type]
    assert [item.name for item in items] == ["long run", "up", "a", "b"]
