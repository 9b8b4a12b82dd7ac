"""How `kmsctl review` scales with the size of the preview: per-step time at `--steps` against a tenth of it.

    python benchmarks/review_scale.py [--steps 20000] [--repeat 5]

A preview of families (a primary, two replicas, an alias; created, updated, replaced, destroyed or unchanged)
in the shape `pulumi preview --json` prints, reviewed in process as the command does (parse, build, the
Markdown and the HTML page), in CPU time, best of `--repeat` runs of each size taken in turn. Both sizes are
measured in the same run, so the machine's speed cancels out. Lines `ratio NAME VALUE`: per-step time of the
large preview over the small one (linear = 1.0; quadratic = 10 at the default sizes).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from provider.review import build, page, parse  # noqa: E402
from provider.review import markdown as md  # noqa: E402
from tests.review.synthetic import preview  # noqa: E402


def review_seconds(text: str) -> float:
    """CPU seconds of one review: on a shared machine, wall time would count other processes' turns."""
    start = time.process_time()
    review = build(parse(text))
    md.render(review)
    page.render(review)
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    small_n, large_n = max(10, args.steps // 10), args.steps
    small_text, large_text = json.dumps(preview(small_n)), json.dumps(preview(large_n))
    review_seconds(small_text)  # imports and caches warm before either is timed
    small = large = float("inf")
    for _ in range(args.repeat):  # interleaved, best of each: a busy moment hits both sizes alike
        small = min(small, review_seconds(small_text))
        large = min(large, review_seconds(large_text))
    print(f"review {small_n} steps: {small:.3f} s ({small / small_n * 1e6:.1f} us/step)")
    print(f"review {large_n} steps: {large:.3f} s ({large / large_n * 1e6:.1f} us/step)")
    print(f"ratio review_per_step_{large_n}_over_{small_n} {(large / large_n) / (small / small_n):.3f}")


if __name__ == "__main__":
    main()
