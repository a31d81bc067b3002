"""`cryptoj sandbox ...`: run the local exchange and make keys for it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cryptoj.coinbase.auth import CdpKey
from cryptoj.errors import ConfigurationError
from cryptoj.sandbox.forms import DEFAULT_DIALECT

if TYPE_CHECKING:
    from cryptoj.sandbox.exchange import SandboxExchange

__all__ = [
    "SANDBOX_KEY_FILE",
    "build_exchange",
    "configure_forms",
    "configure_limits",
    "parse_data_options",
    "sandbox_app",
]

sandbox_app = typer.Typer(
    help="Run the local exchange and make keys for it.", no_args_is_help=True, add_completion=False
)
DEFAULT_DATA_PRODUCT = "BTC-USD"
SANDBOX_KEY_FILE = "sandbox-key.json"  # what `serve` makes in the current folder without --keys


def parse_data_options(values: list[str]) -> dict[str, Path]:
    """`--data FILE` (BTC-USD) or `--data PRODUCT=FILE`, repeatable, as a product -> file map."""
    result: dict[str, Path] = {}
    for value in values:
        product, sep, file = value.partition("=")
        if not sep:
            product, file = DEFAULT_DATA_PRODUCT, value
        path = Path(file)
        if not path.is_file():
            raise ConfigurationError(f"candle file not found: {path}")
        result[product.upper()] = path
    return result


@sandbox_app.command()
def serve(
    *,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on (0: any free port).")] = 8765,
    certfile: Annotated[Path | None, typer.Option(help="TLS certificate chain (PEM): serve HTTPS/WSS.")] = None,
    keyfile: Annotated[Path | None, typer.Option(help="TLS private key (PEM).")] = None,
    keys: Annotated[
        list[Path] | None,
        typer.Option(
            "--keys",
            help="CDP key file to trust (repeatable); default: sandbox-key.json in the current folder, made if absent.",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the random walks, book sizes, ids and faults.")] = 0,
    data: Annotated[
        list[str] | None,
        typer.Option(help="1-minute OHLCV CSV/Parquet: FILE (BTC-USD) or PRODUCT=FILE; default: real packaged bars."),
    ] = None,
    speed: Annotated[float, typer.Option(help="Simulated seconds per real second.")] = 1.0,
    faults: Annotated[
        Path | None, typer.Option(help="JSON fault settings (as POST /sandbox/admin/faults takes).")
    ] = None,
    private_rate: Annotated[int, typer.Option(help="Private requests per second per key.")] = 30,
    public_rate: Annotated[int, typer.Option(help="Public requests per second per client address.")] = 10,
    forms: Annotated[
        str, typer.Option(help="Answer in the 'real' forms Coinbase's traffic shows or the tidier 'documented' ones.")
    ] = DEFAULT_DIALECT.value,
) -> None:
    """Serve the sandbox exchange: REST under /api/v3/brokerage and the WebSocket at /, on one port."""
    from cryptoj.sandbox.server import SandboxServer, TlsFiles, check_tls

    if (certfile is None) != (keyfile is None):
        raise ConfigurationError("give both --certfile and --keyfile, or neither")
    tls = TlsFiles(certfile, keyfile) if certfile is not None and keyfile is not None else None
    if tls is not None:
        check_tls(tls)  # before a key file is made or anything announced
    exchange, key_note = build_exchange(keys=keys or [], seed=seed, data=data or [], speed=speed, home=Path.cwd())
    configure_limits(exchange, faults=faults, private_rate=private_rate, public_rate=public_rate)
    configure_forms(exchange, forms)
    if key_note:
        typer.echo(key_note)

    def announce(server: SandboxServer) -> None:
        products = ", ".join(exchange.product_ids())
        typer.echo(f"Sandbox exchange on {server.base_url} (WebSocket {server.ws_url}); products: {products}")

    SandboxServer(exchange, host=host, port=port, tls=tls).run_forever(announce=announce)


def configure_limits(exchange: SandboxExchange, *, faults: Path | None, private_rate: int, public_rate: int) -> None:
    """Apply `serve`'s fault file and request budgets."""
    from cryptoj.sandbox.faults import FaultConfig
    from cryptoj.sandbox.ratelimit import RateLimiter

    if private_rate < 1 or public_rate < 1:
        raise ConfigurationError("request budgets must be at least 1 per second")
    exchange.limiter = RateLimiter(private_per_second=private_rate, public_per_second=public_rate)
    if faults is not None:
        exchange.faults.configure(FaultConfig.from_file(faults))


def configure_forms(exchange: SandboxExchange, dialect: str) -> None:
    """Apply `serve --forms` (a ConfigurationError, printed as one line, for an unknown name)."""
    from cryptoj.sandbox.forms import FormsError

    try:
        exchange.forms.configure(dialect)
    except FormsError as exc:
        raise ConfigurationError(f"--forms: {exc}") from None


def build_exchange(
    *, keys: list[Path], seed: int, data: list[str], speed: float, home: Path
) -> tuple[SandboxExchange, str]:
    """The exchange `serve` runs, trusting `keys` (or `home/sandbox-key.json`, made when absent); and a note."""
    from cryptoj.sandbox.clock import SimClock
    from cryptoj.sandbox.exchange import SandboxExchange
    from cryptoj.sandbox.keys import generate_key, write_key_file

    if not 0 <= speed < float("inf"):  # NaN fails this too
        raise ConfigurationError(f"--speed must be a finite number of at least 0, got {speed}")
    exchange = SandboxExchange(seed=seed, data=parse_data_options(data), clock=SimClock(speed=speed))
    for path in keys:
        exchange.trust(CdpKey.from_file(path))
    if keys:
        return exchange, ""
    # The working folder, so each project or checkout has its own; .gitignore keeps it out of the repository.
    path = (home / SANDBOX_KEY_FILE).resolve()
    if path.exists():
        exchange.trust(CdpKey.from_file(path))
        return exchange, f"Trusting the key in {path}"
    key = generate_key()
    write_key_file(key, path)
    exchange.trust(key)
    return exchange, f"Made a new key and trusting it: {path}"


@sandbox_app.command()
def keygen(
    file: Annotated[
        Path,
        typer.Argument(
            help="Where to write the CDP key file (JSON: name, privateKey); relative to the current folder."
        ),
    ],
    ed25519: Annotated[bool, typer.Option("--ed25519", help="An Ed25519 key instead of EC P-256.")] = False,
) -> None:
    """Write a new CDP key file in the shape Coinbase lets users download."""
    from cryptoj.sandbox.keys import generate_key, write_key_file

    if file.exists():
        raise ConfigurationError(f"{file} exists; refusing to overwrite a key")
    key = generate_key(ed25519_key=ed25519)
    write_key_file(key, file)
    typer.echo(f"Wrote an {key.algorithm} key to {file.resolve()}")
