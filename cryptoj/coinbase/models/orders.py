"""Orders: create/preview/edit/cancel/close bodies, orders and fills (configurations: `configurations`).

Request bodies forbid unknown fields (Coinbase answers 400 `proto: ... unknown field` for them);
response bodies keep them. Create order answers HTTP 200 for rejections too: read `success`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from cryptoj.coinbase.models.common import OptDecimal, OptTime, RequestModel, WireList, WireModel
from cryptoj.coinbase.models.configurations import OrderConfiguration, OrderSide, only_documented
from cryptoj.coinbase.models.times import WireTime

__all__ = [
    "BatchCancelRequest",
    "BatchCancelResponse",
    "CancelResult",
    "ClosePositionRequest",
    "CreateOrderErrorResponse",
    "CreateOrderRequest",
    "CreateOrderResponse",
    "CreateOrderSuccessResponse",
    "EditError",
    "EditHistoryEntry",
    "EditOrderPreviewResponse",
    "EditOrderRequest",
    "EditOrderResponse",
    "Fill",
    "GetOrderResponse",
    "ListFillsResponse",
    "ListOrdersResponse",
    "Order",
    "PreviewOrderRequest",
    "PreviewOrderResponse",
]


def _no_blank(client_order_id: str) -> str:
    # A resend is deduplicated by this id: a blank one identifies nothing.
    if not client_order_id.strip():
        raise ValueError("client_order_id must not be blank")
    return client_order_id


class CreateOrderRequest(RequestModel):
    """`POST /orders`. `client_order_id` is required: it makes a resend return the same order."""

    client_order_id: str = Field(min_length=1, max_length=128)
    product_id: str = Field(min_length=1)
    side: OrderSide
    order_configuration: OrderConfiguration
    self_trade_prevention_id: str | None = None
    leverage: str | None = None
    margin_type: Literal["CROSS", "ISOLATED"] | None = None
    retail_portfolio_id: str | None = None
    preview_id: str | None = None
    attached_order_configuration: OrderConfiguration | None = None

    @field_validator("order_configuration")
    @classmethod
    def _documented_configuration(cls, value: OrderConfiguration) -> OrderConfiguration:
        return only_documented(value)

    @field_validator("client_order_id")
    @classmethod
    def _no_blank_id(cls, value: str) -> str:
        return _no_blank(value)


class PreviewOrderRequest(RequestModel):
    """`POST /orders/preview`: like create, without client_order_id."""

    product_id: str = Field(min_length=1)
    side: OrderSide
    order_configuration: OrderConfiguration
    leverage: str | None = None
    margin_type: Literal["CROSS", "ISOLATED"] | None = None
    retail_portfolio_id: str | None = None
    attached_order_configuration: OrderConfiguration | None = None

    @field_validator("order_configuration")
    @classmethod
    def _documented_configuration(cls, value: OrderConfiguration) -> OrderConfiguration:
        return only_documented(value)


class EditOrderRequest(RequestModel):
    """`POST /orders/edit` and `/orders/edit_preview`: new price and size of a resting limit GTC order."""

    order_id: str = Field(min_length=1)
    price: OptDecimal = None
    size: OptDecimal = None

    @model_validator(mode="after")
    def _changes_something(self) -> EditOrderRequest:
        if self.price is None and self.size is None:
            raise ValueError("an edit needs a new price or a new size")
        return self


class BatchCancelRequest(RequestModel):
    """`POST /orders/batch_cancel`."""

    order_ids: list[str] = Field(min_length=1)


class ClosePositionRequest(RequestModel):
    """`POST /orders/close_position`; `size` omitted closes all of it. Retried under its client_order_id."""

    client_order_id: str = Field(min_length=1, max_length=128)
    product_id: str = Field(min_length=1)
    size: OptDecimal = None

    @field_validator("client_order_id")
    @classmethod
    def _no_blank_id(cls, value: str) -> str:
        return _no_blank(value)


class CreateOrderSuccessResponse(WireModel):
    """The identifiers of an accepted (or, for a reused client_order_id, the existing) order."""

    order_id: str
    product_id: str | None = None
    side: str | None = None
    client_order_id: str | None = None
    attached_order_id: str | None = None


class CreateOrderErrorResponse(WireModel):
    """Why an order was rejected; `error` often says more than the top-level failure_reason."""

    error: str | None = None
    message: str | None = None
    error_details: str | None = None
    preview_failure_reason: str | None = None
    new_order_failure_reason: str | None = None


class CreateOrderResponse(WireModel):
    """`POST /orders` and `/orders/close_position`: HTTP 200 whether accepted or rejected."""

    success: bool
    failure_reason: str | None = None  # UNKNOWN_FAILURE_REASON on successes too, and on many rejections
    order_id: str | None = None
    success_response: CreateOrderSuccessResponse | None = None
    error_response: CreateOrderErrorResponse | None = None
    order_configuration: OrderConfiguration | None = None
    attached_order_configuration: OrderConfiguration | None = None  # the bracket sent with it, if any


class PreviewOrderResponse(WireModel):
    """`POST /orders/preview`: what the order would cost; `errs` lists preview failure reasons."""

    order_total: OptDecimal = None
    commission_total: OptDecimal = None
    errs: WireList[str] = Field(default_factory=list)
    warning: WireList[str] = Field(default_factory=list)
    quote_size: OptDecimal = None
    base_size: OptDecimal = None
    best_bid: OptDecimal = None
    best_ask: OptDecimal = None
    is_max: bool | None = None
    slippage: OptDecimal = None
    preview_id: str | None = None


class EditError(WireModel):
    """One reason an edit failed."""

    edit_failure_reason: str | None = None
    preview_failure_reason: str | None = None


class EditOrderResponse(WireModel):
    """`POST /orders/edit`."""

    success: bool
    errors: WireList[EditError] = Field(default_factory=list)


class EditOrderPreviewResponse(WireModel):
    """`POST /orders/edit_preview`."""

    errors: WireList[EditError] = Field(default_factory=list)
    slippage: OptDecimal = None
    order_total: OptDecimal = None
    commission_total: OptDecimal = None
    quote_size: OptDecimal = None
    base_size: OptDecimal = None
    best_bid: OptDecimal = None
    best_ask: OptDecimal = None
    average_filled_price: OptDecimal = None


class CancelResult(WireModel):
    """One id's outcome; `failure_reason` is UNKNOWN_CANCEL_FAILURE_REASON even on success."""

    success: bool
    failure_reason: str | None = None
    order_id: str | None = None


