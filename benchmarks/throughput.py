"""Images/s of the ``t2ilib`` GAN step against a plain reference loop, in one run.

    flock /tmp/t2i-cpu.lock .venv/bin/python benchmarks/throughput.py \
        --preset cub --image-size 64 --out t2ilib/results/throughput_cpu.jsonl
    .venv/bin/python benchmarks/throughput.py --device cuda --amp --channels-last

What is measured (issue #13, part 2), for each variant of Reed et al. (2016) and on the
current device:

* **t2ilib**: :class:`t2ilib.train.gan.GANTrainer` with the authors' recipe (``paper``),
  reading the uint8 76x76 cache (:mod:`t2ilib.data.cache`) built once from the JPEG files;
  crops, flips and caption averaging on the training device. Timed through
  ``trainer.train(steps)``.
* **reference**: the loop written the way the existing PyTorch ports are
  (aelnouby/Text-to-Image-Synthesis, pytorch/examples' DCGAN): a ``DataLoader`` whose
  ``Dataset`` opens each JPEG with PIL at every step, resizes it to 76x76, crops 64x64 at
  random, flips, ``ToTensor`` + ``Normalize`` (torchvision), and averages 4 of the image's 10
  caption embeddings; GAN-CLS variants also decode a real image of another class (the
  authors' wrong image). The D step runs D separately on the real, wrong and fake pairs,
  each with its own backward; the G step follows (GAN-INT: the 32 interpolated embeddings
  0.5 (h[i] + h[i + 32]) added to G's batch, as in the authors' code); ``.item()`` on the
  losses and D's outputs every step, as the ports log them.

Both use the SAME ``Generator`` / ``Discriminator`` classes, config and initial weights
(:mod:`t2ilib.models.dcgan`) and the same Adam settings, so the difference is the loop and
the data path only. The reference is kept favourable on one point: its fake images for D
are detached (pytorch/examples) instead of back-propagated into G as aelnouby's loop does.
AMP, channels_last and torch.compile apply to both loops.

The JPEGs are synthetic (:func:`t2ilib.data.fixtures.write_cub`: Shapes pictures upscaled to
500x375 with pixel noise, so that they have about the size and decoding cost of CUB's
photographs; **not CUB**), written once to a temporary folder and read from the page cache,
as in any epoch after the first. At 32x32 (the ``cpu`` profile's networks) both paths load
at 38x38 (76 * 32 / 64) and crop 32x32.

Timing: after ``--warmup`` steps, ``--steps`` steps are timed as one block (CUDA is
synchronised before each clock read); images/s = batch * steps / seconds. Each repeat runs
t2ilib, then the reference once per ``--num-workers`` value, so changes in the machine's
load hit every loop alike; reported are the medians over ``--repeats``. The reference's
figure is its best worker count; the ratio is t2ilib's median over that. The reference's
loader is created anew each repeat (workers started during its warm-up) and covers exactly
the warm-up and timed batches, so no worker decodes while another loop is timed.

``--breakdown-steps`` > 0 also measures where the time goes, untimed by the above: the
reference's data path alone (batches drawn from its loader in this process, i.e. decoding
cost per batch) and its step alone on a batch already in memory, and the same for t2ilib
(``trainer.next_batch()`` and ``trainer.step(batch)``).

Each variant appends one JSON row to ``--out``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import inspect
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, RandomSampler

from t2ilib.data import cub, fixtures
from t2ilib.data.cache import add_embeddings, build_cache, load_cache
from t2ilib.data.shapes import CLASSES
from t2ilib.models.dcgan import DCGANConfig, Discriminator, Generator, preset
from t2ilib.profiles import PROFILES
from t2ilib.train.gan import VARIANTS, GANData, GANTrainConfig, GANTrainer

PAPER_VARIANTS = ("gan", "gan-cls", "gan-int", "gan-int-cls")
LOAD_SIZE = {64: 76, 32: 38}  # the authors' load size, 76 for 64x64 crops (and its 32 analogue)


@dataclasses.dataclass(frozen=True)
class BenchConfig:
    """What one benchmark run measures. One comment per field."""

    device: str = "cuda" if torch.cuda.is_available() else "cpu"  # where both loops train
    preset: str = "cub"  # t2ilib.models.dcgan preset, or "cpu-profile" (dcgan, ngf=ndf=32)
    image_size: int = 64  # side of G's images (64 as in the paper; 32 for the cpu profile)
    variants: tuple[str, ...] = PAPER_VARIANTS  # the paper's models to measure
    steps: int = 8  # timed steps per repeat and loop
    warmup: int = 2  # untimed steps before each timed block
    repeats: int = 3  # timed blocks per loop; medians reported
    batch_size: int = 64  # images per step (the authors': 64)
    num_workers: tuple[int, ...] = (8,)  # reference DataLoader workers to try (aelnouby: 8)
    amp: bool = False  # mixed precision in both loops (float16 on CUDA, bfloat16 on CPU)
    channels_last: bool = False  # channels_last memory format in both loops
    compile: bool = False  # torch.compile G and D in both loops
    breakdown_steps: int = 3  # > 0: measure data path and step apart, this many times each
    n_classes: int = len(CLASSES)  # classes of the synthetic JPEG root
    per_class: int = 6  # images per class
    jpeg_size: tuple[int, int] = (500, 375)  # W, H of the JPEGs (CUB's typical size)
    noise: float = 6.0  # pixel noise of the JPEGs (gives them photographs' entropy)
    seed: int = 0  # networks' init and every draw of both loops


def model_config(name: str, image_size: int) -> DCGANConfig:
    """The networks both loops train: a dcgan preset, or the cpu profile's (``cpu-profile``)."""
    if name == "cpu-profile":
        p = PROFILES["cpu"]
        return preset(p.gan_preset, image_size=image_size, ngf=p.gan_width, ndf=p.gan_width)
    return preset(name, image_size=image_size)


