"""Losses, as small functions named after the paper's terms, apart from the networks.

Each equation sits right above the line that computes it. Discriminators return logits
s = D(x, h); the probability that a pair is real and matching is sigmoid(s), and every
log-likelihood is computed with ``binary_cross_entropy_with_logits``:
BCE(s, 1) = -log sigmoid(s) and BCE(s, 0) = -log(1 - sigmoid(s)).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# --- GAN objectives (Goodfellow et al. 2014; Reed et al. 2016) ---
#
# The minimax game of Goodfellow et al. (2014), conditioned on text as in Reed et al.
# (2016, section 4.1-4.3), with h = phi(t) a text embedding and s_* logits of D:
#
#   min_G max_D  E_x[log D(x, h)] + E_z[log(1 - D(G(z, h), h))]
#
# D maximises it: it minimises d_loss_gan. G, instead of minimising log(1 - D(G(z, h), h)),
# which saturates when D easily rejects its samples early in training, maximises
# log D(G(z, h), h): the non-saturating loss g_loss_nonsaturating (Goodfellow et al.,
# section 3). The GAN-CLS and GAN-INT variants of Reed et al. reuse these terms: d_loss_cls
# adds the (real image, mismatching text) pairs; GAN-INT feeds G's loss with
# interpolate_embeddings(h) as extra rows.


def _bce_real(logits: torch.Tensor) -> torch.Tensor:
    # -log sigmoid(s), averaged over the batch
    return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))


def _bce_fake(logits: torch.Tensor) -> torch.Tensor:
    # -log(1 - sigmoid(s)), averaged over the batch
    return F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits))


def d_loss_gan(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The GAN discriminator loss: real pairs labelled 1, generated pairs 0.

    ``real_logits`` = D(x, h) on real, matching pairs; ``fake_logits`` = D(G(z, h), h).
    """
    # L_D = -log D(x, h) - log(1 - D(G(z, h), h))
    return _bce_real(real_logits) + _bce_fake(fake_logits)


def d_loss_cls(
    real_logits: torch.Tensor,
    wrong_logits: torch.Tensor,
    fake_logits: torch.Tensor,
    cls_weight: float = 0.5,
) -> torch.Tensor:
    """The matching-aware (GAN-CLS) discriminator loss, Reed et al. Algorithm 1.

    ``wrong_logits`` = D(x_wrong, h): a real image paired with text that does not describe
    it. Weights as in the authors' code (``cls_weight`` 0.5, fake weight 1 - cls_weight);
    the paper's Algorithm 1 writes both as 1/2. ``cls_weight = 0`` gives :func:`d_loss_gan`.
    """
    # L_D = -log D(x, h) - w log(1 - D(x_wrong, h)) - (1 - w) log(1 - D(G(z, h), h))
    return (
        _bce_real(real_logits)
        + cls_weight * _bce_fake(wrong_logits)
        + (1.0 - cls_weight) * _bce_fake(fake_logits)
    )


def g_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """The generator's non-saturating loss: make D call its pairs real.

    ``fake_logits`` = D(G(z, h), h); for GAN-INT, the batch also holds rows generated from
    interpolated embeddings, weighted like the others (as in the authors' code).
    """
    # L_G = -log D(G(z, h), h)
    return _bce_real(fake_logits)


def g_loss_minimax(fake_logits: torch.Tensor) -> torch.Tensor:
    """The generator's loss as the minimax game states it (saturates; chapter 3 shows why).

    Its gradient with respect to the logit is -sigmoid(s), near 0 when D confidently
    rejects the sample; the non-saturating loss's is sigmoid(s) - 1, near -1 there.
    """
    # L_G = log(1 - D(G(z, h), h))
    return -_bce_fake(fake_logits)


