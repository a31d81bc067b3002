"""Root test configuration: each area's shared fixtures live in tests/utils/fixtures/<area>.py.

`environment` sets the user's environment aside before collection, so no test, fixture or import reads it.
"""

pytest_plugins = [
    "tests.utils.fixtures.environment",
    "tests.utils.fixtures.domain",
    "tests.utils.fixtures.coinbase",
    "tests.utils.fixtures.recording",
    "tests.utils.fixtures.sandbox",
    "tests.utils.fixtures.store",
    "tests.utils.fixtures.websocket",
    "tests.utils.fixtures.services",
]
