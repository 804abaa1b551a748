"""G and D of Reed et al. (2016): shapes, parameter counts, init, and that they can learn."""

import pytest
import torch

from t2ilib.models import dcgan
from t2ilib.models.dcgan import Generator, preset


def _expected_params_64(ngf, ndf, nz, nt, emb, residual, d_text_bn, conditional=True):
    """Parameter counts of G and D at 64x64, written out layer by layer from the authors'
    Torch code as t2ilib.models.dcgan's docstring lists it (conv weights k*k*cin*cout,
    no conv biases; BN 2*c; Linear in*out + out)."""

    def res(c, b):  # 1x1 c->b, BN, 3x3 b->b, BN, 3x3 b->c, BN
        return c * b + 2 * b + 9 * b * b + 2 * b + 9 * b * c + 2 * c

    cin = nz + (nt if conditional else 0)
    g = (emb * nt + nt) if conditional else 0
    g += 16 * cin * ngf * 8 + 2 * ngf * 8
    g += res(ngf * 8, ngf * 2) if residual else 0
    g += 16 * ngf * 8 * ngf * 4 + 2 * ngf * 4
    g += res(ngf * 4, ngf) if residual else 0
    g += 16 * ngf * 4 * ngf * 2 + 2 * ngf * 2
    g += 16 * ngf * 2 * ngf + 2 * ngf
    g += 16 * ngf * 3
    d = 16 * 3 * ndf
    d += 16 * ndf * ndf * 2 + 2 * ndf * 2
    d += 16 * ndf * 2 * ndf * 4 + 2 * ndf * 4
    d += 16 * ndf * 4 * ndf * 8 + 2 * ndf * 8
    d += res(ndf * 8, ndf * 2) if residual else 0
    if conditional:
        d += emb * nt + nt + (2 * nt if d_text_bn else 0)
        d += (ndf * 8 + nt) * ndf * 8 + 2 * ndf * 8
    d += 16 * ndf * 8
    return g, d


@pytest.mark.parametrize("name", list(dcgan.PRESETS))
@pytest.mark.parametrize("size", [32, 64])
def test_output_shapes_every_preset(name, size):
    c = preset(name, image_size=size)
    G, D = dcgan.build(c)
    z, h = torch.randn(2, c.nz), torch.randn(2, c.embedding_dim)
    x = G(z, h)
    assert x.shape == (2, 3, size, size) and x.dtype == torch.float32
    assert x.abs().max() <= 1.0  # Tanh
    logits = D(x, h)
    assert logits.shape == (2,)  # one logit per pair, no sigmoid


@pytest.mark.parametrize("name", list(dcgan.PRESETS))
def test_parameter_counts_match_the_layer_list(name):
    c = preset(name)
    G, D = dcgan.build(c)
    g, d = _expected_params_64(c.ngf, c.ndf, c.nz, c.nt, c.embedding_dim, c.residual, c.d_text_bn)
    assert dcgan.count_parameters(G) == g
    assert dcgan.count_parameters(D) == d


def test_cub_parameter_counts_are_the_known_numbers():
    G, D = dcgan.build(preset("cub"))
    assert dcgan.count_parameters(G) == 18_905_472
    assert dcgan.count_parameters(D) == 4_030_080


def test_unconditional_has_no_text_path():
    c = preset("dcgan", conditional=False)
    G, D = dcgan.build(c)
    g, d = _expected_params_64(c.ngf, c.ndf, c.nz, c.nt, 1024, False, True, conditional=False)
    assert dcgan.count_parameters(G) == g and dcgan.count_parameters(D) == d
    x = G(torch.randn(3, c.nz))
    assert x.shape == (3, 3, 64, 64) and D(x).shape == (3,)


def test_conditional_without_text_is_a_clear_error():
    G, D = dcgan.build(preset("dcgan", ngf=8, ndf=8, image_size=32))
    with pytest.raises(ValueError, match="text embedding"):
        G(torch.randn(2, 100))
    with pytest.raises(ValueError, match="text embedding"):
        D(torch.randn(2, 3, 32, 32))


def test_bad_config_values():
    with pytest.raises(ValueError, match="image_size"):
        preset("cub", image_size=128)
    with pytest.raises(ValueError, match="valid presets"):
        preset("biggan")


def test_config_round_trips_as_plain_dict():
    c = preset("coco")
    assert dcgan.DCGANConfig.from_dict(c.to_dict()) == c
    assert not c.d_text_bn and c.ngf == c.ndf == 196


def test_init_statistics():
    torch.manual_seed(0)
    G, D = dcgan.build(preset("cub"))
    convs = [
        m.weight
        for net in (G, D)
        for m in net.modules()
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))
    ]
    w = torch.cat([p.flatten() for p in convs])
    assert abs(w.mean().item()) < 1e-3 and abs(w.std().item() - 0.02) < 5e-4
    bns = [
        m
        for net in (G, D)
        for m in net.modules()
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
    ]
    gamma = torch.cat([m.weight.flatten() for m in bns])
    beta = torch.cat([m.bias.flatten() for m in bns])
    assert abs(gamma.mean().item() - 1) < 2e-3 and abs(gamma.std().item() - 0.02) < 2e-3
    assert torch.all(beta == 0)
    assert all(m.bias is None for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d))


def test_same_seed_same_weights():
    c = preset("dcgan", ngf=8, ndf=8)
    torch.manual_seed(3)
    a = Generator(c)
    torch.manual_seed(3)
    b = Generator(c)
    sa, sb = a.state_dict(), b.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_tiny_batch_can_be_overfitted():
    """G can fit four fixed images from fixed (z, h); D can separate four reals from four
    fakes: gradients flow through every layer of both."""
    torch.manual_seed(0)
    c = preset("cub", ngf=8, ndf=8, nz=8, nt=8, embedding_dim=16, image_size=32)
    G, D = dcgan.build(c)
    z, h = torch.randn(4, c.nz), torch.randn(4, c.embedding_dim)
    from t2ilib.data.shapes import make_dataset

    # the four images this threshold was set on (200 Adam steps reach L1 0.1 on them)
    images = make_dataset(4, 32, seed=0, layout="anywhere").images
    target = torch.from_numpy(images).permute(0, 3, 1, 2) / 127.5 - 1
    opt = torch.optim.Adam(G.parameters(), lr=3e-3)
    for _ in range(200):
        loss = (G(z, h) - target).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1
    from t2ilib.losses import d_loss_gan

    real, fake = target, torch.rand(4, 3, 32, 32) * 2 - 1
    opt = torch.optim.Adam(D.parameters(), lr=2e-3)
    for _ in range(60):
        loss = d_loss_gan(D(real, h), D(fake, h))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05


@pytest.mark.parametrize("conditional", [True, False])
def test_trace_shapes_ends_at_image_and_logit(conditional):
    c = preset("cub", ngf=8, ndf=8, conditional=conditional)
    G, D = dcgan.build(c)
    g, d = dcgan.trace_shapes(G), dcgan.trace_shapes(D)
    assert g[-1] == ("Tanh", (2, 3, 64, 64)) and d[-1][1] == (2,)
    assert any("residual" in name for name, _ in g)
    assert any("replicated" in name for name, _ in d) == conditional