# --- Stabilisers (not in the paper; the ``stable`` recipe of t2ilib.train.recipes) ---
#
# The hinge loss (Lim & Ye 2017; Miyato et al. 2018) replaces D's cross-entropy: D is
# pushed only until a real pair scores above +1 and a fake one below -1, and stops
# pushing there, so a D that already wins does not keep growing its logits; G maximises
# D's score. The zero-centred gradient penalty R1 (Mescheder et al. 2018) penalises the
# slope of D at real data, which keeps D from sharpening into a cliff G cannot climb.


def d_loss_hinge(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The hinge loss of D: real pairs above +1, generated pairs below -1."""
    # L_D = E[max(0, 1 - D(x, h))] + E[max(0, 1 + D(G(z, h), h))]
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def d_loss_cls_hinge(
    real_logits: torch.Tensor,
    wrong_logits: torch.Tensor,
    fake_logits: torch.Tensor,
    cls_weight: float = 0.5,
) -> torch.Tensor:
    """The matching-aware D loss (Algorithm 1's three kinds of pair) with hinge terms."""
    # L_D = E[max(0, 1 - D(x, h))] + w E[max(0, 1 + D(x_wrong, h))]
    #       + (1 - w) E[max(0, 1 + D(G(z, h), h))]
    return (
        F.relu(1.0 - real_logits).mean()
        + cls_weight * F.relu(1.0 + wrong_logits).mean()
        + (1.0 - cls_weight) * F.relu(1.0 + fake_logits).mean()
    )


def g_loss_hinge(fake_logits: torch.Tensor) -> torch.Tensor:
    """G's loss under the hinge game: raise D's score of its pairs."""
    # L_G = -E[D(G(z, h), h)]
    return -fake_logits.mean()


def r1_penalty(real_logits: torch.Tensor, real_images: torch.Tensor) -> torch.Tensor:
    """R1 = E[ ||grad_x D(x, h)||^2 ] on real matching pairs (Mescheder et al. 2018, eq. 9).

    ``real_images`` must have ``requires_grad`` and ``real_logits`` be computed from them;
    the caller multiplies by gamma / 2. The graph is kept, so the penalty trains D.
    """
    (grad,) = torch.autograd.grad(real_logits.sum(), real_images, create_graph=True)
    # R1 = ||grad_x D(x, h)||^2, averaged over the batch
    return grad.pow(2).flatten(1).sum(1).mean()


def mode_seeking(
    fake1: torch.Tensor, fake2: torch.Tensor, z1: torch.Tensor, z2: torch.Tensor
) -> torch.Tensor:
    """The mode-seeking term of Mao et al. (2019, eq. 3), to be minimised by G.

    ``fake1`` = G(z1, h) and ``fake2`` = G(z2, h): the same texts, other noise. A
    conditional G that ignores z (every noise vector, one picture) makes the ratio of
    image distance to noise distance small; G minimises its inverse.
    """
    # d = mean |G(z1, h) - G(z2, h)| / mean |z1 - z2|;  L_ms = 1 / (d + eps)
    d = (fake1 - fake2).abs().mean() / (z1 - z2).abs().mean()
    return 1.0 / (d + 1e-5)


def mode_seeking_pairs(
    fake1: torch.Tensor, fake2: torch.Tensor, z1: torch.Tensor, z2: torch.Tensor, tau: float
) -> torch.Tensor:
    """The mode-seeking term pair by pair, each pair's reward clipped at ``tau``, as the
    diversity-sensitive loss of Yang et al. (2019), to be minimised by G; in [0, 1].

    A pair whose images already differ by tau (per unit of noise distance) is left alone, so
    G gains nothing by making different images more different (say black and white
    backgrounds where grey and silver would do); the pull falls on the pairs drawn alike.
    """
    # d_i = mean |G(z1_i, h_i) - G(z2_i, h_i)| / mean |z1_i - z2_i|
    # L = 1/k sum_i (1 - min(d_i, tau) / tau)
    d = (fake1 - fake2).abs().flatten(1).mean(1) / (z1 - z2).abs().mean(1)  # (k,)
    return (1 - d.clamp(max=tau) / tau).mean()


def range_penalty(images: torch.Tensor, limit: float = 1.0) -> torch.Tensor:
    """How far G's images lie beyond ``limit`` (the data's range is [-1, 1]), to be
    minimised by G: the mean over pixels of the squared excess; zero within the limit.

    For a G with a linear output (``DCGANConfig.g_output="linear"``): without it, a G
    measured on Shapes drew every image of one mixture component at about 4 (white is 1),
    blank once clamped, and D did not pull them back; its other components overshot
    [-1, 1] a little (under 0.5% of pixels beyond 1.5), which a limit of 1.5 leaves alone.
    """
    # L_range = mean over pixels of max(|x| - limit, 0)^2
    return (images.float().abs() - limit).clamp(min=0).pow(2).mean()


def matching(v: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """A text-image matching loss for G, after AttnGAN's sentence-level DAMSM loss (Xu et
    al. 2018), to be minimised by G.

    ``v`` (B, E): a frozen image encoder's embedding of G(z_i, h_i); ``h`` (B, E): the
    texts' embeddings, from the text encoder trained *with* that image encoder (on Shapes,
    chapter 2's DS-SJE pair). Each generated image should score higher with its own text
    than with the batch's other texts, and each text with its own image: a softmax over the
    batch, in both directions, of the compatibility F(v, h) = v . h the encoders were
    trained with (Reed et al. 2016b, eq. 1). AttnGAN scores by a scaled cosine instead and
    masks texts of the same class; here the raw compatibility keeps the scale DS-SJE
    learnt, and other texts of the same class are negatives (their sizes may differ).
    """
    # s_ij = v_i . h_j;  L = -1/2 [log softmax_j(s)_ii + log softmax_i(s)_ii]
    scores = v.float() @ h.float().t()  # (B, B)
    target = torch.arange(len(v), device=v.device)
    return 0.5 * (F.cross_entropy(scores, target) + F.cross_entropy(scores.t(), target))


LOSSES = ("bce", "hinge")


def d_loss(
    kind: str,
    real_logits: torch.Tensor,
    fake_logits: torch.Tensor,
    wrong_logits: torch.Tensor | None = None,
    cls_weight: float = 0.5,
) -> torch.Tensor:
    """D's loss of the game ``kind`` ("bce": the paper's; "hinge"), with the GAN-CLS term
    when ``wrong_logits`` is given."""
    if kind == "bce":
        if wrong_logits is None:
            return d_loss_gan(real_logits, fake_logits)
        return d_loss_cls(real_logits, wrong_logits, fake_logits, cls_weight)
    if kind == "hinge":
        if wrong_logits is None:
            return d_loss_hinge(real_logits, fake_logits)
        return d_loss_cls_hinge(real_logits, wrong_logits, fake_logits, cls_weight)
    raise ValueError(f"unknown loss {kind!r}; valid losses are {LOSSES}")


def g_loss(kind: str, fake_logits: torch.Tensor) -> torch.Tensor:
    """G's loss of the game ``kind``: non-saturating for "bce", -D for "hinge"."""
    if kind == "bce":
        return g_loss_nonsaturating(fake_logits)
    if kind == "hinge":
        return g_loss_hinge(fake_logits)
    raise ValueError(f"unknown loss {kind!r}; valid losses are {LOSSES}")


def interpolate_embeddings(
    h: torch.Tensor,
    beta: float = 0.5,
    *,
    keep_norm: bool = False,
    mean: torch.Tensor | None = None,
    std: torch.Tensor | None = None,
) -> torch.Tensor:
    """GAN-INT's extra text: beta * h[i] + (1 - beta) * h[i + B/2] for i < B/2.

    Reed et al. section 4.3 with beta = 0.5; the authors' code pairs row i with row
    i + 32 of a batch of 64. Returns (B // 2, dim). No real image exists for these
    embeddings, so only G's loss sees them; D is never trained on them.

    ``keep_norm`` (not the paper's; ``GANTrainConfig.int_keep_norm``): the interpolation
    is rescaled to the length of its ends in standardised coordinates u = (h - mean) / std
    (the training set's per-dimension statistics, those of G's
    :class:`~t2ilib.models.dcgan.TextNorm`; mean 0 and std 1 when omitted):
    ``|u_int| = beta |u1| + (1 - beta) |u2|``, its direction unchanged. Two captions of
    different classes differ from the mean caption in nearly orthogonal directions, so
    their plain midpoint lies about 1 / sqrt(2) as far from the mean as they do (the raw
    length hides it: the direction every caption shares keeps 96% of it). G trained on
    such midpoints learns "short text, faint object", and held-out captions, shorter
    too, inherit it (chapter 6 measures both).
    """
    k = h.shape[0] // 2
    # h_int = beta * t1 + (1 - beta) * t2
    h_int = beta * h[:k] + (1.0 - beta) * h[k : 2 * k]  # (B/2, D)
    if not keep_norm:
        return h_int
    mean = torch.zeros_like(h[0]) if mean is None else mean  # (D,)
    std = torch.ones_like(h[0]) if std is None else std  # (D,)
    u1, u2, u_int = (h[:k] - mean) / std, (h[k : 2 * k] - mean) / std, (h_int - mean) / std
    # |u_int| <- beta |u1| + (1 - beta) |u2|
    length = beta * u1.norm(dim=1, keepdim=True) + (1.0 - beta) * u2.norm(dim=1, keepdim=True)
    u_int = u_int * length / u_int.norm(dim=1, keepdim=True).clamp(min=1e-8)  # (B/2, D)
    return u_int * std + mean


# --- DS-SJE (Reed et al. 2016b) ---
#
# The deep symmetric structured joint embedding of Reed, Akata, Lee and Schiele (CVPR 2016,
# section 3.1), after the structured joint embedding of Akata et al. (2015). A batch holds B
# pairs (v_i, t_i) from B *distinct* classes: v_i an image feature, t_i the embedding of
# one caption of the same class; the compatibility of an image and a text is F(v, t) = v.t.
# Each image should score its own caption above every other caption of the batch by a
# margin of 1 (the image-query term), and each caption its own image above every other
# image (the text-query term). Keeping both terms is what makes it "symmetric": the first
# alone trains a text encoder for classification (rank classes for an image), the second
# alone one for retrieval (rank images for a text).


def ds_sje(
    image_features: torch.Tensor, text_features: torch.Tensor, margin: float = 1.0
) -> torch.Tensor:
    """The symmetric structured joint embedding loss of a batch of B matching pairs.

    ``image_features`` (B, D) and ``text_features`` (B, D): row i of each comes from class
    y_i, and the y_i are distinct (see :class:`t2ilib.train.encoder.ClassPairSampler`).

    Normalisation: 1/B as written in the paper. Reed's Lua code divides each term by
    B * B (``batch_size * num_class``); a constant factor that RMSprop, which divides the
    step by a running gradient scale, all but ignores.
    """
    if image_features.shape != text_features.shape or image_features.dim() != 2:
        raise ValueError(
            "image_features and text_features must both be (B, D), got "
            f"{tuple(image_features.shape)} and {tuple(text_features.shape)}"
        )
    B = image_features.shape[0]
    scores = image_features @ text_features.t()  # (B, B): scores[i, j] = v_i . t_j
    matching = scores.diagonal()  # (B,): v_i . t_i
    off_diagonal = ~torch.eye(B, dtype=torch.bool, device=scores.device)
    # L = 1/B sum_i sum_{j != i} [ max(0, 1 + v_i.t_j - v_i.t_i) + max(0, 1 + t_i.v_j - t_i.v_i) ]
    image_query = (margin + scores - matching[:, None]).clamp(min=0)  # [i, j]: v_i.t_j - v_i.t_i
    text_query = (margin + scores.t() - matching[:, None]).clamp(min=0)  # [i, j]: t_i.v_j - t_i.v_i
    return ((image_query + text_query) * off_diagonal).sum() / B
