"""Money as Arrow decimal128 vs Python Decimal objects: peak memory per 100,000 values.

The same 100,000 wire amounts (``"1234.56"``, variable scale, as Intacct sends them) held as a
pandas ``object`` column of ``Decimal`` (what ``frames`` builds) and as an Arrow
``decimal128(38, 10)`` column (what :func:`intacct_sync.arrow.to_arrow` gives), side by side.
Python allocations are measured with tracemalloc; Arrow's buffers come from its own memory pool,
measured by the pool's peak. Conversion time is the Decimal column -> Arrow.
"""

from __future__ import annotations

import gc
import random
from decimal import Decimal

from benchmarks._support import mib, peak_python_memory, timed
from intacct_sync import frames

PER = 100_000


def _amounts(n: int) -> list[str]:
    rng = random.Random(42)
    return [f"{rng.randint(-99_999_999, 99_999_999) / 100:.2f}" for _ in range(n)]


def run(*, quick: bool = False, peers: bool = False) -> None:
    try:
        import pyarrow as pa
    except ImportError:
        print("- pyarrow is not installed (pip install 'intacct-sync[arrow]'); skipped")
        return
    from intacct_sync.arrow import to_arrow

    n = PER if quick else 2 * PER
    wire = _amounts(n)
    gc.collect()
    peak, frame = peak_python_memory(
        lambda: frames.build_frame({"AMOUNT": wire}, {"AMOUNT": "decimal"})
    )
    python_per = peak * PER / n
    pool = pa.default_memory_pool()
    before = pool.bytes_allocated()
    seconds, table = timed(lambda: to_arrow(frame))
    arrow_bytes = table.column("AMOUNT").nbytes
    held = pool.bytes_allocated() - before
    arrow_per = max(arrow_bytes, held) * PER / n
    exact = sum(table.column("AMOUNT").to_pylist(), Decimal(0)) == sum(frame["AMOUNT"], Decimal(0))
    print(f"- {n:,} amounts; figures per {PER:,} values")
    print(f"- Decimal objects (pandas object column), peak Python memory: {mib(python_per)}")
    print(f"- Arrow decimal128(38, 10), buffers held: {mib(arrow_per)}")
    print(f"- ratio: {python_per / arrow_per:.1f}x less memory as Arrow")
    print(f"- Decimal column -> Arrow: {seconds * PER / n * 1000:.0f} ms per {PER:,} values")
    print(f"- totals equal to the cent after conversion: {exact}")
