"""One verifying TLS context per process, shared by every client and transport that does not bring its own."""

from __future__ import annotations

import functools
import os
import ssl

import httpx

__all__ = ["default_tls"]


def default_tls() -> ssl.SSLContext:
    """httpx's default verifying context, built once per CA setting (the SSL_CERT_* variables httpx reads).

    Loading the CA bundle takes about 0.1 s, and every flow run opens a client and a transport.
    """
    return _context_for(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _context_for(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    del cert_file, cert_dir  # only the cache key: httpx reads the same variables itself
    return httpx.create_ssl_context(verify=True)
