"""Convert the LEAN Coinbase 1-minute trade bars in ../shared/data into the sandbox's packaged data.

Run once from the repository root: ``uv run python scripts/convert_lean_bars.py [SOURCE_DIR]``.
Each LEAN zip holds one headerless CSV (`ms since midnight, open, high, low, close, volume`); the output is
a gzip CSV per product with header `start,open,high,low,close,volume` (`start` in epoch seconds), the
decimal text copied unchanged.
"""

from __future__ import annotations

import calendar
import gzip
import io
import sys
import time
import zipfile
from pathlib import Path

SOURCES = {
    "btc_usd_1m.csv.gz": [
        "lean_coinbase_minute_btcusd_20180405_trade.zip",
        "lean_coinbase_minute_btcusd_20180406_trade.zip",
    ],
    "eth_usd_1m.csv.gz": ["lean_coinbase_minute_ethusd_20180405_trade.zip"],
}
OUT = Path(__file__).resolve().parent.parent / "cryptoj" / "sandbox" / "data"


def convert(source_dir: Path) -> None:
    """Write one gzip CSV per product from its LEAN zips."""
    for target, zips in SOURCES.items():
        lines = ["start,open,high,low,close,volume"]
        for name in zips:
            day = name.rsplit("_", 2)[-2]  # YYYYMMDD
            midnight = calendar.timegm(time.strptime(day, "%Y%m%d"))
            with zipfile.ZipFile(source_dir / name) as archive:
                (inner,) = archive.namelist()
                text = archive.read(inner).decode("ascii")
            for row in io.StringIO(text):
                ms, *values = row.strip().split(",")
                lines.append(",".join([str(midnight + int(ms) // 1000), *values]))
        # mtime=0 keeps the output byte-for-byte reproducible.
        with gzip.GzipFile(OUT / target, "wb", mtime=0) as out:
            out.write(("\n".join(lines) + "\n").encode("ascii"))
        print(f"{target}: {len(lines) - 1} bars")


if __name__ == "__main__":
    convert(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/data"))
