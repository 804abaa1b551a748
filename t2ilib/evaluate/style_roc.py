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
same measured with random z for comparison; :func:`background_diagnostics` says how much
of a loss is G's); the fractions with t's shape, colour and size say whether the content
is the text's (against the same fractions for G(z, phi(t)) with random z: what G draws
for t without a style image).

**Pose** (:func:`read_rotation`, :func:`pose_spread`): the judge reads no rotation, so the
angle of a centred object is read by matching its silhouette against drawings of its shape
at every angle. Reading G's images for many z and one caption says whether G takes its
pose from z at all; a G that draws one pose per caption leaves S no pose to read.

The ROC curve and its area are written here with torch (:func:`roc_curve`, :func:`auc`), so
the library needs no scikit-learn; :func:`roc_on_grid` reads a curve at fixed false
positive rates, a short form to store (``scripts/style_report.py``).
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
# Content, named by every caption: controls for the disentangling ROC (S should not read them).
CONTENT_ATTRIBUTES = ("shape", "colour", "size")


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
        1 for a perfect separator, 0 for a reversed one, 0.5 when every score is
        tied; NaN without positives or without negatives. Equal to the trapezoidal area
        under :func:`roc_curve`.
    """
    scores, labels = scores.flatten().double(), labels.flatten().bool()
    n_pos = int(labels.sum())
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    # Average ranks (1-based): a run of c equal scores starting at 0-based index a
    # shares the rank a + (c + 1) / 2.
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


def roc_on_grid(
    fpr: torch.Tensor, tpr: torch.Tensor, points: int = 51
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ROC curve of :func:`roc_curve` read at ``points`` evenly spaced false positive
    rates from 0 to 1: a short form of fixed length, to store in a results file or to
    average over runs.

    Args:
        fpr, tpr: (T + 1,) each, as :func:`roc_curve` returns them (fpr non-decreasing).
        points: how many false positive rates, 0 and 1 included (>= 2).

    Returns:
        (grid, tpr_at_grid), each (points,). Between two points of the curve the true
        positive rate is interpolated linearly; where the curve rises vertically (several
        points at one false positive rate) the highest is taken.
    """
    if points < 2:
        raise ValueError(f"roc_on_grid needs at least 2 points, got {points}")
    fpr, tpr = fpr.double(), tpr.double()
    grid = torch.linspace(0.0, 1.0, points, dtype=torch.float64)  # (points,)
    # k: the last point of the curve with fpr[k] <= f (the top of a vertical run)
    k = (torch.searchsorted(fpr, grid, right=True) - 1).clamp(0, len(fpr) - 1)
    nxt = (k + 1).clamp(max=len(fpr) - 1)
    span = fpr[nxt] - fpr[k]  # > 0 unless k is the last point
    w = torch.where(span > 0, (grid - fpr[k]) / span.clamp(min=1e-12), torch.zeros_like(grid))
    # tpr(f) = tpr[k] + w (tpr[k + 1] - tpr[k]), w = (f - fpr[k]) / (fpr[k + 1] - fpr[k])
    out = tpr[k] + w.clamp(0, 1) * (tpr[nxt] - tpr[k])
    return grid.float(), out.float()


