"""Zero-shot classification and retrieval, as evaluated by Reed et al. (CVPR 2016, section 5).

Both use *class embeddings*: the mean of the text embeddings of every caption of a class.

* **Zero-shot top-1** (``classify_sje_tcnn.lua``): each image of the held-out classes is
  assigned the class whose embedding has the highest compatibility v.t_c with the image's
  feature v; accuracy is averaged over images. The candidates are the held-out classes only.
* **AP@50** (``retrieval_sje_tcnn.lua``): each class embedding is a query; all images of
  the held-out classes are ranked by v.t_c; the score of the query is the fraction of the
  top 50 that belong to the class. This is what the released code computes and the paper
  calls AP@50 (a precision at 50 averaged over queries, not an area under a PR curve).

For precomputed features of several views, Reed's scripts use the first view only;
:func:`embed_images` does the same.

The plots at the end (a retrieval strip, a 2-D projection of embeddings) serve chapter 2.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

# ---------------------------------------------------------------------------------------
# Embeddings
# ---------------------------------------------------------------------------------------


@torch.no_grad()
def embed_images(
    image_encoder: nn.Module, images: torch.Tensor, batch_size: int = 256
) -> torch.Tensor:
    """(N, 3, S, S) pixels or (N, V, D) view features -> (N, D) float32 on the CPU."""
    if images.dim() == 3:  # precomputed features: the first view, as in Reed's scripts
        images = images[:, 0]
    was_training = image_encoder.training
    image_encoder.eval()
    try:
        device = next(image_encoder.parameters(), torch.empty(0)).device
        out = [
            image_encoder(images[i : i + batch_size].to(device)).float().cpu()
            for i in range(0, len(images), batch_size)
        ]
    finally:
        image_encoder.train(was_training)
    return torch.cat(out)


def class_embeddings(
    caption_embeddings: torch.Tensor, labels: torch.Tensor, classes: Sequence[int]
) -> torch.Tensor:
    """(K, D): for each class, the mean embedding of all captions of all its images.

    ``caption_embeddings`` (N, C, D) or (N, D); ``labels`` (N,).
    """
    if caption_embeddings.dim() == 2:
        caption_embeddings = caption_embeddings[:, None]
    labels = torch.as_tensor(labels)
    rows = []
    for c in classes:
        members = caption_embeddings[labels == c]
        if len(members) == 0:
            raise ValueError(f"class {c} has no captions among the {len(labels)} images given")
        rows.append(members.reshape(-1, members.shape[-1]).mean(0))
    return torch.stack(rows)


# ---------------------------------------------------------------------------------------
# The two numbers
# ---------------------------------------------------------------------------------------


def zero_shot_top1(
    image_features: torch.Tensor,
    labels: torch.Tensor,
    class_embeds: torch.Tensor,
    classes: Sequence[int],
) -> float:
    """Fraction of images whose best-scoring class (argmax_c v.t_c) is their own."""
    classes_t = torch.as_tensor(list(classes))
    scores = image_features @ class_embeds.t()  # (N, K)
    predicted = classes_t[scores.argmax(1)]
    return float((predicted == torch.as_tensor(labels)).float().mean())


def precision_at_k(
    image_features: torch.Tensor,
    labels: torch.Tensor,
    class_embeds: torch.Tensor,
    classes: Sequence[int],
    k: int = 50,
) -> float:
    """Reed's "AP@k": mean over class queries of the share of the top k images in the class."""
    labels = torch.as_tensor(labels)
    k = min(k, len(labels))
    scores = class_embeds @ image_features.t()  # (K, N)
    top = scores.topk(k, dim=1).indices  # (K, k)
    hits = labels[top] == torch.as_tensor(list(classes))[:, None]  # (K, k)
    return float(hits.float().mean())


def zero_shot_report(
    text_encoder,
    image_encoder: nn.Module,
    images: torch.Tensor,
    captions: Sequence[Sequence[str]],
    labels: torch.Tensor,
    classes: Sequence[int] | None = None,
    k: int = 50,
    batch_size: int = 64,
) -> dict:
    """Top-1 and AP@k of ``text_encoder`` and ``image_encoder`` on the given images.

    ``classes`` are the candidate classes (default: those present in ``labels``); for
    zero-shot numbers pass images of held-out classes only.
    """
    from ..text_encoder import embed_captions

    labels = torch.as_tensor(labels).long()
    classes = sorted(torch.unique(labels).tolist()) if classes is None else list(classes)
    text = embed_captions(text_encoder, captions, batch_size=batch_size)  # (N, C, D)
    feats = embed_images(image_encoder, images)  # (N, D)
    cls = class_embeddings(text, labels, classes)  # (K, D)
    return {
        "top1": zero_shot_top1(feats, labels, cls, classes),
        f"ap@{k}": precision_at_k(feats, labels, cls, classes, k),
        "images": len(labels),
        "classes": len(classes),
        "chance": 1.0 / len(classes),
    }


def retrieve(queries: torch.Tensor, image_features: torch.Tensor, k: int = 8) -> torch.Tensor:
    """(Q, k) indices of the images with the highest compatibility with each query (Q, D)."""
    if queries.dim() == 1:
        queries = queries[None]
    k = min(k, len(image_features))
    return (queries.float().cpu() @ image_features.t()).topk(k, dim=1).indices


# ---------------------------------------------------------------------------------------
# Pictures
# ---------------------------------------------------------------------------------------


def pca_2d(x: torch.Tensor) -> torch.Tensor:
    """(N, D) -> (N, 2): the projection on the two principal components (centred)."""
    x = x.float() - x.float().mean(0, keepdim=True)
    _, _, v = torch.pca_lowrank(x, q=2, center=False, niter=4)
    return x @ v[:, :2]


def plot_retrieval(captions: Sequence[str], images: torch.Tensor, indices: torch.Tensor):
    """One row per caption: the caption above its retrieved images, best first
    (``images`` uint8 (N, 3, S, S), ``indices`` (Q, k)); ``t2ilib.viz.show_rows``."""
    from ..viz import show_rows

    return show_rows(images[indices.flatten().cpu()], list(captions))  # (Q * k, 3, S, S)


def plot_projection(
    points: torch.Tensor,
    groups: Sequence[int],
    names: Sequence[str],
    colours: Sequence | None = None,
    title: str = "",
    ax=None,
):
    """Scatter (N, 2) points coloured by group (``names[g]`` in the legend)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4.5))
    groups = torch.as_tensor(groups)
    cmap = plt.get_cmap("tab10")
    for g, name in enumerate(names):
        sel = groups == g
        if not sel.any():
            continue
        colour = colours[g] if colours is not None else cmap(g % 10)
        ax.scatter(points[sel, 0], points[sel, 1], s=6, alpha=0.6, color=colour, label=name)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(fontsize=9, markerscale=2, loc="best", frameon=False)
    return ax
