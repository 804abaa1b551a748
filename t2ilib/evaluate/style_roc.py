"""Does S read style, and does style transfer keep it? Reed et al. (2016), sections 5.2 and 5.3.

**Disentangling** (section 5.2). If S has learned what z carries, two images of the
same style should get similar style vectors s = S(x) and two of different styles dissimilar
ones, whatever their content. The paper groups CUB images by pose and by background and
draws, for pairs of images, the ROC curve of the cosine similarity of their predicted style
vectors as a detector of "same style"; the area under it (AUC) is 0.5 for a detector that
knows nothing and 1 for a perfect one. On Shapes every image's style is known exactly, so
no clustering is needed (:func:`disentangling`):

* ``background``: same background colour (one of 6);
* ``position``: the objects' centres lie closer than ``threshold`` (default 0.1 of the
  image side; only the ``anywhere`` layout moves objects, in the ``centred`` layout every
  pair has the same position and the AUC is undefined, NaN);
* ``rotation``: the objects are turned by angles closer than ``threshold`` degrees
  (default 5), the pose of the default ``centred`` layout (up to 20 degrees either way).
  Pairs with a circle are left out (a circle looks the same at every angle). Angles are
  compared as numbers, ignoring the other shapes' symmetries: exact in the ``centred``
  layout, where two angles differ by at most 40 degrees, less than the smallest symmetry
  (the hexagon's 60); in the ``anywhere`` layout (45 degrees either way) a hexagon turned by
  -30 and by +30 degrees looks the same but counts as different.

**Transfer** (:func:`transfer_measurement`): for real images x and captions t of another
class, x_hat = G(S(x), phi(t)); the judge (:mod:`t2ilib.evaluate.judge`) reads x_hat. The
fraction whose background is x's says how much style is kept (chance: 1 in 6, and the
same measured with random z for comparison); the fractions with t's shape, colour and
size say whether the content is the text's.

The ROC curve and its area are written here with torch (:func:`roc_curve`, :func:`auc`), so
the library needs no scikit-learn.
"""

from __future__ import annotations

import math

import torch

from ..models.dcgan import Generator
from ..models.style import StyleEncoder
from ..transfer import style_vectors

# "Same style" thresholds for the continuous style attributes of Shapes.
THRESHOLDS = {"position": 0.1, "rotation": 5.0}  # fraction of the side; degrees
STYLE_ATTRIBUTES = ("background", "position", "rotation")


