"""Time and memory of ``make_group_ratings`` at 1 million and 10 million ratings.

Usage::

    python benchmarks/bench_synthetic.py            # both sizes
    python benchmarks/bench_synthetic.py --sizes 1m # only 1 million

For each size: wall time of the best of ``--repeat`` runs, then the peak of memory
allocated during one more run (``tracemalloc``, which sees numpy's and pandas' buffers),
the size of the returned ``X`` and ``y``, and the process's peak resident set size at the
end. Timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
import tracemalloc

from sk_grouprec.datasets._synthetic import make_group_ratings

SIZES = {
    "1m": dict(n_users=100_000, n_items=20_000, n_ratings=1_000_000),
    "10m": dict(n_users=500_000, n_items=50_000, n_ratings=10_000_000),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", choices=sorted(SIZES), default=["1m", "10m"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"python {sys.version.split()[0]}")
    for name in args.sizes:
        params = SIZES[name]
        times = []
        for seed in range(args.repeat):
            start = time.perf_counter()
            X, y = make_group_ratings(**params, random_state=seed)
            times.append(time.perf_counter() - start)
            del X, y
            gc.collect()
        tracemalloc.start()
        X, y = make_group_ratings(**params, random_state=0)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        result_mb = (X.memory_usage(deep=True).sum() + y.nbytes) / 2**20
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{name:>4}: {params}  best of {args.repeat}: {min(times):.2f} s "
            f"(all: {', '.join(f'{t:.2f}' for t in times)}); peak traced {peak / 2**20:.0f} MiB; "
            f"result {result_mb:.0f} MiB; process max RSS so far {rss_mb:.0f} MiB"
        )
        del X, y
        gc.collect()


if __name__ == "__main__":
    main()
