"""Every sandbox response validates against the same pydantic models the client parses Coinbase with."""

from __future__ import annotations

import time

import pytest

from cryptoj.coinbase import models as m
from tests.integration.sandbox.conftest import Api

pytestmark = pytest.mark.integration


def test_every_sandbox_response_validates_against_the_client_models(api: Api) -> None:
    now = int(time.time())
    api.client.post("/sandbox/admin/advance", json={"seconds": 5})
    accounts = m.ListAccountsResponse.model_validate(api.get("/accounts").json())
    assert accounts.accounts
    m.GetAccountResponse.model_validate(api.get(f"/accounts/{accounts.accounts[0].uuid}").json())
    m.KeyPermissions.model_validate(api.get("/key_permissions").json())
    m.ListPortfoliosResponse.model_validate(api.get("/portfolios").json())
    m.TransactionSummary.model_validate(api.get("/transaction_summary").json())
    products = m.ListProductsResponse.model_validate(api.get("/products").json())
    assert [p.product_id for p in products.products] == ["BTC-USD", "ETH-USD", "SOL-USD"]
    m.Product.model_validate(api.get("/market/products/ETH-USD", auth=False).json())
    book = m.ProductBookResponse.model_validate(api.get("/product_book", product_id="BTC-USD", limit=50).json())
    assert len(book.pricebook.bids) == 50
    m.BestBidAskResponse.model_validate(api.get("/best_bid_ask").json())
    candles = m.CandlesResponse.model_validate(
        api.get("/products/BTC-USD/candles", start=now - 3600, end=now, granularity="FIVE_MINUTE").json()
    )
    assert candles.candles
    m.MarketTradesResponse.model_validate(api.get("/products/BTC-USD/ticker", limit=10).json())
    m.ServerTime.model_validate(api.get("/time", auth=False).json())

    resting = m.CreateOrderResponse.model_validate(
        api.order("models-1", "limit_limit_gtc", base_size="0.001", limit_price="1000.00").json()
    )
    assert resting.success
    m.CreateOrderResponse.model_validate(api.order("models-2", "market_market_ioc", quote_size="25.00").json())
    rejected = m.CreateOrderResponse.model_validate(
        api.order("models-3", "market_market_ioc", quote_size="99999999.00").json()
    )
    assert rejected.success is False
    preview_body = {
        "product_id": "BTC-USD",
        "side": "BUY",
        "order_configuration": {"market_market_ioc": {"quote_size": "10.00"}},
    }
    m.PreviewOrderResponse.model_validate(api.post("/orders/preview", preview_body).json())
    order_id = api.get("/orders/historical/batch").json()["orders"][-1]["order_id"]
    edit = {"order_id": order_id, "price": "1001.00", "size": "0.001"}
    m.EditOrderPreviewResponse.model_validate(api.post("/orders/edit_preview", edit).json())
    m.EditOrderResponse.model_validate(api.post("/orders/edit", edit).json())
    m.GetOrderResponse.model_validate(api.get(f"/orders/historical/{order_id}").json())
    orders = m.ListOrdersResponse.model_validate(api.get("/orders/historical/batch").json())
    assert len(orders.orders) == 2
    fills = m.ListFillsResponse.model_validate(api.get("/orders/historical/fills").json())
    assert fills.fills
    m.BatchCancelResponse.model_validate(api.post("/orders/batch_cancel", {"order_ids": [order_id, "nope"]}).json())