def pair_indices(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every unordered pair (i, j), i < j, of ``n`` items: two (n (n - 1) / 2,) tensors."""
    i, j = torch.triu_indices(n, n, offset=1)
    return i, j


def pair_cosine(s: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of the style vectors of every pair of :func:`pair_indices`.

    Args:
        s: (N, nz) style vectors.

    Returns:
        (N (N - 1) / 2,) in [-1, 1], in the order of :func:`pair_indices`.
    """
    u = torch.nn.functional.normalize(s.float(), dim=1)  # s / |s|: (N, nz)
    i, j = pair_indices(len(s))
    # cos(s_i, s_j) = s_i . s_j / (|s_i| |s_j|)
    return (u[i] * u[j]).sum(dim=1)


def same_style(
    attributes: dict[str, torch.Tensor], attribute: str, threshold: float | None = None
) -> torch.Tensor:
    """Whether the two images of each pair of :func:`pair_indices` share a style attribute.

    Args:
        attributes: a Shapes dataset's ``attributes``: ``background`` (N,),
            ``position`` (N, 2) in [0, 1], ``rotation`` (N,) degrees.
        attribute: ``"background"`` (equal), ``"position"`` (centres closer than
            ``threshold``, a fraction of the side) or ``"rotation"`` (angles closer than
            ``threshold`` degrees).
        threshold: default :data:`THRESHOLDS` (0.1 of the side, 5 degrees).

    Returns:
        (N (N - 1) / 2,) bool.
    """
    if attribute not in STYLE_ATTRIBUTES:
        raise ValueError(f"unknown style attribute {attribute!r}; valid: {STYLE_ATTRIBUTES}")
    values = attributes[attribute]
    i, j = pair_indices(len(values))
    if attribute == "background":
        return values[i] == values[j]
    threshold = THRESHOLDS[attribute] if threshold is None else threshold
    v = values.float()
    if attribute == "position":
        distance = (v[i] - v[j]).norm(dim=1)  # Euclidean, in image sides
    else:
        distance = (v[i] - v[j]).abs()  # degrees
    return distance < threshold


def pair_mask(attributes: dict[str, torch.Tensor], attribute: str) -> torch.Tensor:
    """Which pairs of :func:`pair_indices` can be judged for ``attribute``: (P,) bool, all
    True except for ``rotation``, where a pair with a circle (shape 0, the same at every
    angle) is left out."""
    n = len(attributes[attribute])
    if attribute != "rotation":
        return torch.ones(n * (n - 1) // 2, dtype=torch.bool)
    from ..data import shapes

    turns = attributes["shape"] != shapes.SHAPES.index("circle")  # (N,)
    i, j = pair_indices(n)
    return turns[i] & turns[j]


def roc_curve(scores: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The ROC curve of ``scores`` as a detector of ``labels``: (fpr, tpr), each (T + 1,).

    Args:
        scores: (P,) higher means "positive" more likely.
        labels: (P,) bool, the truth.

    Returns:
        False and true positive rates at every distinct threshold, from (0, 0) (nothing
        called positive) to (1, 1) (everything); tied scores move both at once. NaN rates
        when there are no positives or no negatives.
    """
    scores, labels = scores.flatten().double(), labels.flatten().bool()
    order = torch.argsort(scores, descending=True)
    s, y = scores[order], labels[order].double()
    # The last index of each run of equal scores: the curve's points.
    last = torch.nonzero(torch.diff(s, append=s[-1:] - 1.0) != 0).flatten()
    tp = torch.cumsum(y, 0)[last]
    fp = torch.cumsum(1.0 - y, 0)[last]
    n_pos, n_neg = y.sum(), (1.0 - y).sum()
    zero = torch.zeros(1, dtype=torch.float64)
    tpr = torch.cat([zero, tp]) / n_pos
    fpr = torch.cat([zero, fp]) / n_neg
    return fpr.float(), tpr.float()


def auc(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """The area under the ROC curve, as the rank statistic of Mann and Whitney:

    AUC = P(score of a random positive > score of a random negative)
    + 1/2 P(they are equal),

    computed from the ranks of all scores (ties get their average rank)::

        AUC = (sum of the positives' ranks - n_pos (n_pos + 1) / 2) / (n_pos n_neg)

    Args:
        scores: (P,) higher means "positive" more likely.
        labels: (P,) bool.

    Returns:
        1 for a perfect separator, 0 for a reversed one, 0.5 when every score is tied; NaN
        without positives or without negatives. Equal to the trapezoidal area under
        :func:`roc_curve`.
    """
    scores, labels = scores.flatten().double(), labels.flatten().bool()
    n_pos = int(labels.sum())
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    # Average ranks (1-based): a run of c equal scores starting at 0-based index a shares
    # the rank a + (c + 1) / 2.
    sorted_scores, order = torch.sort(scores)
    _, inverse, counts = torch.unique_consecutive(
        sorted_scores, return_inverse=True, return_counts=True
    )
    start = torch.cumsum(counts, 0) - counts  # first 0-based index of each run
    rank_sorted = (start.double() + (counts.double() + 1.0) / 2.0)[inverse]
    ranks = torch.empty_like(rank_sorted)
    ranks[order] = rank_sorted
    u = ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


@torch.no_grad()
def disentangling(
    S: StyleEncoder,
    images: torch.Tensor,
    attributes: dict[str, torch.Tensor],
    *,
    styles: tuple[str, ...] = STYLE_ATTRIBUTES,
    thresholds: dict[str, float] | None = None,
) -> dict[str, dict]:
    """The paper's disentangling ROC curves (section 5.2) for real images of known style.

    Args:
        S: the style encoder.
        images: (N, 3, H, W) uint8 or [-1, 1] real images, any side; every pair is used,
            so keep N to a few thousand (N = 2,000 gives 2 million pairs).
        attributes: their ground truth (a Shapes dataset's ``attributes``; ``shape`` is
            read for ``rotation``).
        styles: which of :data:`STYLE_ATTRIBUTES` to measure.
        thresholds: "same position" / "same rotation" thresholds (default
            :data:`THRESHOLDS`).

    Returns:
        For each style a dict: ``auc`` (float), ``fpr`` and ``tpr`` ((T + 1,) each, the
        curve), ``same_pairs`` and ``different_pairs`` (ints): the cosine similarity of the
        predicted style vectors as a detector of pairs with the same style (the pairs
        :func:`pair_mask` keeps).
    """
    thresholds = {**THRESHOLDS, **(thresholds or {})}
    cos = pair_cosine(style_vectors(S, images))  # (P,)
    out = {}
    for name in styles:
        keep = pair_mask(attributes, name)
        same = same_style(attributes, name, thresholds.get(name))[keep]
        cos_kept = cos[keep]
        fpr, tpr = roc_curve(cos_kept, same)
        out[name] = {
            "auc": auc(cos_kept, same),
            "fpr": fpr,
            "tpr": tpr,
            "same_pairs": int(same.sum()),
            "different_pairs": int((~same).sum()),
        }
    return out


@torch.no_grad()
def transfer_measurement(
    G: Generator,
    S: StyleEncoder,
    encoder,
    judge,
    images: torch.Tensor,
    attributes: dict[str, torch.Tensor],
    *,
    classes: list[int] | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """What the judge reads in x_hat = G(S(x), phi(t)), for real images x and captions t of
    another class.

    Args:
        G, S, encoder: the generator, its style encoder and its text encoder.
        judge: a :class:`t2ilib.evaluate.judge.Judge` (``load_judge``).
        images: (N, 3, H, W) real Shapes images, uint8 or [-1, 1], any side.
        attributes: their ground truth: ``shape``, ``colour``, ``background`` (N,), and
            ``position`` (N, 2) when the position error is wanted.
        classes: the classes t is drawn from (default: the training classes); each x gets
            a class other than its own, uniformly, and a size in turn (small, medium,
            large), worded by the Shapes grammar.
        seed: the draw of the classes and captions, and of the random z of the baseline.

    Returns:
        ``background``: the fraction of x_hat with x's background; ``background_random_z``:
        the same for G(z, phi(t)) with z ~ N(0, I) instead of S(x) (what no style
        encoder gives); ``shape``, ``colour``, ``size``, ``all``: the fractions with t's
        attribute(s); ``position_error`` and ``position_error_random_z`` (mean distance
        between x's object centre and x_hat's as the judge reads it, in image sides).
    """
    from ..data import shapes
    from ..sampling import generate
    from . import judge as judging

    classes = list(classes if classes is not None else shapes.split_classes("trainval"))
    N = len(images)
    label = attributes["shape"] * len(shapes.COLOURS) + attributes["colour"]  # (N,)
    g = torch.Generator().manual_seed(seed)
    pick = torch.tensor(classes)[torch.randint(0, len(classes), (N,), generator=g)]
    for _ in range(1000):  # another class than x's own
        same = pick == label
        if not same.any():
            break
        pick[same] = torch.tensor(classes)[
            torch.randint(0, len(classes), (int(same.sum()),), generator=g)
        ]
    else:
        raise ValueError("transfer_measurement needs at least two classes")
    captions, targets = judging.content_captions(pick.tolist(), 1, seed)  # N captions
    h = encoder.embed(captions).cpu()  # (N, 1024)
    s = style_vectors(S, images)  # (N, nz)
    x_hat = generate(G, s, h)  # G(S(x), phi(t)): (N, 3, S, S)
    x_rand = generate(G, torch.randn(N, G.config.nz, generator=g), h)  # G(z, phi(t))
    pred, rand = judging.predict(judge, x_hat), judging.predict(judge, x_rand)
    out = judging.attribute_accuracy(pred, targets)
    out["background"] = float((pred["background"] == attributes["background"]).float().mean())
    out["background_random_z"] = float(
        (rand["background"] == attributes["background"]).float().mean()
    )
    if "position" in attributes:
        true = attributes["position"].float()
        out["position_error"] = float((pred["position"] - true).norm(dim=1).mean())
        out["position_error_random_z"] = float((rand["position"] - true).norm(dim=1).mean())
    out["n"] = N
    return out
