"""`make bench`: run every benchmark and print its figures (see docs/benchmarks.md)."""
from __future__ import annotations

import argparse
import inspect
from pathlib import Path

from bench import (app_shell, browser_decode, browser_verify, http_bench, import_bench, qr_decode, qr_size,
                   scan_latency, statuslist_bench, sync_bench, verify_speed)

# In the order of the table (figure numbers in docs/benchmarks.md).
BENCHES = {"verify": verify_speed.main, "http": http_bench.main, "decode": qr_decode.main,
           "import": import_bench.main, "statuslist": statuslist_bench.main, "qr": qr_size.main,
           "sync": sync_bench.main, "scan": scan_latency.main, "browser-decode": browser_decode.main,
           "browser": browser_verify.main, "app": app_shell.main}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", help=f"which benchmarks: {', '.join(BENCHES)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="a short smoke run (used by the tests)")
    parser.add_argument("--plots", type=Path, metavar="DIR",
                        help="also draw the charts (SVG) where a curve says more than a table")
    args = parser.parse_args()
    unknown = set(args.names) - set(BENCHES)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    for name in args.names or BENCHES:
        print(f"== {name}")
        bench = BENCHES[name]
        if args.plots is not None and "plots" in inspect.signature(bench).parameters:
            args.plots.mkdir(parents=True, exist_ok=True)
            bench(quick=args.quick, plots=args.plots)
        else:
            bench(quick=args.quick)


if __name__ == "__main__":
    main()
