"""Products (rules snapshots) and candles: idempotent upserts and the reads the flows need."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, RowMapping, func, or_, select

from cryptoj.domain.products import ProductRules
from cryptoj.domain.strategy import Candle
from cryptoj.store._sql import atomic_write, insert_for
from cryptoj.store.columns import check_money, is_exact_money
from cryptoj.store.errors import InvalidRecord, UnknownReference
from cryptoj.store.tables import CandleRow, ProductRow

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CANDLE_COLUMNS", "COPY_THRESHOLD", "CandleRepository", "ProductRepository"]

_products = ProductRow.__table__  # type: ignore[attr-defined]
_candles = CandleRow.__table__  # type: ignore[attr-defined]

_RULE_AMOUNTS = (
    "base_increment",
    "quote_increment",
    "base_min_size",
    "base_max_size",
    "quote_min_size",
    "quote_max_size",
)
_RULE_FLAGS = ("trading_disabled", "is_disabled", "cancel_only", "limit_only", "post_only")
CANDLE_COLUMNS = ("open", "high", "low", "close", "volume")
_CANDLE_KEY = ("product_id", "granularity", "start")
# From this many bars on, PostgreSQL upserts go through COPY (measured faster than pipelined executemany).
COPY_THRESHOLD = 1_000
_COPY_MERGE = (
    "INSERT INTO candles (product_id, granularity, start, open, high, low, close, volume) "
    "SELECT product_id, granularity, start, open, high, low, close, volume FROM cryptoj_incoming_candles "
    "ON CONFLICT (product_id, granularity, start) DO UPDATE SET "
    "open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close, "
    "volume = EXCLUDED.volume "
    "WHERE (candles.open, candles.high, candles.low, candles.close, candles.volume) "
    "IS DISTINCT FROM (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume)"
)


class ProductRepository:
    """Product rules as last seen on the exchange; other records may only name stored products."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def upsert(self, rules: ProductRules, *, at: datetime) -> None:
        """Store (or replace) the rules snapshot of one product."""
        values: dict[str, Any] = {
            "product_id": rules.product_id,
            "base_currency": rules.base_currency,
            "quote_currency": rules.quote_currency,
            "price_increment": rules.price_increment,
            "status": rules.status,
            "updated_at": at,
        }
        for name in _RULE_AMOUNTS:
            values[name] = check_money(getattr(rules, name), field=f"{rules.product_id} {name}")
        if rules.price_increment is not None:
            check_money(rules.price_increment, field=f"{rules.product_id} price_increment")
        for name in _RULE_FLAGS:
            values[name] = getattr(rules, name)
        statement = insert_for(self._connection, _products).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=["product_id"],
            set_={name: statement.excluded[name] for name in values if name != "product_id"},
        )
        with atomic_write(self._connection, f"product {rules.product_id}"):
            self._connection.execute(statement)

    def get(self, product_id: str) -> ProductRules:
        """The stored rules of a product; `UnknownReference` when it was never stored."""
        row = self._connection.execute(select(_products).where(_products.c.product_id == product_id)).mappings().first()
        if row is None:
            raise UnknownReference(f"product {product_id} is not stored")
        return _rules_from(row)

    def all(self) -> list[ProductRules]:
        """Every stored product, by product id."""
        rows = self._connection.execute(select(_products).order_by(_products.c.product_id)).mappings()
        return [_rules_from(row) for row in rows]

    def require(self, product_ids: Iterable[str]) -> None:
        """Raise `UnknownReference` naming every product in `product_ids` that is not stored."""
        wanted = set(product_ids)
        if not wanted:
            return
        found = set(
            self._connection.execute(select(_products.c.product_id).where(_products.c.product_id.in_(wanted))).scalars()
        )
        missing = sorted(wanted - found)
        if missing:
            raise UnknownReference(f"product {', '.join(missing)} is not stored; store its rules first")


def _rules_from(row: RowMapping) -> ProductRules:
    return ProductRules(
        product_id=row["product_id"],
        base_currency=row["base_currency"],
        quote_currency=row["quote_currency"],
        price_increment=row["price_increment"],
        status=row["status"],
        base_increment=row["base_increment"],
        quote_increment=row["quote_increment"],
        base_min_size=row["base_min_size"],
        base_max_size=row["base_max_size"],
        quote_min_size=row["quote_min_size"],
        quote_max_size=row["quote_max_size"],
        trading_disabled=bool(row["trading_disabled"]),
        is_disabled=bool(row["is_disabled"]),
        cancel_only=bool(row["cancel_only"]),
        limit_only=bool(row["limit_only"]),
        post_only=bool(row["post_only"]),
    )