# ---------------------------------------------------------------------------------------
# The images: JPEG files once, and the t2ilib cache built from the same files
# ---------------------------------------------------------------------------------------


@dataclasses.dataclass
class Files:
    """The JPEG files, their labels and caption embeddings, and the cache built from them."""

    paths: list[Path]
    labels: torch.Tensor  # (N,) int64 class indices
    embeddings: torch.Tensor  # (N, 10, 1024) float32, what both loops read
    data: GANData  # the t2ilib side: memory-mapped uint8 cache at the load size
    cache_seconds: float  # time to decode every file once into the cache
    jpeg_kib: float  # mean file size


def write_files(cfg: BenchConfig, work: Path) -> Files:
    """Write the JPEG root (once per folder) and the cache of t2ilib's load size."""
    root = work / "cub"
    if not (root / "CUB_200_2011" / "images.txt").exists():
        fixtures.write_cub(
            root,
            n_classes=cfg.n_classes,
            per_class=cfg.per_class,
            n_test_classes=0,
            image_size=cfg.jpeg_size,
            noise=cfg.noise,
        )
    ds = cub.CUB(root, "all")
    n = len(ds)
    g = torch.Generator().manual_seed(cfg.seed)
    embeddings = torch.randn(n, 10, 1024, generator=g).half().float()  # as the cache stores
    load = LOAD_SIZE[cfg.image_size]
    path = work / f"cache{load}"
    start = time.perf_counter()
    if not (path / "meta.json").exists():
        build_cache(ds, path, image_size=load, num_workers=0)
        add_embeddings(path, embeddings)
    seconds = time.perf_counter() - start
    paths = [s.path for s in ds.samples]
    return Files(
        paths=paths,
        labels=torch.tensor([s.label for s in ds.samples]),
        embeddings=embeddings,
        data=GANData.from_dataset(load_cache(path)),
        cache_seconds=seconds,
        jpeg_kib=sum(p.stat().st_size for p in paths) / n / 1024,
    )


