"""Measure the compact cache: build rate, size per 1,000 images, bytes a trainer reads.

    python scripts/bench_cache.py [--per-class 40] [--workers 2] [--jpeg-size 500x375]

Writes a CUB-format root of synthetic JPEGs (48 classes x ``per-class`` images, Shapes
pictures upscaled to ``--jpeg-size`` with pixel noise so that files have about the size
and decoding cost of photographs; **not CUB**), then

1. builds the 76x76 cache with ``--workers`` decoding processes (and, for comparison, the
   same build decoding each JPEG at full size, and a cache of in-memory Shapes images at
   64x64, which needs no decoding);
2. reports images/s, the cache's bytes per 1,000 images (images, index, and the float16
   embeddings a trainer would add), and the bytes per sample a trainer reads;
3. reads random batches of 64 from the memory-mapped cache, as a trainer does, and
   reports samples/s.

The JPEGs are synthetic, so the build rate is an estimate for CUB (real photographs of
about 500x375 and 40-80 KB each decode at a similar cost); the size figures are exact.
"""

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch

from t2ilib.data import cub, fixtures
from t2ilib.data.cache import add_embeddings, build_cache, cache_size_bytes, load_cache
from t2ilib.data.shapes import CLASSES, Shapes


class FullDecode(torch.utils.data.Dataset):
    """A dataset's items without its ``get_resized`` shortcut (decode at full size)."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        return self.dataset[i]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-class", type=int, default=40, help="images per class (48 classes)")
    parser.add_argument("--workers", type=int, default=2, help="decoding processes")
    parser.add_argument("--jpeg-size", default="500x375", help="W x H of the synthetic JPEGs")
    parser.add_argument("--noise", type=float, default=6.0, help="pixel noise of the JPEGs")
    parser.add_argument("--repeats", type=int, default=3, help="timed builds (median reported)")
    parser.add_argument("--out", default=None, help="work folder (default: a temporary one)")
    args = parser.parse_args()
    w, h = (int(x) for x in args.jpeg_size.lower().split("x"))
    work = Path(args.out or tempfile.mkdtemp(prefix="bench_cache_"))
    torch.set_num_threads(1)

    # -- 1. a CUB-format root of synthetic JPEGs --------------------------------------------
    start = time.perf_counter()
    root = work / "cub"
    if not (root / "CUB_200_2011" / "images.txt").exists():
        fixtures.write_cub(
            root, n_classes=len(CLASSES), per_class=args.per_class, n_test_classes=0,
            image_size=(w, h), noise=args.noise,
        )  # fmt: skip
    ds = cub.CUB(root, "all")
    n = len(ds)
    jpeg_bytes = sum(s.path.stat().st_size for s in ds.samples)
    print(f"root: {n} synthetic JPEGs of {w}x{h}, mean {jpeg_bytes / n / 1024:.1f} KiB "
          f"(written in {time.perf_counter() - start:.1f} s)")  # fmt: skip

    # -- 2. build rate and size ------------------------------------------------------------
    rates = []
    for r in range(args.repeats):
        path = work / f"cache_{r}"
        shutil.rmtree(path, ignore_errors=True)
        t0 = time.perf_counter()
        build_cache(ds, path, num_workers=args.workers)
        rates.append(n / (time.perf_counter() - t0))
    rate = statistics.median(rates)
    path = work / "cache_0"
    base_bytes = cache_size_bytes(path)
    index_bytes = (path / "index.json").stat().st_size
    add_embeddings(path, torch.zeros(n, 10, 1024))
    with_emb = cache_size_bytes(path)
    cache = load_cache(path)

    # The same build without JPEG draft decoding: full-size decode, then resize.
    t0 = time.perf_counter()
    build_cache(FullDecode(ds), work / "full_decode", num_workers=args.workers, overwrite=True)
    full_rate = n / (time.perf_counter() - t0)

    shapes = Shapes(n=n, split="all", image_size=64)
    t0 = time.perf_counter()
    build_cache(shapes, work / "shapes_cache", num_workers=0, overwrite=True)
    shapes_rate = n / (time.perf_counter() - t0)

    # -- 3. what a trainer reads -------------------------------------------------------------
    g = torch.Generator().manual_seed(0)
    batches, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 2.0:
        idx = torch.randint(0, n, (64,), generator=g)
        x = cache.images[idx]  # (64, 3, 76, 76) uint8
        e = cache.embeddings[idx]  # (64, 10, 1024) float16
        assert x.shape == (64, 3, 76, 76) and e.shape == (64, 10, 1024)
        batches += 1
    read_rate = batches * 64 / (time.perf_counter() - t0)

    result = {
        "images": n,
        "cpu_cores": os.cpu_count(),
        "workers": args.workers,
        "jpeg": f"{w}x{h}, mean {jpeg_bytes / n / 1024:.1f} KiB (synthetic)",
        "build_images_per_s": round(rate, 1),
        "build_images_per_s_runs": [round(x, 1) for x in rates],
        "build_images_per_s_without_draft_decoding": round(full_rate, 1),
        "shapes_in_memory_images_per_s": round(shapes_rate, 1),
        "cache_MB_per_1000_images": round(base_bytes / n * 1000 / 1e6, 2),
        "index_json_KB_per_1000_images": round(index_bytes / n * 1000 / 1e3, 1),
        "cache_with_embeddings_MB_per_1000_images": round(with_emb / n * 1000 / 1e6, 2),
        "bytes_per_sample_read_by_trainer": cache.bytes_per_sample,
        "bytes_per_sample_image_only": 3 * 76 * 76,
        "trainer_random_batch_read_samples_per_s": round(read_rate),
    }
    print(json.dumps(result, indent=1))
    if args.out is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
