"""The throwaway cluster fixture cleans up after a hard-killed test session and never touches a live one's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.utils.fixtures.store import (
    REQUIRE_POSTGRES,
    find_pg_bin,
    postgres_unavailable,
    reap_stale_clusters,
    start_cluster,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def temp_dir() -> Iterator[Path]:
    """A folder standing in for /tmp (the postgres user must be able to enter it)."""
    folder = Path(tempfile.mkdtemp(prefix="cryptoj-reap-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def bin_dir() -> Path:
    """The PostgreSQL binaries (the tests that need none use it only to build paths)."""
    return find_pg_bin() or Path("/nonexistent")


def _dead_pid() -> int:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    pid = int(child.stdout)
    assert not psutil.pid_exists(pid)
    return pid


def _cluster_folder(temp_dir: Path, name: str, owner: int | None) -> Path:
    root = temp_dir / f"cryptoj-pg-{name}"
    root.mkdir()
    (root / "data").mkdir()
    if owner is not None:
        (root / "owner.pid").write_text(str(owner))
    return root


def test_a_folder_whose_session_died_is_removed_and_a_live_sessions_is_kept(temp_dir: Path, bin_dir: Path) -> None:
    dead = _cluster_folder(temp_dir, "dead", _dead_pid())
    live = _cluster_folder(temp_dir, "live", os.getpid())
    just_made = _cluster_folder(temp_dir, "unclaimed-young", None)
    old = _cluster_folder(temp_dir, "unclaimed-old", None)
    os.utime(old, (0, 0))
    assert reap_stale_clusters(bin_dir, temp_dir=temp_dir) == [dead, old]
    assert (dead.exists(), live.exists(), just_made.exists(), old.exists()) == (False, True, True, False)


@pytest.mark.postgres
def test_a_cluster_left_running_by_a_killed_session_is_stopped(temp_dir: Path) -> None:
    bin_dir = find_pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are not installed")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as the postgres user")
    root = temp_dir / "cryptoj-pg-killed"
    root.mkdir()
    (root / "owner.pid").write_text(str(_dead_pid()))
    start_cluster(bin_dir, root)
    postmaster = int((root / "data" / "postmaster.pid").read_text().split()[0])
    assert psutil.pid_exists(postmaster)

    assert reap_stale_clusters(bin_dir, temp_dir=temp_dir) == [root]
    assert not root.exists()
    assert not psutil.pid_exists(postmaster) or psutil.Process(postmaster).status() == psutil.STATUS_ZOMBIE


def test_no_binaries_are_found_where_none_are_installed(tmp_path: Path) -> None:
    assert find_pg_bin(path=str(tmp_path), debian_root=tmp_path) is None


def test_missing_postgresql_skips_with_the_reason_on_a_users_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE_POSTGRES, raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"^PostgreSQL binaries \(initdb, pg_ctl\) are not installed$"):
        postgres_unavailable("PostgreSQL binaries (initdb, pg_ctl) are not installed")


def test_missing_postgresql_fails_where_ci_requires_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRE_POSTGRES, "1")
    with pytest.raises(pytest.fail.Exception, match=r"not installed, and TESTS_REQUIRE_POSTGRES=1 requires PostgreSQL"):
        postgres_unavailable("PostgreSQL binaries (initdb, pg_ctl) are not installed")
