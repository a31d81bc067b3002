"""Root test configuration: each area's shared fixtures live in tests/utils/fixtures/<area>.py."""

pytest_plugins = [
    "tests.utils.fixtures.domain",
    "tests.utils.fixtures.coinbase",
    "tests.utils.fixtures.sandbox",
    "tests.utils.fixtures.store",
    "tests.utils.fixtures.websocket",
    "tests.utils.fixtures.services",
]