class BatchCancelResponse(WireModel):
    """HTTP 200 even when some ids fail: each result says."""

    results: WireList[CancelResult] = Field(default_factory=list)


class EditHistoryEntry(WireModel):
    """A past edit of a limit order."""

    price: OptDecimal = None
    size: OptDecimal = None
    replace_accept_timestamp: OptTime = None


class Order(WireModel):
    """An order as Coinbase reports it (grown many undocumented fields: they are kept)."""

    order_id: str
    product_id: str
    user_id: str | None = None
    order_configuration: OrderConfiguration | None = None
    side: str | None = None  # BUY or SELL; the docs example shows ""
    client_order_id: str | None = None
    status: str
    time_in_force: str | None = None
    created_time: OptTime = None
    completion_percentage: OptDecimal = None
    filled_size: OptDecimal = None
    average_filled_price: OptDecimal = None
    fee: OptDecimal = None
    number_of_fills: OptDecimal = None  # a count, sent as a string
    filled_value: OptDecimal = None
    pending_cancel: bool | None = None
    size_in_quote: bool | None = None
    total_fees: OptDecimal = None
    size_inclusive_of_fees: bool | None = None
    total_value_after_fees: OptDecimal = None
    trigger_status: str | None = None
    order_type: str | None = None
    reject_reason: str | None = None
    settled: bool | None = None
    product_type: str | None = None
    reject_message: str | None = None
    cancel_message: str | None = None
    order_placement_source: str | None = None
    outstanding_hold_amount: OptDecimal = None
    is_liquidation: bool | None = None
    last_fill_time: OptTime = None
    edit_history: WireList[EditHistoryEntry] = Field(default_factory=list)
    leverage: str | None = None
    margin_type: str | None = None
    retail_portfolio_id: str | None = None
    originating_order_id: str | None = None
    attached_order_id: str | None = None
    # A bracket's take-profit (limit_price) and stop-loss (stop_trigger_price), strings on the wire (fact 24).
    attached_order_configuration: OrderConfiguration | None = None


class GetOrderResponse(WireModel):
    """`GET /orders/historical/{order_id}`."""

    order: Order


class ListOrdersResponse(WireModel):
    """`GET /orders/historical/batch`: pass `cursor` back while `has_next`."""

    orders: WireList[Order] = Field(default_factory=list)
    has_next: bool = False
    cursor: str | None = None
    sequence: str | None = None  # deprecated int64 string
    proof_token_required: bool | None = None


class Fill(WireModel):
    """One execution of an order; `commission` is in the quote currency."""

    entry_id: str
    trade_id: str
    order_id: str
    trade_time: WireTime  # nine fraction digits in real traffic (fact 25): all kept
    trade_type: str | None = None
    price: OptDecimal = None
    size: OptDecimal = None
    commission: OptDecimal = None
    product_id: str
    sequence_timestamp: OptTime = None
    liquidity_indicator: str | None = None
    size_in_quote: bool | None = None
    user_id: str | None = None
    side: str | None = None
    retail_portfolio_id: str | None = None


class ListFillsResponse(WireModel):
    """`GET /orders/historical/fills`: no `has_next`; the last page has an empty cursor."""

    fills: WireList[Fill] = Field(default_factory=list)
    cursor: str | None = None
