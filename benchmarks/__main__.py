"""``make bench``: run every benchmark and print its figures (nothing is asserted).

Usage: ``python -m benchmarks [--quick] [--only NAME ...] [--peers]``.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
import time

BENCHMARKS = [
    "intacct_read",
    "intacct_post",
    "preflight",
    "salesforce",
    "actions",
    "kpi",
    "o2c",
    "exactly_once",
    "arrow",
    "fleet",
    "peers_intacct",
    "peers_salesforce",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="smaller volumes, for a smoke run")
    parser.add_argument("--only", nargs="*", default=None, help="benchmark module names")
    parser.add_argument("--peers", action="store_true", help="also measure peer libraries")
    args = parser.parse_args(argv)
    print(f"# intacct_sync benchmarks, {time.strftime('%Y-%m-%d %H:%M')}")
    print(
        f"# {platform.python_implementation()} {platform.python_version()} on {platform.machine()}, "
        f"{platform.system()}; quick={args.quick}"
    )
    for name in args.only or BENCHMARKS:
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"\n## {name}: {(module.__doc__ or '').strip().splitlines()[0]}")
        sys.stdout.flush()
        module.run(quick=args.quick, peers=args.peers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
