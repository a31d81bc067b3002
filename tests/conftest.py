"""Root test configuration: each area's shared fixtures live in tests/utils/fixtures/<area>.py.

`environment` sets the user's environment aside before collection, so no test, fixture or import reads it.
"""

import pytest

pytest_plugins = [
    "tests.utils.fixtures.environment",
    "tests.utils.fixtures.domain",
    "tests.utils.fixtures.coinbase",
    "tests.utils.fixtures.recording",
    "tests.utils.fixtures.sandbox",
    "tests.utils.fixtures.store",
    "tests.utils.fixtures.websocket",
    "tests.utils.fixtures.services",
    "tests.utils.fixtures.prefect",
]


@pytest.hookimpl(trylast=True)  # after pytest-randomly's shuffle, which it keeps within each part
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The heavy end-to-end runs first: each takes a minute or more with processes of its own, and started first
    the short tests fill the cores around them instead of the run waiting on the last of them at its end."""
    items.sort(key=lambda item: item.get_closest_marker("heavy") is None)