# ---------------------------------------------------------------------------------------
# The reference: a port's Dataset and loop
# ---------------------------------------------------------------------------------------


class ReferenceDataset(Dataset):
    """What the ports' datasets return per image: the image decoded and augmented now, the
    mean of 4 of its 10 caption embeddings, and (GAN-CLS) a real image of another class."""

    def __init__(self, files: Files, image_size: int, wrong: bool, captions_per_sample=4):
        from torchvision import transforms

        self.paths, self.labels, self.embeddings = files.paths, files.labels, files.embeddings
        self.wrong, self.k = wrong, captions_per_sample
        load = LOAD_SIZE[image_size]
        self.transform = transforms.Compose(
            [
                transforms.Resize((load, load)),  # squash to 76x76, as the authors' loader
                transforms.RandomCrop(image_size),
                transforms.RandomHorizontalFlip(),
                transforms.ToTensor(),
                transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),  # [-1, 1]
            ]
        )

    def __len__(self) -> int:
        return len(self.paths)

    def _image(self, i: int) -> torch.Tensor:
        from PIL import Image

        with Image.open(self.paths[i]) as img:
            return self.transform(img.convert("RGB"))  # (3, S, S)

    def __getitem__(self, i: int) -> dict:
        pick = torch.randperm(self.embeddings.shape[1])[: self.k]
        item = {"right_image": self._image(i), "right_embed": self.embeddings[i, pick].mean(0)}
        if self.wrong:  # aelnouby's find_wrong_image: any image of another class
            while True:
                j = int(torch.randint(len(self.paths), ()))
                if self.labels[j] != self.labels[i]:
                    break
            item["wrong_image"] = self._image(j)
        return item


