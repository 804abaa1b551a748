"""Does D read the text? Its response to real images paired with right and wrong captions.

Reed et al. (2016, section 4.2) motivate the matching-aware discriminator (GAN-CLS) with
an argument: in the plain conditional GAN, D only ever sees two kinds of input, real
images with their own text and generated images, so it can win by judging realism alone
and has no reason to check that image and text agree. :func:`text_sensitivity` measures
that on a trained D: for real images x, compare D on (x, h) with h from x's own captions
and on (x, h_wrong) with h_wrong from an image of another class.

* ``p_match`` / ``p_mismatch``: mean sigmoid(D) over the two kinds of pair;
* ``auc``: the probability that D scores a matching pair above a mismatching one for the
  same image (0.5: D ignores the text; 1.0: it always prefers the right caption).
"""

from __future__ import annotations

import torch

from ..train.gan import center_crop


@torch.no_grad()
def text_sensitivity(
    D: torch.nn.Module,
    images: torch.Tensor,
    h_match: torch.Tensor,
    h_mismatch: torch.Tensor,
    batch_size: int = 128,
) -> dict:
    """D's probabilities on (real, matching text) vs (real, mismatching text) pairs.

    ``images`` (N, 3, H, W) uint8 (centre-cropped to D's size) or [-1, 1] floats;
    ``h_match``, ``h_mismatch`` (N, D) text embeddings. D runs with batch statistics, as it
    does in training; its parameters and running statistics are left unchanged.
    """
    size = D.config.image_size
    device = next(D.parameters()).device
    state = {k: v.clone() for k, v in D.state_dict().items()}
    was_training = D.training
    D.train()
    p_match, p_mismatch = [], []
    for i in range(0, len(images), batch_size):
        x = images[i : i + batch_size]
        x = (center_crop(x, size) if x.dtype == torch.uint8 else x).to(device)
        hm = h_match[i : i + batch_size].to(device).float()
        hw = h_mismatch[i : i + batch_size].to(device).float()
        p_match.append(torch.sigmoid(D(x, hm).float()).cpu())
        p_mismatch.append(torch.sigmoid(D(x, hw).float()).cpu())
    D.load_state_dict(state)
    D.train(was_training)
    pm, pw = torch.cat(p_match), torch.cat(p_mismatch)
    # Per image: 1 if the right caption scores higher, 0.5 for a tie.
    auc = ((pm > pw).float() + 0.5 * (pm == pw).float()).mean()
    return {
        "p_match": float(pm.mean()),
        "p_mismatch": float(pw.mean()),
        "auc": float(auc),
        "n": len(pm),
    }
