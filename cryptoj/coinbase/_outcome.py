"""What a write's answers can say about it: when it may be sent again, and whether its outcome is known.

An order write (create, close position, edit, cancel) that got a definite answer is settled by it. One
whose attempt may have reached Coinbase without a definite answer (a timeout after sending, a dropped
connection, a 5xx) may have acted: from then on, whatever a later attempt answers (a `success: false`,
a 4xx) cannot say the write did not happen, so the call ends in `UnknownOutcomeError`, resolved by looking
the order up. `RetryMode` says which writes may be sent again at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

import httpx
from pydantic import BaseModel

from cryptoj.coinbase.errors import CoinbaseError, UnknownOutcomeError, trace_id_of

__all__ = ["Answer", "RetryMode", "Write"]

M = TypeVar("M", bound=BaseModel)


class RetryMode(Enum):
    """Whether a request may be sent again after a transient failure."""

    SAFE = "safe"  # reads and previews: repeating them changes nothing
    ORDER = "order"  # order creation: repeated under the same client_order_id, which Coinbase deduplicates
    # Cancels: repeated only while no attempt may have reached Coinbase (connect failure, 429). A cancel
    # repeated after one that took effect answers "failed" for orders that are in fact cancelled.
    UNSENT = "unsent"
    NEVER = "never"  # edits: a repeat could apply twice; fail and let the caller look


@dataclass(frozen=True, slots=True)
class Answer(Generic[M]):
    """A decoded 2xx answer, its raw response, and what it can say about the write it answers.

    Parameters:
        value: the decoded body.
        response: the raw answer (headers such as `trace-id`).
        write: what the write touches; None for reads.
        ambiguous: whether an earlier attempt may have reached Coinbase without a definite answer.
    """

    value: M
    response: httpx.Response
    write: Write | None = None
    ambiguous: bool = False

    @property
    def trace_id(self) -> str | None:
        """The answer's `trace-id`, once."""
        return trace_id_of(self.response)

    def settle(self, failure: CoinbaseError) -> CoinbaseError:
        """The error to raise for a failure this answer reports (`success: false`).

        The failure itself when the answer decides the write; `UnknownOutcomeError` keeping it when an earlier
        attempt may have acted unanswered (a retry's rejection cannot say that attempt did nothing).
        """
        if self.write is None or not self.ambiguous:
            return failure
        unknown = self.write.unknown("an earlier attempt may have reached Coinbase unanswered; a retry got", failure)
        unknown.__cause__ = failure
        return unknown


@dataclass(frozen=True, slots=True)
class Write:
    """What an order write touches, to name it when its outcome is unknown.

    Parameters:
        client_order_id: the order a create or close places.
        order_ids: the orders an edit or cancel touches.
    """

    client_order_id: str | None
    order_ids: tuple[str, ...]

    def unknown(self, what: str, error: CoinbaseError) -> UnknownOutcomeError:
        """`UnknownOutcomeError` naming what the write touches, keeping `error` (the last attempt's failure)."""
        if self.client_order_id is not None:
            subject = f"order {self.client_order_id}"
        else:
            shown = ", ".join(self.order_ids[:3]) + (", ..." if len(self.order_ids) > 3 else "")
            subject = f"write to order(s) {shown}"
        return UnknownOutcomeError(
            f"{subject}: {what}: {error}",
            client_order_id=self.client_order_id,
            order_ids=self.order_ids,
            last_error=error,
            status=error.status,
            code=error.code,
            trace_id=error.trace_id,
        )