@torch.no_grad()
def disentangling(
    S: StyleEncoder,
    images: torch.Tensor,
    attributes: dict[str, torch.Tensor],
    *,
    styles: tuple[str, ...] = STYLE_ATTRIBUTES,
    thresholds: dict[str, float] | None = None,
    controls: tuple[str, ...] = (),
    given: tuple[str, ...] = (),
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
        controls: content attributes of :data:`CONTENT_ATTRIBUTES` measured the same way
            (pairs with the same value vs a different one). The caption names them, so a
            style vector that leaves content to the text scores an AUC near 0.5 for them.
        given: style attributes held fixed: only pairs that share them (as
            :func:`same_style` reads "share") are judged. The paper's experiment uses every
            pair (``given=()``), so each style's AUC also pays for the style vector's other
            parts: with ``given=("background",)`` the position AUC says how well S reads the
            position apart from the background, which covers most of an image. Not for an
            attribute that is itself measured.

    Returns:
        For each style (and control) a dict: ``auc`` (float), ``fpr`` and ``tpr`` ((T + 1,)
        each, the curve), ``same_pairs`` and ``different_pairs`` (ints): the cosine
        similarity of the predicted style vectors as a detector of pairs with the same style
        (the pairs :func:`pair_mask` keeps that share the ``given`` attributes).
    """
    thresholds = {**THRESHOLDS, **(thresholds or {})}
    unknown = [name for name in controls if name not in CONTENT_ATTRIBUTES]
    if unknown:
        raise ValueError(f"unknown content attribute(s) {unknown}; valid: {CONTENT_ATTRIBUTES}")
    unknown = [name for name in given if name not in STYLE_ATTRIBUTES]
    if unknown:
        raise ValueError(f"unknown given style attribute(s) {unknown}; valid: {STYLE_ATTRIBUTES}")
    both = [name for name in given if name in styles]
    if both:
        raise ValueError(f"{both} cannot be both measured and given (held fixed)")
    cos = pair_cosine(style_vectors(S, images))  # (P,)
    # Pairs that share every given attribute: (P,) bool
    held = torch.ones_like(cos, dtype=torch.bool)
    for name in given:
        held &= same_style(attributes, name, thresholds.get(name))
    out = {}
    for name in (*styles, *controls):
        if name in controls:  # content: the same value, every (held) pair judged
            i, j = pair_indices(len(attributes[name]))
            keep = held.clone()
            same = (attributes[name][i] == attributes[name][j])[keep]
        else:
            keep = pair_mask(attributes, name) & held
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


def _unit_power(v: torch.Tensor) -> torch.Tensor:
    """``v`` (N, D) centred over its rows and scaled to a mean squared norm of 1."""
    v = v - v.mean(dim=0)
    return v / v.pow(2).sum(dim=1).mean().sqrt().clamp(min=1e-12)


def place_features(position: torch.Tensor, grid: int = 8, width: float = 0.1) -> torch.Tensor:
    """How close each object is to each of ``grid`` x ``grid`` points spread evenly over the
    positions' range: exp(-d^2 / (2 width^2)), d the distance in image sides.

    Args:
        position: (N, 2) object centres in [0, 1].
        grid, width: the points per side and the width of each bump (default 0.1, the
            "same position" threshold of :data:`THRESHOLDS`).

    Returns:
        (N, grid^2) float64: a place code (:func:`ideal_style_vectors`), and features whose
        weighted sums follow a linear or a non-linear function of the position alike
        (:func:`variance_shares`).
    """
    where = position.double()  # (N, 2)
    lo, hi = where.min(dim=0).values, where.max(dim=0).values
    axes = [torch.linspace(float(lo[k]), float(hi[k]), grid, dtype=torch.float64) for k in (0, 1)]
    centres = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, 2)
    d2 = (where[:, None] - centres[None]).pow(2).sum(dim=-1)  # (N, grid^2)
    return torch.exp(-d2 / (2 * width**2))


def variance_shares(s: torch.Tensor, attributes: dict[str, torch.Tensor]) -> dict[str, float]:
    """How much of the spread of style vectors each ground-truth attribute accounts for.

    The cosine of :func:`pair_cosine` compares whole vectors, so an attribute that moves s
    a little is drowned by one that moves it a lot. Each share is the fraction of the total
    spread of s (the sum of the squared distances of the s_i from their mean) that a
    least-squares reading of s from the attribute explains, corrected for the reading's k
    free parameters (the adjusted R^2, so that an attribute s knows nothing of scores about
    0 rather than about k / N)::

        share(a) = 1 - [sum_i ||s_i - f_a(i)||^2 / (N - k - 1)]
                     / [sum_i ||s_i - mean(s)||^2 / (N - 1)]

    with f_a(i) the mean s of the images with i's value of a (background, shape, colour,
    size; k = values - 1), or for ``position`` the least-squares fit of s on a constant and
    the 8 x 8 bumps of :func:`place_features` (k = 64), which follows a linear code of the
    position and a place code alike; ``position_linear`` is the same with (x, y) itself
    (k = 2), the part of the position's share that a linear code carries. Shares of
    different attributes overlap only as far as the attributes are correlated; on Shapes
    they are drawn independently.

    Args:
        s: (N, D) style vectors of N real images (N well above 65 for the position).
        attributes: their ground truth (a Shapes dataset's ``attributes``).

    Returns:
        {attribute: share, at most 1 (a little below 0 by chance when s knows nothing of
        it)} for ``background``, ``position`` (NaN when every object sits at one place, the
        ``centred`` layout, or when N <= 65, too few images to fit 65 numbers),
        ``position_linear`` (NaN in the ``centred`` layout), ``shape``, ``colour``,
        ``size``.
    """
    s = s.double()
    N = len(s)
    total = (s - s.mean(dim=0)).pow(2).sum() / (N - 1)  # sum_i ||s_i - mean(s)||^2 / (N - 1)
    out = {}
    for name in ("background", "position", "position_linear", *CONTENT_ATTRIBUTES):
        value = attributes[name.removesuffix("_linear")]
        if name.startswith("position"):
            # the 8 x 8 bumps, or for position_linear (x, y) itself
            X = place_features(value) if name == "position" else value.double()  # (N, k)
            if float(value.double().std(dim=0).max()) < 1e-6 or N <= X.shape[1] + 1:
                out[name] = math.nan  # no object moves, or fewer images than numbers to fit
                continue
            k = X.shape[1]
            X = torch.cat([torch.ones(N, 1, dtype=torch.float64), X], dim=1)
            fit = X @ torch.linalg.lstsq(X, s).solution  # (N, D)
        else:
            fit = torch.zeros_like(s)
            values = value.unique()
            for v in values:
                rows = value == v
                fit[rows] = s[rows].mean(dim=0)
            k = len(values) - 1
        if N - k - 1 <= 0:
            raise ValueError(f"variance_shares needs more than {k + 1} images, got {N}")
        residual = (s - fit).pow(2).sum() / (N - k - 1)
        out[name] = float(1 - residual / total.clamp(min=1e-12))
    return out


def ideal_style_vectors(
    attributes: dict[str, torch.Tensor],
    background: float,
    position: float,
    *,
    code: str = "linear",
    rest_dims: int = 20,
    grid: int = 8,
    width: float = 0.1,
    seed: int = 0,
) -> torch.Tensor:
    """Style vectors made to order, to see what the cosine of :func:`disentangling` can
    and cannot see: s = [sqrt(b) B, sqrt(p) P, sqrt(1 - b - p) R], with

    * B: the background as a one-hot vector (6 dims), the code an S has when it reads the
      six backgrounds perfectly (backgrounds equally far apart);
    * P: the position, ``code="linear"``: (x, y) itself (2 dims), the code an S that
      inverts a G which moves its object smoothly with z has; ``code="place"``: how close
      the object is to each of ``grid`` x ``grid`` points spread over the positions,
      exp(-d^2 / (2 width^2)) (:func:`place_features`, normalised), one "place cell"
      per point;
    * R: Gaussian numbers (``rest_dims``) that say nothing, the part of S's vector no
      style explains.

    Each part is centred and scaled to a mean squared norm of 1, so ``background`` b and
    ``position`` p are the parts' shares of the variance (:func:`variance_shares` reads
    them back); b + p <= 1.

    Returns:
        (N, 6 + P + rest_dims) float.
    """
    if code not in ("linear", "place"):
        raise ValueError(f"unknown position code {code!r}; valid: 'linear', 'place'")
    if min(background, position) < 0 or background + position > 1 + 1e-9:
        raise ValueError(
            f"shares must be >= 0 and add up to at most 1, got background {background} "
            f"and position {position}"
        )
    from ..data import shapes

    bg = torch.nn.functional.one_hot(attributes["background"].long(), len(shapes.BACKGROUNDS))
    where = attributes["position"].double()  # (N, 2)
    if code == "linear":
        P = where  # (N, 2)
    else:
        P = torch.nn.functional.normalize(place_features(where, grid, width), dim=1)  # (N, grid^2)
    g = torch.Generator().manual_seed(seed)
    rest = torch.randn(len(where), rest_dims, generator=g, dtype=torch.float64)
    rest_share = max(0.0, 1.0 - background - position)
    parts = [
        _unit_power(bg.double()) * background**0.5,
        _unit_power(P) * position**0.5,
        _unit_power(rest) * rest_share**0.5,
    ]
    return torch.cat(parts, dim=1).float()


def object_mask(images: torch.Tensor) -> torch.Tensor:
    """Where the object is: each pixel's colour distance from the image's background (the
    median colour of its border), scaled to [0, 1] per image.

    Args:
        images: (N, 3, H, W) uint8 or float in [-1, 1].

    Returns:
        (N, H, W) float: 0 on the background, 1 at the pixel furthest from it.
    """
    x = images.float() / 127.5 - 1.0 if images.dtype == torch.uint8 else images.float()
    border = torch.cat([x[:, :, 0], x[:, :, -1], x[:, :, :, 0], x[:, :, :, -1]], dim=2)
    background = border.median(dim=2).values[:, :, None, None]  # (N, 3, 1, 1)
    d = (x - background).norm(dim=1)  # (N, H, W)
    return d / d.amax(dim=(1, 2), keepdim=True).clamp(min=1e-6)


@torch.no_grad()
def read_rotation(
    images: torch.Tensor,
    shape: torch.Tensor,
    size: torch.Tensor,
    angles: torch.Tensor | None = None,
) -> torch.Tensor:
    """The pose of centred Shapes objects, which the judge does not read: for each image,
    the angle whose drawing of its shape and size, at the centre, best matches the image's
    :func:`object_mask` (least squared difference). Colour and background play no part, so
    a generated object drawn in the wrong colour is still read.

    Args:
        images: (N, 3, S, S) uint8 or [-1, 1], objects at the centre (the ``centred``
            layout, and generators trained on it).
        shape, size: (N,) indices into ``shapes.SHAPES`` and ``shapes.SIZES`` (the truth, the
            caption's, or the judge's reading).
        angles: the candidate angles in degrees (default -25 to 25 in steps of 1, the
            ``centred`` layout's +-20 with a margin, inside every shape's symmetry but the
            hexagon's 60 degrees, whose -30 and +30 look alike).

    Returns:
        (N,) degrees; NaN for circles, which look the same at every angle.
    """
    from ..data import shapes

    angles = torch.arange(-25.0, 26.0) if angles is None else angles.float()
    N, A, side = len(images), len(angles), images.shape[-1]
    shape, size = torch.as_tensor(shape).long(), torch.as_tensor(size).long()
    # Templates: every image's shape and size at every angle, white on black: (N * A, 3, S, S)
    templates = shapes.draw(
        shape.repeat_interleave(A).tolist(),
        "yellow",
        size.repeat_interleave(A).tolist(),
        background="black",
        rotation=angles.repeat(N).tolist(),
        image_size=side,
    )
    m = object_mask(images)  # (N, S, S)
    t = object_mask(templates).view(N, A, side, side)
    error = (t - m[:, None]).pow(2).mean(dim=(2, 3))  # (N, A)
    out = angles[error.argmin(dim=1)]  # (N,)
    return torch.where(shape == shapes.SHAPES.index("circle"), torch.nan, out)


# Captions of seen classes for :func:`pose_spread`: no circle (no pose) and no hexagon (its
# 60-degree symmetry makes -30 and +30 degrees alike, at the edge of the reader's range).
POSE_CAPTIONS = (
    "a large red square",
    "a medium yellow triangle",
    "a large blue star",
    "a small pink diamond",
    "a medium orange star",
    "a large purple triangle",
)
# The standard deviation of a real pose in the ``centred`` layout: uniform in [-20, 20] degrees.
REAL_POSE_STD = 40 / math.sqrt(12)


@torch.no_grad()
def pose_spread(
    G: Generator, encoder, captions: list[str], n: int = 32, seed: int = 0
) -> dict[str, torch.Tensor]:
    """How far G turns its objects as z varies, for each caption: the poses of G(z, phi(t))
    for ``n`` noise vectors, read by :func:`read_rotation` with the shape and size the
    caption names. For real images of the ``centred`` layout the angle is uniform in
    [-20, 20] degrees (a standard deviation of 40 / sqrt(12) = 11.5 degrees); a G that takes
    its pose from z spreads its angles as widely.

    Args:
        G, encoder: the generator and its text encoder.
        captions: C captions naming a shape other than the circle, and a size (for
            example :data:`POSE_CAPTIONS`).
        n: noise vectors per caption (the same for every caption).
        seed: their draw.

    Returns:
        ``angles`` (C, n) degrees and ``std`` (C,) their standard deviation per caption.
    """
    from ..sampling import generate
    from .judge import parse_caption

    content = [parse_caption(c) for c in captions]
    missing = [c for c, a in zip(captions, content, strict=True) if not {"shape", "size"} <= set(a)]
    if missing:
        raise ValueError(f"captions must name a shape and a size: {missing}")
    C = len(captions)
    z = torch.randn(n, G.config.nz, generator=torch.Generator().manual_seed(seed))  # (n, nz)
    h = encoder.embed(list(captions)).cpu().repeat_interleave(n, dim=0)  # (C * n, D)
    images = generate(G, z.repeat(C, 1), h)  # (C * n, 3, S, S): caption c in rows c*n...
    shape = torch.tensor([a["shape"] for a in content]).repeat_interleave(n)
    size = torch.tensor([a["size"] for a in content]).repeat_interleave(n)
    angles = read_rotation(images, shape, size).view(C, n)
    return {"angles": angles, "std": angles.std(dim=1)}


@torch.no_grad()
def background_diagnostics(
    G: Generator,
    S: StyleEncoder,
    encoder,
    judge,
    *,
    n: int = 1000,
    classes: list[int] | None = None,
    seed: int = 0,
) -> dict:
    """Whose is a background lost in style transfer, S's or G's? Three readings of G's own
    images by the judge, for ``n`` noise vectors z and two captions t_a, t_b each (classes
    drawn from ``classes``, default the training classes):

    * ``shares``: the fraction of G(z, t_a) read as each of the 6 backgrounds (real data:
      1/6 each): which backgrounds G's noise covers. A real image with a background G
      rarely draws asks S for a z that G hardly has.
    * ``same_z``: the fraction of z for which G(z, t_a) and G(z, t_b) have the same
      background: how far G's background depends on z alone. Transfer changes the caption,
      so no S keeps backgrounds much more reliably than this.
    * ``own_images``: the fraction for which G(S(G(z, t_a)), t_b) has G(z, t_a)'s
      background: transfer from the kind of image S was trained on.

    Returns:
        ``{"shares": [6 floats], "same_z": float, "own_images": float, "n": n}``.
    """
    from ..data import shapes
    from ..sampling import generate
    from . import judge as judging

    classes = torch.tensor(classes if classes is not None else shapes.split_classes("trainval"))
    g = torch.Generator().manual_seed(seed)
    texts = []
    for k in (1, 2):  # t_a, t_b: captions of random classes
        pick = classes[torch.randint(0, len(classes), (n,), generator=g)]
        captions, _ = judging.content_captions(pick.tolist(), 1, seed + k)
        texts.append(encoder.embed(captions).cpu())  # (n, D)
    h_a, h_b = texts
    z = torch.randn(n, G.config.nz, generator=g)  # (n, nz)
    x_a = generate(G, z, h_a)  # G(z, t_a): (n, 3, S, S)
    bg_a = judging.predict(judge, x_a)["background"]
    bg_b = judging.predict(judge, generate(G, z, h_b))["background"]  # G(z, t_b)
    s = style_vectors(S, x_a)  # S(G(z, t_a)): (n, nz)
    bg_own = judging.predict(judge, generate(G, s, h_b))["background"]  # G(S(.), t_b)
    shares = torch.bincount(bg_a, minlength=len(shapes.BACKGROUNDS)).float() / n
    return {
        "shares": [float(v) for v in shares],
        "same_z": float((bg_a == bg_b).float().mean()),
        "own_images": float((bg_own == bg_a).float().mean()),
        "n": n,
    }


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
        attribute(s); ``shape_random_z``, ``colour_random_z``, ``size_random_z``,
        ``all_random_z``: the same for G(z, phi(t)), what G draws for t with its usual
        noise (the content a transfer should keep); ``position_error`` and
        ``position_error_random_z`` (mean distance between x's object centre and x_hat's
        as the judge reads it, in image sides); ``background_confusion``: (6, 6) counts,
        row x's background, column x_hat's as the judge reads it (order of
        ``shapes.BACKGROUNDS``): which backgrounds are lost, and to what.
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
    for k, v in judging.attribute_accuracy(rand, targets).items():
        out[f"{k}_random_z"] = v
    out["background"] = float((pred["background"] == attributes["background"]).float().mean())
    out["background_random_z"] = float(
        (rand["background"] == attributes["background"]).float().mean()
    )
    k = len(shapes.BACKGROUNDS)
    pairs = attributes["background"].long() * k + pred["background"].long()  # (N,) row * k + col
    confusion = torch.bincount(pairs, minlength=k * k).view(k, k)  # (6, 6)
    out["background_confusion"] = confusion.tolist()
    if "position" in attributes:
        true = attributes["position"].float()
        out["position_error"] = float((pred["position"] - true).norm(dim=1).mean())
        out["position_error_random_z"] = float((rand["position"] - true).norm(dim=1).mean())
    out["n"] = N
    return out