class ReferenceLoop:
    """The ports' training loop over the same G and D as t2ilib (same config, same init)."""

    def __init__(self, files: Files, mc: DCGANConfig, tc: GANTrainConfig, device: str):
        self.files, self.mc, self.tc = files, mc, tc
        self.device = torch.device(device)
        cuda = self.device.type == "cuda"
        torch.manual_seed(tc.seed)  # the same initial weights as GANTrainer's
        self.G = Generator(mc).to(self.device)
        self.D = Discriminator(mc).to(self.device)
        if tc.channels_last:
            self.G = self.G.to(memory_format=torch.channels_last)
            self.D = self.D.to(memory_format=torch.channels_last)
        self.g_fn = torch.compile(self.G) if tc.compile else self.G
        self.d_fn = torch.compile(self.D) if tc.compile else self.D
        betas = (tc.beta1, tc.beta2)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=tc.lr * tc.g_lr_ratio, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=tc.lr, betas=betas)
        self.amp_dtype = torch.float16 if cuda else torch.bfloat16
        self.scaler_d = torch.amp.GradScaler("cuda", enabled=tc.amp and cuda)
        self.scaler_g = torch.amp.GradScaler("cuda", enabled=tc.amp and cuda)
        self.dataset = ReferenceDataset(files, mc.image_size, tc.cls, tc.captions_per_sample)

    def loader(self, batches: int, num_workers: int) -> DataLoader:
        """A loader of exactly ``batches`` shuffled batches (then its workers stop)."""
        sampler = RandomSampler(self.dataset, num_samples=batches * self.tc.batch_size)
        return DataLoader(
            self.dataset,
            batch_size=self.tc.batch_size,
            sampler=sampler,
            num_workers=num_workers,
            drop_last=True,
            pin_memory=self.device.type == "cuda",
        )

    def _autocast(self):
        if not self.tc.amp:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def _to(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device, non_blocking=True)
        if self.tc.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def step(self, sample: dict) -> dict[str, float]:
        """One D step then one G step, as the ports write them."""
        tc, G, D = self.tc, self.g_fn, self.d_fn
        x, h = self._to(sample["right_image"]), self._to(sample["right_embed"])
        B = x.shape[0]
        ones = torch.ones(B, device=self.device)
        zeros = torch.zeros(B, device=self.device)
        w = tc.cls_weight if tc.cls else 0.0
        self.G.train()
        self.D.train()

        # (1) D step: maximise log D(x, h) + w log(1 - D(x_wrong, h))
        #     + (1 - w) log(1 - D(G(z, h), h)), one pair kind at a time
        self.D.zero_grad()
        with self._autocast():
            real = D(x, h)  # (B,) logits
            real_loss = F.binary_cross_entropy_with_logits(real.float(), ones)
        self.scaler_d.scale(real_loss).backward()
        wrong_loss = torch.zeros(())
        if tc.cls:
            with self._autocast():
                wrong = D(self._to(sample["wrong_image"]), h)
                wrong_loss = w * F.binary_cross_entropy_with_logits(wrong.float(), zeros)
            self.scaler_d.scale(wrong_loss).backward()
        z = torch.randn(B, self.mc.nz, device=self.device)
        with self._autocast():
            fake_images = G(z, h)  # (B, 3, S, S)
            fake = D(fake_images.detach(), h)
            fake_loss = (1 - w) * F.binary_cross_entropy_with_logits(fake.float(), zeros)
        self.scaler_d.scale(fake_loss).backward()
        self.scaler_d.step(self.opt_d)
        self.scaler_d.update()

        # (2) G step: maximise log D(G(z, h), h), fresh z
        #     [GAN-INT: also h_int = 0.5 (h[i] + h[i + B/2]), each with its own z]
        self.G.zero_grad()
        h_g = h
        if tc.interpolate:
            k = B // 2
            h_g = torch.cat([h, tc.int_beta * h[:k] + (1 - tc.int_beta) * h[k : 2 * k]])
        z = torch.randn(h_g.shape[0], self.mc.nz, device=self.device)
        with self._autocast():
            out = D(G(z, h_g), h_g)
            g_loss = F.binary_cross_entropy_with_logits(out.float(), torch.ones_like(out.float()))
        self.scaler_g.scale(g_loss).backward()
        self.scaler_g.step(self.opt_g)
        self.scaler_g.update()
        # the ports log every step: .item() on losses and D's mean outputs
        return {
            "d_loss": real_loss.item() + wrong_loss.item() + fake_loss.item(),
            "g_loss": g_loss.item(),
            "d_real": torch.sigmoid(real.float()).mean().item(),
            "d_fake": torch.sigmoid(fake.float()).mean().item(),
        }


# ---------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------


