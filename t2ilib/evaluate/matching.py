"""Does D read the text? Its response to real images paired with right and wrong captions.

Reed et al. (2016, section 4.2) motivate the matching-aware discriminator (GAN-CLS) with
an argument: in the plain conditional GAN, D only ever sees two kinds of input, real
images with their own text and generated images, so it can win by judging realism alone
and has no reason to check that image and text agree. :func:`text_sensitivity` measures
that on a trained D: for real images x, compare D on (x, h) with h from x's own captions
and on (x, h_wrong) with h_wrong from an image of another class.

* ``p_match`` / ``p_mismatch``: mean sigmoid(D) over the two kinds of pair;
* ``logit_match`` / ``logit_mismatch``: the mean logits, which still differ when a
  saturated D puts both probabilities at 0.99...;
* ``auc``: the probability that D scores a matching pair above a mismatching one for the
  same image (0.5: D ignores the text; 1.0: it always prefers the right caption),
  compared on logits, so that saturation creates no ties.
"""

from __future__ import annotations

import torch

from ..data.gan_data import center_crop


@torch.no_grad()
def text_sensitivity(
    D: torch.nn.Module,
    images: torch.Tensor,
    h_match: torch.Tensor,
    h_mismatch: torch.Tensor,
    batch_size: int = 128,
) -> dict:
    """D's logits and probabilities on (real, matching text) vs (real, mismatching text).

    ``images`` (N, 3, H, W) uint8 (centre-cropped to D's size) or [-1, 1] floats;
    ``h_match``, ``h_mismatch`` (N, D) text embeddings. D runs with batch statistics, as it
    does in training; its parameters and running statistics are left unchanged.
    """
    size = D.config.image_size
    device = next(D.parameters()).device
    state = {k: v.clone() for k, v in D.state_dict().items()}
    was_training = D.training
    D.train()
    s_match, s_mismatch = [], []  # logits
    for i in range(0, len(images), batch_size):
        x = images[i : i + batch_size]
        x = (center_crop(x, size) if x.dtype == torch.uint8 else x).to(device)
        hm = h_match[i : i + batch_size].to(device).float()
        hw = h_mismatch[i : i + batch_size].to(device).float()
        s_match.append(D(x, hm).float().cpu())
        s_mismatch.append(D(x, hw).float().cpu())
    D.load_state_dict(state)
    D.train(was_training)
    sm, sw = torch.cat(s_match), torch.cat(s_mismatch)
    # Per image: 1 if the right caption scores higher, 0.5 for a tie.
    auc = ((sm > sw).float() + 0.5 * (sm == sw).float()).mean()
    return {
        "p_match": float(torch.sigmoid(sm).mean()),
        "p_mismatch": float(torch.sigmoid(sw).mean()),
        "logit_match": float(sm.mean()),
        "logit_mismatch": float(sw.mean()),
        "auc": float(auc),
        "n": len(sm),
    }


MISMATCHES = ("class", "colour", "shape", "size")


def mismatched_captions(
    attributes: dict, change: str, *, seed: int = 0, classes: list[int] | None = None
) -> list[list[str]]:
    """Ten Shapes captions per image that describe it *except* for one attribute.

    ``attributes``: the images' ``shape``, ``colour`` and ``size`` (N,) (a ``Shapes``
    dataset's ``attributes``). ``change``: "colour", "shape" or "size" is replaced by
    another value drawn at random, the other two kept; "class" replaces colour and shape
    together. The new (shape, colour) is always one of ``classes`` (default: the training
    classes), so a D is never asked about a combination it has never seen. Returns
    (N, 10) captions from the Shapes grammar (random templates and synonyms, ``seed``).
    """
    import numpy as np

    from ..data import shapes

    if change not in MISMATCHES:
        raise ValueError(f"unknown change {change!r}; valid: {MISMATCHES}")
    allowed = set(shapes.split_classes("trainval") if classes is None else classes)
    n_colours, n_sizes = len(shapes.COLOURS), len(shapes.SIZES)
    rng = np.random.default_rng([seed, 2])
    shape = np.asarray(attributes["shape"]).copy()
    colour = np.asarray(attributes["colour"]).copy()
    size = np.asarray(attributes["size"]).copy()
    for i in range(len(shape)):
        label = shape[i] * n_colours + colour[i]
        if change == "size":
            size[i] = rng.choice([v for v in range(n_sizes) if v != size[i]])
            continue
        if change == "colour":
            options = [shape[i] * n_colours + c for c in range(n_colours)]
        elif change == "shape":
            options = [s * n_colours + colour[i] for s in range(len(shapes.SHAPES))]
        else:
            options = list(range(len(shapes.CLASSES)))
        options = [o for o in options if o != label and o in allowed]
        if not options:
            raise ValueError(
                f"image {i} ({shapes.CLASSES[label]}) has no other allowed class that "
                f"changes only its {change}; widen `classes`"
            )
        new = int(rng.choice(options))
        shape[i], colour[i] = new // n_colours, new % n_colours
    attrs = {"labels": shape * n_colours + colour, "shape": shape, "colour": colour, "size": size}
    return shapes.make_captions(attrs, seed)
