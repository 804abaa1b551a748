"""One training step, in one process or as one rank of ``torchrun``: writes the gradients,
weights and BatchNorm statistics of G and D after the step (rank 0 only), for
tests/test_distributed.py. Usage: python dist_grad_worker.py OUT.pt RECIPE VARIANT."""

import sys
from dataclasses import replace

import torch

from t2ilib.data.gan_data import GANData
from t2ilib.models import dcgan
from t2ilib.train import distributed, recipes
from t2ilib.train.gan import GANTrainConfig, GANTrainer

out, recipe, variant = sys.argv[1:4]
torch.set_num_threads(1)
ctx = distributed.init_from_env("cpu")
g = torch.Generator().manual_seed(0)
n = 64
data = GANData(
    images=torch.randint(0, 256, (n, 3, 36, 36), dtype=torch.uint8, generator=g),
    embeddings=torch.randn(n, 10, 1024, generator=g),
    labels=torch.arange(n) % 4,
)
model = replace(dcgan.preset("dcgan", image_size=32), ngf=8, ndf=8)
config = GANTrainConfig.for_variant(variant, batch_size=16, max_steps=1)
model, config = recipes.apply(recipe, model, config)
config = replace(config, mode_seeking=0.0)  # a ratio per process: not additive
trainer = GANTrainer(data, model, config, device="cpu", context=ctx)
stats = trainer.step()
if ctx.is_main:
    blob = {"stats": stats, "world": ctx.world_size}
    for net in ("G", "D"):
        m = getattr(trainer, net)
        blob[net + ".grad"] = {k: p.grad.clone() for k, p in m.named_parameters()}
        blob[net + ".state"] = {k: v.clone() for k, v in m.state_dict().items()}
    torch.save(blob, out)
if ctx.distributed:
    torch.distributed.destroy_process_group()
