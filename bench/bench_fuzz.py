"""Grammar fuzz of a live node on 127.0.0.1 (the long form of tests/test_fuzz.py).

    python bench/bench_fuzz.py --packets 1000000 [--time-limit 600] [--seed 13]

Prints packets/s, the target's drops by reason, handler calls (re-signed and unsigned mutants only),
honest pings completed, and RSS when warm and at the end. Exit status 1 if an invariant broke.
IPV8FAST_NO_EXTENSIONS=1 runs it on the pure twins.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

import fuzz_scenario  # noqa: E402

import ipv8fast  # noqa: E402
from ipv8fast.udp_endpoint import new_event_loop  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--time-limit", type=float, default=600.0, help="seconds (the run stops there)")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    loop = new_event_loop()
    errors: list = []
    loop.set_exception_handler(lambda _loop, context: errors.append(str(context.get("message"))))
    try:
        outcome = loop.run_until_complete(fuzz_scenario.run(args.packets, args.time_limit, args.seed))
    finally:
        loop.close()
    stats = outcome.stats
    report = {
        "compiled": ipv8fast.COMPILED,
        "packets": stats.sent,
        "seconds": round(stats.seconds, 2),
        "packets_per_second": round(stats.rate),
        "drops": dict(sorted(outcome.drops.items())),
        "handler_calls_bad_signature": outcome.bad_handler_calls,
        "handler_calls_resigned": outcome.resigned_handler_calls,
        "handler_calls_unsigned": outcome.unsigned_calls,
        "honest": f"{outcome.honest_completed}/{outcome.honest_sent}",
        "listener_errors": outcome.listener_errors,
        "loop_errors": len(errors),
        "blocked_sends": outcome.blocked_sends,
        "rss_kib": {"before": stats.rss_before_kib, "warm": outcome.rss_warm_kib, "end": outcome.rss_end_kib},
        "by_operator": dict(sorted(stats.by_operator.items())),
    }
    print(json.dumps(report, indent=2))
    broken = (outcome.bad_handler_calls or outcome.listener_errors or errors or outcome.drops.get("handler_error")
              or stats.sent < args.packets or outcome.honest_completed < 0.95 * outcome.honest_sent)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