def _sync(device: torch.device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _trainer_kwargs(device: str) -> dict:
    """Keywords for GANTrainer beyond the public ones, when this version offers them."""
    params = inspect.signature(GANTrainer.__init__).parameters
    if "data_on_device" in params:
        return {"data_on_device": torch.device(device).type == "cuda"}
    return {}


def make_trainer(files: Files, mc: DCGANConfig, tc: GANTrainConfig, device: str) -> GANTrainer:
    return GANTrainer(files.data, mc, tc, device=device, **_trainer_kwargs(device))


def train_config(cfg: BenchConfig, variant: str) -> GANTrainConfig:
    """The authors' recipe (GANTrainConfig defaults) for ``variant``, the run's switches."""
    return GANTrainConfig.for_variant(
        variant,
        batch_size=cfg.batch_size,
        amp=cfg.amp,
        channels_last=cfg.channels_last,
        compile=cfg.compile,
        seed=cfg.seed,
        mismatch="image",  # the authors' wrong pair, as the reference draws it
    )


def time_t2ilib(trainer: GANTrainer, steps: int, warmup: int) -> float:
    """Images/s of ``steps`` steps of ``trainer.train`` after ``warmup`` untimed ones."""
    if warmup:
        trainer.train(warmup, progress=False)
    _sync(trainer.device)
    start = time.perf_counter()
    trainer.train(steps, progress=False)
    _sync(trainer.device)
    return steps * trainer.batch_size / (time.perf_counter() - start)


def time_reference(loop: ReferenceLoop, steps: int, warmup: int, num_workers: int) -> float:
    """Images/s of ``steps`` reference steps after ``warmup`` untimed ones; a fresh loader."""
    batches = iter(loop.loader(warmup + steps, num_workers))
    for _ in range(warmup):
        loop.step(next(batches))
    _sync(loop.device)
    start = time.perf_counter()
    for _ in range(steps):
        loop.step(next(batches))
    _sync(loop.device)
    seconds = time.perf_counter() - start
    del batches  # workers stop
    return steps * loop.tc.batch_size / seconds


def breakdown(trainer: GANTrainer, loop: ReferenceLoop, n: int) -> dict[str, float]:
    """Median seconds of each loop's data path and step measured apart (n times each)."""

    def median_seconds(fn) -> float:
        times = []
        for _ in range(n):
            _sync(loop.device)
            start = time.perf_counter()
            fn()
            _sync(loop.device)
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    batches = iter(loop.loader(n + 1, 0))  # decoded in this process
    ref_data = median_seconds(lambda: next(batches))
    sample = next(batches)
    ref_step = median_seconds(lambda: loop.step(sample))
    t2i_data = median_seconds(trainer.next_batch)
    batch = trainer.next_batch()
    t2i_step = median_seconds(lambda: trainer.step(batch))
    return {
        "reference_data_s": ref_data,
        "reference_step_s": ref_step,
        "t2ilib_data_s": t2i_data,
        "t2ilib_step_s": t2i_step,
    }


def _weights(*modules) -> list[torch.Tensor]:
    return [p.detach().clone() for m in modules for p in m.parameters()]


def bench_variant(
    cfg: BenchConfig,
    files: Files,
    variant: str,
    log=print,
    command: str | None = None,
    code: dict | None = None,
) -> dict:
    """One row: median images/s of both loops for ``variant`` over ``cfg.repeats`` repeats."""
    mc = model_config(cfg.preset, cfg.image_size)
    tc = train_config(cfg, variant)
    trainer = make_trainer(files, mc, tc, cfg.device)
    loop = ReferenceLoop(files, trainer.model_config, tc, cfg.device)
    start_weights = {
        "t2ilib": _weights(trainer.G, trainer.D),
        "reference": _weights(loop.G, loop.D),
    }
    t2i: list[float] = []
    ref: dict[int, list[float]] = {w: [] for w in cfg.num_workers}
    for r in range(cfg.repeats):
        t2i.append(time_t2ilib(trainer, cfg.steps, cfg.warmup))
        for w in cfg.num_workers:
            ref[w].append(time_reference(loop, cfg.steps, cfg.warmup, w))
        log(
            f"  {variant} repeat {r + 1}/{cfg.repeats}: t2ilib {t2i[-1]:.1f} images/s, "
            + ", ".join(f"reference ({w} workers) {ref[w][-1]:.1f}" for w in cfg.num_workers)
        )
    parts = breakdown(trainer, loop, cfg.breakdown_steps) if cfg.breakdown_steps else None
    changed = {
        "t2ilib": _changed(start_weights["t2ilib"], _weights(trainer.G, trainer.D)),
        "reference": _changed(start_weights["reference"], _weights(loop.G, loop.D)),
    }
    ref_median = {w: statistics.median(v) for w, v in ref.items()}
    best = max(ref_median, key=ref_median.get)
    t2i_median = statistics.median(t2i)
    device = torch.device(cfg.device)
    return {
        "benchmark": "throughput",
        "variant": variant,
        "preset": cfg.preset,
        "image_size": cfg.image_size,
        "batch_size": cfg.batch_size,
        "device": cfg.device,
        "device_name": _device_name(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "t2ilib_images_s": round(t2i_median, 2),
        "reference_images_s": round(ref_median[best], 2),
        "ratio": round(t2i_median / ref_median[best], 3),
        "reference_num_workers": best,
        "reference_images_s_by_workers": {str(w): round(m, 2) for w, m in ref_median.items()},
        "t2ilib_repeats": [round(x, 2) for x in t2i],
        "reference_repeats": {str(w): [round(x, 2) for x in v] for w, v in ref.items()},
        "breakdown": None if parts is None else {k: round(v, 4) for k, v in parts.items()},
        "weights_changed": changed,
        "settings": {
            "steps": cfg.steps,
            "warmup": cfg.warmup,
            "repeats": cfg.repeats,
            "amp": cfg.amp,
            "channels_last": cfg.channels_last,
            "compile": cfg.compile,
            "recipe": tc.recipe,
            "ngf": mc.ngf,
            "ndf": mc.ndf,
            "load_size": LOAD_SIZE[cfg.image_size],
            "images": len(files.paths),
            "jpeg_size": list(cfg.jpeg_size),
            "jpeg_kib": round(files.jpeg_kib, 1),
            "cache_build_s": round(files.cache_seconds, 2),
            "trainer_kwargs": _trainer_kwargs(cfg.device),
        },
        "command": command,
        "code": code,
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
    }


def _changed(before: list[torch.Tensor], after: list[torch.Tensor]) -> bool:
    return any(not torch.equal(a, b.to(a.device)) for a, b in zip(before, after, strict=True))


def code_version() -> dict:
    """The commit this run's t2ilib came from and digests of the step's source files as
    imported, since the loop may have uncommitted changes."""
    import hashlib
    import subprocess

    import t2ilib.data.gan_data
    import t2ilib.train.gan

    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    digests = {
        m.__name__: hashlib.sha256(Path(m.__file__).read_bytes()).hexdigest()[:12]
        for m in (t2ilib.train.gan, t2ilib.data.gan_data)
    }
    return {"commit": commit, "sha256": digests}


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import os

    return f"{platform.processor() or platform.machine()} CPU, {os.cpu_count()} cores"


def run(
    cfg: BenchConfig,
    out: str | None = None,
    work: str | None = None,
    log=print,
    command: str | None = None,
) -> list[dict]:
    """Measure every variant of ``cfg``; append the rows to ``out``; return them."""
    for v in cfg.variants:
        if v not in VARIANTS or v == "dcgan":
            raise ValueError(f"unknown variant {v!r}; valid variants are {PAPER_VARIANTS}")
    if cfg.image_size not in LOAD_SIZE:
        raise ValueError(f"image_size must be one of {tuple(LOAD_SIZE)}, got {cfg.image_size}")
    code = code_version()  # the step's source as imported by this process
    with contextlib.ExitStack() as stack:
        if work is None:
            work = stack.enter_context(tempfile.TemporaryDirectory(prefix="t2i_throughput_"))
        files = write_files(cfg, Path(work))
        log(
            f"{len(files.paths)} JPEGs of {cfg.jpeg_size[0]}x{cfg.jpeg_size[1]} "
            f"({files.jpeg_kib:.0f} KiB each); cache built in {files.cache_seconds:.1f} s"
        )
        rows = []
        for variant in cfg.variants:
            row = bench_variant(cfg, files, variant, log, command, code)
            rows.append(row)
            if out:
                Path(out).parent.mkdir(parents=True, exist_ok=True)
                with open(out, "a") as f:
                    f.write(json.dumps(row) + "\n")
    return rows


def paired_ratio(row: dict) -> float:
    """The median over repeats of t2ilib's images/s over the reference's best in the same
    repeat: less sensitive than the ratio of medians to load that changes between repeats
    (each repeat runs the loops back to back)."""
    ref = row["reference_repeats"].values()
    best = [max(r) for r in zip(*ref, strict=True)]
    return statistics.median(t / b for t, b in zip(row["t2ilib_repeats"], best, strict=True))


def table(rows: list[dict]) -> str:
    """A readable table of the rows (``paired``: :func:`paired_ratio`)."""
    lines = [
        f"{'preset':>11} {'size':>4} {'variant':>11} {'t2ilib img/s':>12} "
        f"{'ref img/s':>9} {'workers':>7} {'ratio':>6} {'paired':>6}  "
        "data/step s (ref | t2ilib)"
    ]
    for r in rows:
        b = r["breakdown"]
        parts = (
            ""
            if b is None
            else f"{b['reference_data_s']:.3f}/{b['reference_step_s']:.3f} | "
            f"{b['t2ilib_data_s']:.3f}/{b['t2ilib_step_s']:.3f}"
        )
        lines.append(
            f"{r['preset']:>11} {r['image_size']:>4} {r['variant']:>11} "
            f"{r['t2ilib_images_s']:>12.1f} {r['reference_images_s']:>9.1f} "
            f"{r['reference_num_workers']:>7} {r['ratio']:>5.2f}x {paired_ratio(r):>5.2f}x  "
            f"{parts}"
        )
    return "\n".join(lines)


def parse_args(argv=None) -> tuple[BenchConfig, argparse.Namespace]:
    d = BenchConfig()
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default=d.device)
    p.add_argument(
        "--preset",
        default=d.preset,
        help="cub, flowers, coco, dcgan, or cpu-profile (dcgan with ngf = ndf = 32)",
    )
    p.add_argument("--image-size", type=int, default=None, help="64 (32 for cpu-profile)")
    p.add_argument("--variants", default=",".join(d.variants), help="comma list")
    p.add_argument("--steps", type=int, default=d.steps, help="timed steps per repeat")
    p.add_argument("--warmup", type=int, default=d.warmup)
    p.add_argument("--repeats", type=int, default=d.repeats)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument(
        "--num-workers",
        default=",".join(map(str, d.num_workers)),
        help="comma list of reference DataLoader workers to try; the best is compared",
    )
    p.add_argument("--amp", action="store_true")
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--breakdown-steps", type=int, default=d.breakdown_steps)
    p.add_argument("--per-class", type=int, default=d.per_class, help="JPEGs per class (48)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    p.add_argument("--work", default=None, help="folder for the JPEGs and cache (kept)")
    p.add_argument("--out", default=None, help="append one JSON row per variant to this file")
    a = p.parse_args(argv)
    size = a.image_size or (PROFILES["cpu"].gan_image_size if a.preset == "cpu-profile" else 64)
    cfg = BenchConfig(
        device=a.device,
        preset=a.preset,
        image_size=size,
        variants=tuple(v.strip() for v in a.variants.split(",") if v.strip()),
        steps=a.steps,
        warmup=a.warmup,
        repeats=a.repeats,
        batch_size=a.batch_size,
        num_workers=tuple(int(w) for w in a.num_workers.split(",")),
        amp=a.amp,
        channels_last=a.channels_last,
        compile=a.compile,
        breakdown_steps=a.breakdown_steps,
        per_class=a.per_class,
    )
    return cfg, a


def main(argv=None) -> None:
    cfg, a = parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    print(
        f"torch {torch.__version__}, {cfg.device} ({_device_name(torch.device(cfg.device))}), "
        f"{torch.get_num_threads()} threads; preset {cfg.preset} at {cfg.image_size}x"
        f"{cfg.image_size}, batch {cfg.batch_size}; median of {cfg.repeats} repeats of "
        f"{cfg.steps} steps after {cfg.warmup} warm-up"
    )
    command = "python " + " ".join([Path(sys.argv[0]).as_posix(), *(argv or sys.argv[1:])])
    rows = run(cfg, a.out, a.work, command=command)
    print(table(rows))


if __name__ == "__main__":
    main()
