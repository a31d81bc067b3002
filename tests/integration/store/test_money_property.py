"""Any amount NUMERIC(38, 18) can hold reads back equal, on SQLite and PostgreSQL (property-based)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from cryptoj.store import UnitOfWork
from cryptoj.store.columns import canonical
from tests.utils.fixtures.store import T0

pytestmark = pytest.mark.integration

_amounts = st.decimals(
    min_value=Decimal("-99999999999999999999.999999999999999999"),
    max_value=Decimal("99999999999999999999.999999999999999999"),
    places=18,
    allow_nan=False,
    allow_infinity=False,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amount=_amounts)
def test_any_storable_amount_round_trips_exactly(store_engine: Engine, amount: Decimal) -> None:
    amount = canonical(amount)  # hypothesis may give 38-digit values with trailing zeros
    with UnitOfWork(store_engine) as uow:
        uow.snapshots.record_equity(amount, at=T0)
        [point] = uow.snapshots.equity_curve()
        # Read inside the same transaction and never committed: every example starts from an empty table.
    assert point.equity == amount
    assert str(point.equity) == str(amount)
