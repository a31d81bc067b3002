"""The sandbox's HTTP side: Coinbase's REST routes, admin controls and the WebSocket at the root path."""

from cryptoj.sandbox.rest.app import ADMIN_PREFIX, SandboxApp
from cryptoj.sandbox.rest.http import ApiError
from cryptoj.sandbox.rest.routes import PREFIX, ROUTES, Route

__all__ = ["ADMIN_PREFIX", "PREFIX", "ROUTES", "ApiError", "Route", "SandboxApp"]
