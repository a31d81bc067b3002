"""Trading worker processes for the fault-tolerance run: trading_cycle flow runs, one after another, until a deadline.

`python -m tests.utils.helpers.cycle_worker` is a zygote: it imports the flows once, prints `ready SECONDS`
(its import time), then forks one worker per line `PROGRESS WORKER FIRST DEADLINE ERRFILE` read from stdin
(or one reconcile flow run per line `reconcile OUTFILE ERRFILE`, writing its result as JSON to OUTFILE)
and answers each with the child's pid. Killing a worker and starting its replacement so costs a fork, not
the 7 s of CPU a fresh interpreter spends importing Prefect and the services (measured: 40-46 s of wall
time for three at once on the loaded 2-core test machine, longer than most cycles).

A worker runs the cycles keyed `longrun/wWORKER@N` for N = FIRST, FIRST + 1, ... against the Prefect API
and the exchange the environment names (PREFECT_API_URL, CRYPTOJ_*), starting no new cycle after DEADLINE
(a Unix time) or once a file named `stop` is in PROGRESS's folder (the run has the intents it wanted); cycle
FIRST always runs, since a replacement starts at the cycle its killed predecessor was in. A flow run that
ends failed is run again with the same key, as a Prefect flow retry would. It appends `start KEY TIME` and
`end KEY STATE TIME` to PROGRESS, and `done` when it stops, each flushed, so whoever kills it knows where it
was.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import signal
import sys
import time
import traceback
from decimal import Decimal
from pathlib import Path
from typing import NoReturn

__all__ = ["cycle_key", "weights_for"]

ATTEMPTS = 3  # flow runs per cycle: the first, and re-runs of a run that ended failed


def cycle_key(worker: int, number: int) -> str:
    """The key of a worker's `number`th cycle: the same in the worker that dies and its replacement."""
    return f"longrun/w{worker}@{number}"


def weights_for(products: list[str], number: int) -> str:
    """CRYPTOJ_REBALANCE_WEIGHTS for a cycle: the weights swing between cycles so every product trades."""
    # 20 % or 60 % of equity over all the products (LONGRUN_PRODUCTS of them): several workers' buys fit.
    weight = (Decimal("0.2") if number % 2 == 0 else Decimal("0.6")) / len(products)
    return "{" + ",".join(f'"{pid}": "{weight}"' for pid in products) + "}"


async def _run(progress: Path, worker: int, first: int, deadline: float) -> None:
    from cryptoj.config import load_settings
    from flows._runtime import prefect_clients
    from flows.trading import trading_cycle

    products = load_settings().products
    number = first
    # One pair of Prefect clients for all the worker's cycles, as `cryptoj run` holds for its flows.
    async with prefect_clients():
        with progress.open("a", encoding="utf-8") as out:
            stop = progress.parent / "stop"
            while number == first or (time.time() < deadline and not stop.exists()):
                key = cycle_key(worker, number)
                os.environ["CRYPTOJ_REBALANCE_WEIGHTS"] = weights_for(products, number)
                out.write(f"start {key} {time.time():.3f}\n")
                out.flush()
                state = "NOT_RUN"
                for _ in range(ATTEMPTS):
                    try:
                        result = await trading_cycle(key=key, return_state=True)
                    except Exception as exc:  # the Prefect API failed the run's creation: run it again
                        state = f"ERROR:{type(exc).__name__}"
                        continue
                    state = result.type.value
                    if result.is_completed():
                        break
                out.write(f"end {key} {state} {time.time():.3f}\n")
                out.flush()
                number += 1
            out.write("done\n")


def _reconcile(out: Path) -> None:
    from flows.reconcile import reconcile

    out.write_text(json.dumps(asyncio.run(reconcile())), encoding="utf-8")


def _child(line: str) -> NoReturn:
    """The forked child: run the cycles (or the reconcile flow), then leave without the zygote's clean-up."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    *args, err = line.split()
    with open(err, "ab") as errors:  # its descriptor goes under stderr
        os.dup2(errors.fileno(), 2)
    code = 0
    try:
        if args[0] == "reconcile":
            _reconcile(Path(args[1]))
        else:
            asyncio.run(_run(Path(args[0]), int(args[1]), int(args[2]), float(args[3])))
    except BaseException:  # whatever ends the worker is written down
        traceback.print_exc()
        code = 1
    sys.stderr.flush()
    os._exit(code)


# What a flow run imports on first use (Prefect's engines, the FastAPI encoder its parameters go through,
# anyio's backend, sqlite3, ...): imported by the zygote, or every fork pays for them again, about 1 s of CPU
# each (measured: a fifth of the workers' CPU in a run with ten worker starts). Found by listing sys.modules
# in a worker after its cycles against the list before them.
_FIRST_USE = (
    "anyio._backends._asyncio",
    "anyio.streams.tls",
    "cryptography.hazmat.backends.openssl",
    "encodings.idna",
    "fastapi",
    "fastapi.encoders",
    "prefect._internal.attempt_control",
    "prefect._internal.control_listener",
    "prefect.concurrency.v1.context",
    "prefect.engine",
    "prefect.flow_engine",
    "prefect.task_engine",
    "prefect.telemetry.run_telemetry",
    "prefect.utilities.visualization",
    "pydantic.color",
    "rich._emoji_codes",
    "sqlite3",
    "stringprep",
)


def _zygote() -> None:
    began = time.monotonic()
    import flows.reconcile
    import flows.trading  # noqa: F401 - imported once here, inherited by every fork

    for name in _FIRST_USE:
        importlib.import_module(name)

    print(f"ready {time.monotonic() - began:.2f}", flush=True)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers are reaped as they die; the killer needs no status
    for line in sys.stdin:
        pid = os.fork()
        if pid == 0:
            _child(line)
        print(pid, flush=True)


if __name__ == "__main__":
    _zygote()
