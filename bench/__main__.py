"""`make bench`: run every benchmark and print its figures (see docs/benchmarks.md)."""
from __future__ import annotations

import argparse

from bench import http_bench, import_bench, qr_decode, qr_size, scan_latency, statuslist_bench, sync_bench, verify_speed

# In the order of the table (figure numbers in docs/benchmarks.md).
BENCHES = {"verify": verify_speed.main, "http": http_bench.main, "decode": qr_decode.main,
           "import": import_bench.main, "statuslist": statuslist_bench.main, "qr": qr_size.main,
           "sync": sync_bench.main, "scan": scan_latency.main}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", help=f"which benchmarks: {', '.join(BENCHES)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="a short smoke run (used by the tests)")
    args = parser.parse_args()
    unknown = set(args.names) - set(BENCHES)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    for name in args.names or BENCHES:
        print(f"== {name}")
        BENCHES[name](quick=args.quick)


if __name__ == "__main__":
    main()
