"""Does the `ci` profile (every property, 100 examples each) catch every zoo server, and how long
does each take? The issue's goal: the ci profile under 60 s for one target while still catching
every zoo server.

    python benchmarks/zoo_ci.py [--seed N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conformance.context import SuiteContext
from conformance.divergences import Divergence
from conformance.properties import PROPERTIES
from conformance.records import walk_exceptions
from conformance.servers.reference import asgi_app
from conformance.servers.zoo import ZOO
from conformance.targets import AsgiTarget


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    caught, slowest = 0, 0.0
    for server in ZOO:
        target = AsgiTarget(asgi_app(server.policy, cors=server.cors))
        ctx = SuiteContext(
            target=target,
            policy=server.policy,
            profile="ci",
            seed=args.seed,
            paths=server.paths or ("/",),
        )
        kinds: set[str] = set()
        started = time.perf_counter()
        for prop in PROPERTIES:
            try:
                prop.build(ctx)()
            except Exception as exc:  # divergences (possibly grouped): what we look for
                kinds.update(e.kind for e in walk_exceptions(exc) if isinstance(e, Divergence))
        elapsed = time.perf_counter() - started
        slowest = max(slowest, elapsed)
        hit = server.expected_kind in kinds
        caught += hit
        print(f"{server.name:42s} {'caught' if hit else 'MISSED'} {elapsed:5.1f} s", flush=True)
        target.close()
    print(
        f"caught {caught}/{len(ZOO)} with the ci profile, seed {args.seed}; "
        f"slowest server {slowest:.1f} s (goal: every one caught, under 60 s)"
    )


if __name__ == "__main__":
    main()
