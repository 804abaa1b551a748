"""Training on several GPUs (or CPU processes): data parallelism with ``torch.distributed``.

``torchrun --nproc_per_node N -m t2ilib train ...`` starts N copies of the command; each
reads its rank from the environment (:func:`init_from_env`). The design keeps one rule:
**N ranks with batch B / N each compute exactly what one process with batch B computes**.

* **One global batch, sharded.** Every rank runs the loop's random generator in step (same
  seed, same draws) and so knows the whole batch of B images, crops, flips, captions and
  noise vectors; rank r keeps rows r B/N ... (r + 1) B/N - 1 of it. Each rank reads only
  its own images (its data shard), and no random number is ever drawn differently from the
  one-process run.
* **Gradients are averaged.** After each backward pass the gradients of the network that
  is being updated are summed over the ranks and divided by N (:func:`all_reduce_grads`),
  which is what ``DistributedDataParallel`` does. We call the collective ourselves instead
  of wrapping G and D in ``DistributedDataParallel``: D runs up to three times per step
  (real, mismatching and generated pairs) and its trunk and scoring head separately
  (``mismatch="text"``), and G's step back-propagates *through* D without updating it; the
  wrapper's hooks would reduce gradients that are then thrown away.
* **BatchNorm sees the global batch.** :class:`SyncBatchNorm` computes each batch's mean and
  variance over all ranks (a differentiable all-reduce of sums), as one process with batch
  B would. torch's own ``nn.SyncBatchNorm`` runs only on GPUs; this one runs on CPU
  (gloo) too, so the equivalence is tested on a machine without a GPU.

What is not equivalent, and says so: GAN-INT pairs each rank's caption i with its caption
i + B/2N (the interpolation stays inside the shard), and the mode-seeking term is a ratio
computed per rank. Ranks then see different pairs than one process would; training is the
same in distribution but not bit for bit.

Rank 0 alone writes checkpoints, logs and grids; every rank can read them to resume. The
batch size is the global one: ``--batch-size 64`` on 4 GPUs is 16 per GPU, with the
paper's learning rate unchanged (the optimisation is the one-GPU run's). To use the GPUs'
memory, raise ``--batch-size``; the learning rate is then yours to choose (not scaled).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class Context:
    """Who this process is in a run: rank r of world_size, on ``device``."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: str | None = None  # None: the trainer's default (CUDA if present)

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes files and prints."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def init_from_env(device: str | None = None) -> Context:
    """The :class:`Context` ``torchrun`` describes in the environment (``RANK``,
    ``WORLD_SIZE``, ``LOCAL_RANK``), with the process group initialised: NCCL on CUDA,
    gloo on CPU. Without those variables: a single process, nothing initialised.
    ``device``: "cpu" forces gloo; default CUDA (GPU ``LOCAL_RANK``) when present."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Context(device=device)
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() and (device is None or device.startswith("cuda"))
    if use_cuda:
        if local >= torch.cuda.device_count():
            raise ValueError(
                f"LOCAL_RANK {local} but only {torch.cuda.device_count()} GPU(s) are visible; "
                "run torchrun with --nproc_per_node at most the number of GPUs"
            )
        torch.cuda.set_device(local)
        device = f"cuda:{local}"
    else:
        device = "cpu"
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return Context(rank=rank, world_size=world, local_rank=local, device=device)


def shard(n: int, ctx: Context) -> slice:
    """Rank r's rows of a global batch of n: n / world_size consecutive rows."""
    if n % ctx.world_size:
        raise ValueError(
            f"a batch of {n} cannot be split evenly over {ctx.world_size} processes; choose "
            f"--batch-size a multiple of {ctx.world_size} (GAN-INT: of {2 * ctx.world_size})"
        )
    b = n // ctx.world_size
    return slice(ctx.rank * b, (ctx.rank + 1) * b)


def all_reduce_grads(module: nn.Module, ctx: Context) -> None:
    """Average the gradients of ``module`` over the ranks, in one flat all-reduce:
    g <- (1 / N) sum_r g_r. Parameters without a gradient are skipped on every rank alike
    (the ranks run the same code)."""
    if not ctx.distributed:
        return
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= ctx.world_size
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()


def mean_over_ranks(values: torch.Tensor, ctx: Context) -> torch.Tensor:
    """The mean of a tensor over the ranks (for logging losses of the global batch)."""
    if not ctx.distributed:
        return values
    values = values.clone()
    dist.all_reduce(values)
    return values / ctx.world_size


def min_over_ranks(value: int, ctx: Context) -> int:
    """The smallest of one integer over the ranks."""
    if not ctx.distributed:
        return value
    t = torch.tensor([value], dtype=torch.long, device=_collective_device(ctx))
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return int(t)


def _collective_device(ctx: Context) -> torch.device:
    return torch.device(ctx.device) if ctx.device else torch.device("cpu")


class _AllReduceSum(torch.autograd.Function):
    """y = sum_r x_r on every rank; its gradient is again a sum over the ranks: each
    rank's x_r reaches every rank's loss through y."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        y = x.clone()
        dist.all_reduce(y)
        return y

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


class SyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm whose batch statistics are those of the global batch, on any backend.

    In training, with the local batch x_r on rank r::

        mu = sum_r sum(x_r) / N,    sigma^2 = sum_r sum(x_r^2) / N - mu^2

    (N the number of values per channel over all ranks), the sums all-reduced by a
    differentiable all-reduce whose backward pass all-reduces the gradients: the gradient
    is the one of one process holding the whole batch. Running statistics are updated
    with the unbiased variance, as ``nn.BatchNorm2d`` does. In eval
    mode, or in a single process, it is exactly ``nn.BatchNorm``.
    """

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected at least 2-D input (N, C, ...), got {x.dim()}-D")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_available() and dist.is_initialized()):
            return super().forward(x)
        if dist.get_world_size() == 1:
            return super().forward(x)
        C = x.shape[1]
        dims = [0, *range(2, x.dim())]
        xf = x.float()
        count = torch.full((1,), x.numel() / C, device=x.device, dtype=torch.float32)
        # [sum x, sum x^2, count] over all ranks: (2C + 1,)
        stats = _AllReduceSum.apply(torch.cat([xf.sum(dims), (xf * xf).sum(dims), count]))
        n = stats[-1]
        mean = stats[:C] / n  # (C,)
        var = stats[C : 2 * C] / n - mean * mean  # (C,) biased, as BatchNorm normalises
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked += 1
                m = (
                    self.momentum
                    if self.momentum is not None
                    else 1.0 / float(self.num_batches_tracked)
                )
                unbiased = var * n / (n - 1).clamp(min=1)
                self.running_mean.lerp_(mean.to(self.running_mean.dtype), m)
                self.running_var.lerp_(unbiased.to(self.running_var.dtype), m)
        shape = [1, C] + [1] * (x.dim() - 2)
        y = (xf - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y.to(x.dtype)


def convert_sync_batchnorm(module: nn.Module) -> nn.Module:
    """``module`` with every BatchNorm replaced by :class:`SyncBatchNorm`, weights and
    statistics kept (the state dict's names are unchanged, so checkpoints load either
    way)."""
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(
        module, SyncBatchNorm
    ):
        new = SyncBatchNorm(
            module.num_features, module.eps, module.momentum, module.affine,
            module.track_running_stats,
        )  # fmt: skip
        state = module.state_dict()
        new.load_state_dict(state)
        new.train(module.training)
        return new.to(next(iter(state.values()), torch.empty(0)).device)
    for name, child in module.named_children():
        setattr(module, name, convert_sync_batchnorm(child))
    return module