class CandleRepository:
    """OHLCV bars keyed on (product, granularity, start): writing a window again changes nothing."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def upsert(self, product_id: str, granularity: str, candles: Sequence[Candle]) -> int:
        """Insert new bars and replace changed ones (the last bar of a pull is still forming); returns the count.

        Bad bars (high below low, negative volume, naive times, two different bars at one start) raise
        `InvalidRecord` before anything is written.
        """
        if not granularity or len(granularity) > 32:
            raise InvalidRecord(f"granularity must be 1 to 32 characters, got {granularity!r}")
        rows = _candle_rows(product_id, granularity, candles)
        if not rows:
            return 0
        ProductRepository(self._connection).require([product_id])
        with atomic_write(self._connection, f"candles of {product_id}"):
            if self._connection.dialect.name == "postgresql" and len(rows) >= COPY_THRESHOLD:
                self._copy_upsert(rows)
            else:
                # One statement, many parameter sets: compiled once (a 100k-row VALUES list spends seconds
                # compiling); SQLite runs it with executemany, psycopg 3 in pipeline mode.
                statement = insert_for(self._connection, _candles)
                excluded = statement.excluded
                statement = statement.on_conflict_do_update(
                    index_elements=list(_CANDLE_KEY),
                    set_={name: excluded[name] for name in CANDLE_COLUMNS},
                    # An unchanged bar is not rewritten: a re-pulled window leaves no new row versions.
                    where=or_(*(_candles.c[name] != excluded[name] for name in CANDLE_COLUMNS)),
                )
                self._connection.execute(statement, rows)
        return len(rows)

    def _copy_upsert(self, rows: list[dict[str, Any]]) -> None:
        # PostgreSQL bulk path: COPY into a temporary table, then one INSERT ... SELECT ... ON CONFLICT. It runs
        # on the unit of work's own psycopg connection, inside its transaction; the rows were validated above.
        driver: Any = self._connection.connection.driver_connection
        columns = (*_CANDLE_KEY, *CANDLE_COLUMNS)
        with driver.cursor() as cursor:
            cursor.execute("CREATE TEMP TABLE IF NOT EXISTS cryptoj_incoming_candles (LIKE candles) ON COMMIT DROP")
            with cursor.copy(f"COPY cryptoj_incoming_candles ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(tuple(row[name] for name in columns))
            cursor.execute(_COPY_MERGE)
            cursor.execute("TRUNCATE cryptoj_incoming_candles")

    def latest(self, product_id: str, granularity: str) -> Candle | None:
        """The newest stored bar of a product, or None."""
        row = (
            self._connection.execute(
                select(_candles)
                .where(_candles.c.product_id == product_id, _candles.c.granularity == granularity)
                .order_by(_candles.c.start.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        return None if row is None else _candle_from(row)

    def latest_per_product(self, granularity: str) -> dict[str, Candle]:
        """The newest bar of every product that has bars at this granularity."""
        newest = (
            select(_candles.c.product_id, func.max(_candles.c.start).label("start"))
            .where(_candles.c.granularity == granularity)
            .group_by(_candles.c.product_id)
            .subquery()
        )
        rows = self._connection.execute(
            select(_candles)
            .join(newest, (_candles.c.product_id == newest.c.product_id) & (_candles.c.start == newest.c.start))
            .where(_candles.c.granularity == granularity)
        ).mappings()
        return {row["product_id"]: _candle_from(row) for row in rows}

    def window(
        self,
        product_id: str,
        granularity: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> list[Candle]:
        """Bars with `start <= bar.start < end`, oldest first; with `limit`, the newest `limit` of them."""
        query = select(_candles).where(_candles.c.product_id == product_id, _candles.c.granularity == granularity)
        if start is not None:
            query = query.where(_candles.c.start >= start)
        if end is not None:
            query = query.where(_candles.c.start < end)
        if limit is not None:
            query = query.order_by(_candles.c.start.desc()).limit(limit)
            return [_candle_from(row) for row in reversed(list(self._connection.execute(query).mappings()))]
        return [_candle_from(row) for row in self._connection.execute(query.order_by(_candles.c.start)).mappings()]

    def frame(
        self,
        product_id: str,
        granularity: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
        floats: bool = False,
    ) -> pd.DataFrame:
        """Bars as a DataFrame indexed by UTC `start`, oldest first.

        Prices and volume stay `Decimal` (object columns) for anything that computes money; `floats=True`
        gives float64 columns, for indicators only.
        """
        import pandas as pd  # on use: loading it costs every other store user (`cryptoj db ...`) about a second

        bars = self.window(product_id, granularity, start=start, end=end, limit=limit)
        index = pd.DatetimeIndex([bar.start for bar in bars], name="start", tz="UTC")
        data: dict[str, Any] = {}
        for name in CANDLE_COLUMNS:
            values = [getattr(bar, name) for bar in bars]
            data[name] = pd.Series(
                [float(v) for v in values] if floats else values,
                index=index,
                dtype="float64" if floats else object,
            )
        return pd.DataFrame(data, index=index)


def _candle_rows(product_id: str, granularity: str, candles: Sequence[Candle]) -> list[dict[str, Any]]:
    by_start: dict[datetime, dict[str, Any]] = {}
    for candle in candles:
        start = candle.start
        if start.tzinfo is None:
            raise InvalidRecord(f"{product_id} candle at {start.isoformat()} has no timezone")
        # Messages are built only on failure: this loop runs 100,000 times for a bulk pull.
        open_, high, low, close, volume = candle.open, candle.high, candle.low, candle.close, candle.volume
        for name, value in (("open", open_), ("high", high), ("low", low), ("close", close), ("volume", volume)):
            if not is_exact_money(value):
                check_money(value, field=f"{product_id} candle at {start.isoformat()} {name}")
        if low <= 0 or volume < 0 or not (low <= open_ <= high and low <= close <= high):
            _refuse_bar(f"{product_id} candle at {start.isoformat()}", candle)
        row = {
            "product_id": product_id,
            "granularity": granularity,
            "start": start,
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
        }
        previous = by_start.get(start)
        if previous is not None and previous != row:
            raise InvalidRecord(f"two different {product_id} candles at {start.isoformat()} in one batch")
        by_start[start] = row
    return list(by_start.values())


def _refuse_bar(label: str, candle: Candle) -> None:
    if candle.low <= 0:
        raise InvalidRecord(f"{label}: prices must be positive, low is {candle.low}")
    if candle.volume < 0:
        raise InvalidRecord(f"{label}: volume must not be negative, got {candle.volume}")
    raise InvalidRecord(f"{label}: open and close must lie between low {candle.low} and high {candle.high}")


def _candle_from(row: RowMapping) -> Candle:
    return Candle(
        start=row["start"],
        open=row["open"],
        high=row["high"],
        low=row["low"],
        close=row["close"],
        volume=row["volume"],
    )
