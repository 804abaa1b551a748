"""Measure the Shapes generation rate on one core.

    python scripts/bench_shapes.py [--n 4000] [--repeats 5] [--image-size 64]

Pins the process to one CPU core, generates ``n`` images (with their ten captions each)
``repeats`` times, and prints the median rate with the rates of its two stages.
"""

import os

# One core: pin the process and keep BLAS/OpenMP to one thread, before numpy is imported.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

from t2ilib.data import shapes  # noqa: E402


def timed(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--image-size", type=int, default=64, choices=shapes.IMAGE_SIZES)
    args = parser.parse_args()
    n, size = args.n, args.image_size
    attrs = shapes.sample_attributes(n, 0)
    shapes.make_dataset(256, size, 0)  # warm-up
    total, render, captions = [], [], []
    for r in range(args.repeats):
        total.append(n / timed(shapes.generate, n, size, r))
        render.append(n / timed(shapes.render, attrs, size))
        captions.append(n / timed(shapes.make_captions, attrs, r))
    print(f"Shapes generation, {n} images at {size}x{size}, one core, median of {args.repeats}:")
    print(f"  generate (images + 10 captions): {statistics.median(total):8,.0f} images/s")
    print(f"  render only:                     {statistics.median(render):8,.0f} images/s")
    print(f"  captions only:                   {statistics.median(captions):8,.0f} images/s")


if __name__ == "__main__":
    main()
