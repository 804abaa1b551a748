"""The playground: type a caption and see what G draws; slide between two captions; draw
the style of a chosen image with the content of your captions.

Three widgets (ipywidgets) for a trained text-conditional G and its text encoder, for
trying by hand what Reed et al. (2016) show in sections 5.1, 5.3 and 5.4:

* :class:`CaptionGrid`: a caption box and a seed slider; shows ``n`` images
  G(z_i, phi(t)), the z_i drawn from the seed, exactly the images
  :func:`t2ilib.sampling.sample_with` (and ``python -m t2ilib sample --seed``) give.
* :class:`CaptionSlider`: two caption boxes, a slider for beta and a seed slider; shows
  G(z_i, h(beta)) with h(beta) = beta phi(b) + (1 - beta) phi(a), the text of a caption
  walk (:func:`t2ilib.interpolate.caption_walk`) at one beta, the noise held.
* :class:`StyleTransfer`: a slider through a gallery of style images, an upload button for
  your own image, and a caption box (captions separated by ``;``); shows the style image
  x and G(S(x), phi(t)) for each caption, S the style encoder trained for G: what
  :func:`t2ilib.transfer.transfer` gives.

Each widget is a thin shell around a pure function that computes its picture
(:func:`grid_images`, :func:`between_images`, :func:`transfer_images`). Its handler,
``update()``, reads the widgets' values, calls that function and keeps the result in
``.images`` (n, 3, S, S) in [-1, 1]; the widgets call it when a value changes, and a test
can set the values and call it without a browser. :func:`grid_figure`,
:func:`slider_figure` and :func:`transfer_figure` draw the same images with matplotlib,
for given values: the static picture a rendered page shows beside a widget it cannot run
(and ``figure()``, the widget's current picture).

Usage, in Jupyter or Colab::

    from t2ilib import playground, shipped
    G, encoder, _ = shipped.load("gan-int-cls")
    playground.CaptionGrid(G, encoder)          # the last line of a cell shows it
    playground.CaptionSlider(G, encoder, "a small red square", "a small blue square")
    playground.StyleTransfer(G, S, encoder, images)  # S: G's style encoder (chapter 7)

ipywidgets is imported only when a widget is built (Colab and JupyterLab have it; the
rest of t2ilib does not need it).
"""

from __future__ import annotations

import io

import torch

from . import transfer
from .losses import interpolate_embeddings
from .sampling import generate, sample_with
from .viz import image_grid, show_rows

MAX_SEED = 9_999  # the seed sliders run from 0 to this


def _widgets():
    try:
        import ipywidgets
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "the playground needs ipywidgets: `pip install ipywidgets` (Colab and JupyterLab "
            "have it); grid_images and between_images work without it"
        ) from None
    return ipywidgets


# ---------------------------------------------------------------------------------------
# The pure functions: what each widget shows
# ---------------------------------------------------------------------------------------


@torch.no_grad()
def grid_images(G, encoder, caption: str, seed: int = 0, n: int = 8) -> torch.Tensor:
    """G(z_i, phi(caption)) for n noise vectors drawn from ``seed``: (n, 3, S, S) in [-1, 1].

    The images :func:`t2ilib.sampling.sample_with` gives for one caption; an empty
    caption is a ValueError."""
    if not caption.strip():
        raise ValueError("the caption is empty: type what G should draw, e.g. 'a large red star'")
    return sample_with(G, encoder, [caption], n=n, seed=seed, source="the playground's G")


@torch.no_grad()
def between_images(
    G, encoder, caption_a: str, caption_b: str, beta: float, seed: int = 0, n: int = 8
) -> torch.Tensor:
    """G(z_i, h(beta)) with h(beta) = beta phi(b) + (1 - beta) phi(a), the z_i drawn
    from ``seed`` as in :func:`grid_images`: (n, 3, S, S) in [-1, 1]. beta = 0 gives
    ``grid_images(caption_a)``, beta = 1 ``grid_images(caption_b)``."""
    for c in (caption_a, caption_b):
        if not c.strip():
            raise ValueError("a caption is empty: type both ends of the walk")
    h_a, h_b = encoder.embed([caption_a, caption_b]).cpu()  # (D,) each
    # h(beta) = beta h_b + (1 - beta) h_a, as GAN-INT and caption_walk mix texts
    h = interpolate_embeddings(torch.stack([h_b, h_a]), float(beta))  # (1, D)
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, G.config.nz, generator=g)  # (n, nz)
    return generate(G, z, h.expand(n, -1))


def split_captions(text: str) -> list[str]:
    """The captions in ``text``, separated by ``;`` (blanks dropped); none is a ValueError."""
    captions = [c.strip() for c in text.split(";") if c.strip()]
    if not captions:
        raise ValueError(
            "no caption: type one or more, separated by ';', "
            "e.g. 'a large red star; a small blue circle'"
        )
    return captions


@torch.no_grad()
def transfer_images(G, S, encoder, style_image: torch.Tensor, captions: list[str]) -> torch.Tensor:
    """The style image x at G's side, then x_hat = G(S(x), phi(t)) for each caption t:
    (1 + M, 3, S, S) in [-1, 1]. ``style_image``: (3, H, W) uint8 or float in [-1, 1], any
    side, brought to G's as training images are (:func:`t2ilib.transfer.prepare_images`)."""
    if not captions:
        raise ValueError("no caption: give at least one")
    x = transfer.prepare_images(style_image[None], G.config.image_size)  # (1, 3, S, S)
    x_hat = transfer.transfer(G, S, encoder, x, list(captions))[0]  # (M, 3, S, S)
    return torch.cat([x, x_hat.to(x.device)])


def png(images: torch.Tensor, ncols: int = 8, scale: int = 3) -> bytes:
    """PNG bytes of an image grid, enlarged ``scale`` times with nearest neighbours (32x32
    samples are too small to see on a screen at their own size)."""
    from PIL import Image

    grid = Image.fromarray(image_grid(images, ncols))
    if scale > 1:
        grid = grid.resize((grid.width * scale, grid.height * scale), Image.NEAREST)
    buffer = io.BytesIO()
    grid.save(buffer, format="PNG")
    return buffer.getvalue()


def grid_figure(G, encoder, captions: list[str], seed: int = 0, n: int = 8, labels=None, **kwargs):
    """A static picture of the caption box: one row of :func:`grid_images` per caption, the
    same seed (so the same z) for every row, labelled with ``labels`` (default: the
    captions); ``kwargs`` go to :func:`t2ilib.viz.show_rows`. Returns the figure."""
    rows = [grid_images(G, encoder, c, seed, n) for c in captions]
    kwargs.setdefault("title", f"seed {seed}: the same {n} noise vectors in every row")
    return show_rows(torch.cat(rows), list(labels or captions), **kwargs)


def slider_figure(
    G, encoder, caption_a: str, caption_b: str, betas, seed: int = 0, n: int = 8, **kwargs
):
    """A static picture of the slider: one row of :func:`between_images` per beta in
    ``betas``, as if the slider stood there; ``kwargs`` go to :func:`t2ilib.viz.show_rows`.
    Returns the matplotlib figure."""
    rows = [between_images(G, encoder, caption_a, caption_b, float(b), seed, n) for b in betas]
    kwargs.setdefault("title", f"from '{caption_a}' (beta = 0) to '{caption_b}' (beta = 1)")
    return show_rows(torch.cat(rows), [f"beta = {float(b):.2f}" for b in betas], **kwargs)


def transfer_figure(G, S, encoder, style_images, captions: list[str], labels=None, **kwargs):
    """A static picture of the style-transfer widget: one row of :func:`transfer_images`
    per style image (the image first, then one column per caption), labelled with
    ``labels`` (default: "style image k"); ``kwargs`` go to :func:`t2ilib.viz.show_rows`.
    Returns the matplotlib figure."""
    rows = [transfer_images(G, S, encoder, x, captions) for x in style_images]
    labels = list(labels or (f"style image {k}" for k in range(len(rows))))
    kwargs.setdefault("title", "x, then G(S(x), phi(t)) for: " + "; ".join(captions))
    return show_rows(torch.cat(rows), labels, **kwargs)


# ---------------------------------------------------------------------------------------
# The widgets
# ---------------------------------------------------------------------------------------


class _Playground:
    """What both widgets share: the image, the message line, the handler's bookkeeping."""

    def __init__(self, G, encoder, n: int, ncols: int, scale: int):
        self.G, self.encoder, self.n, self.ncols, self.scale = G, encoder, n, ncols, scale
        w = _widgets()
        self.image = w.Image(format="png")
        self.message = w.HTML()  # why the picture did not change (an empty caption)
        self.images: torch.Tensor | None = None  # (n, 3, S, S) in [-1, 1]: what is shown
        self.updates = 0  # pictures drawn so far

    def _show(self, compute) -> None:
        try:
            images = compute()
        except ValueError as e:  # a value the reader can fix: say so, keep the picture
            self.message.value = f"<b>{e}</b>"
            return
        self.message.value = ""
        self.images = images
        self.image.value = png(images, self.ncols, self.scale)
        self.updates += 1

    def _ipython_display_(self):  # the last line of a cell shows the widget
        from IPython.display import display

        display(self.widget)


class CaptionGrid(_Playground):
    """A caption box and a seed slider; shows G's ``n`` images for that caption and seed.

    ``caption`` (Text) and ``seed`` (IntSlider) are the widgets the reader moves;
    :meth:`update` is their handler.
    """

    def __init__(
        self,
        G,
        encoder,
        caption: str = "a large red star",
        seed: int = 0,
        n: int = 8,
        ncols: int = 8,
        scale: int = 3,
    ):
        super().__init__(G, encoder, n, ncols, scale)
        w = _widgets()
        wide = w.Layout(width="32em")
        # continuous_update=False: the caption is read when Enter is pressed or focus
        # leaves the box, not at every key
        self.caption = w.Text(
            value=caption, description="caption", continuous_update=False, layout=wide
        )
        self.seed = w.IntSlider(value=seed, min=0, max=MAX_SEED, description="seed", layout=wide)
        for control in (self.caption, self.seed):
            control.observe(self.update, names="value")
        self.widget = w.VBox([self.caption, self.seed, self.image, self.message])
        self.update()

    def update(self, change=None) -> None:
        """The handler: draw the grid for the widgets' current caption and seed."""
        self._show(
            lambda: grid_images(self.G, self.encoder, self.caption.value, self.seed.value, self.n)
        )

    def figure(self, **kwargs):
        """The widget's current picture as a matplotlib figure (:func:`grid_figure`),
        labelled with its caption and seed."""
        caption, seed = self.caption.value, self.seed.value
        kwargs.setdefault("title", None)
        label = f"{caption} (seed {seed})"
        return grid_figure(self.G, self.encoder, [caption], seed, self.n, [label], **kwargs)


class CaptionSlider(_Playground):
    """Two caption boxes and a slider between them; shows G(z_i, h(beta)) for ``n`` noise
    vectors drawn from the seed, the same z_i at every beta.

    ``caption_a``, ``caption_b`` (Text), ``beta`` (FloatSlider, 0 to 1) and ``seed``
    (IntSlider) are the widgets; :meth:`update` is their handler.
    """

    def __init__(
        self,
        G,
        encoder,
        caption_a: str = "a small red square",
        caption_b: str = "a small blue square",
        beta: float = 0.0,
        seed: int = 0,
        n: int = 8,
        ncols: int = 8,
        scale: int = 3,
        step: float = 0.05,
    ):
        super().__init__(G, encoder, n, ncols, scale)
        w = _widgets()
        wide = w.Layout(width="32em")
        self.caption_a = w.Text(
            value=caption_a, description="from (a)", continuous_update=False, layout=wide
        )
        self.caption_b = w.Text(
            value=caption_b, description="to (b)", continuous_update=False, layout=wide
        )
        self.beta = w.FloatSlider(
            value=beta, min=0.0, max=1.0, step=step, description="beta", layout=wide
        )
        self.seed = w.IntSlider(value=seed, min=0, max=MAX_SEED, description="seed", layout=wide)
        for control in (self.caption_a, self.caption_b, self.beta, self.seed):
            control.observe(self.update, names="value")
        controls = [self.caption_a, self.caption_b, self.beta, self.seed]
        self.widget = w.VBox([*controls, self.image, self.message])
        self.update()

    def update(self, change=None) -> None:
        """The handler: draw G's images at h(beta) for the widgets' current values."""
        self._show(
            lambda: between_images(
                self.G,
                self.encoder,
                self.caption_a.value,
                self.caption_b.value,
                self.beta.value,
                self.seed.value,
                self.n,
            )
        )

    def figure(self, betas=None, **kwargs):
        """The slider's picture at each beta of ``betas`` (default: where it stands now),
        as a matplotlib figure (:func:`slider_figure`); the slider does not move."""
        betas = [self.beta.value] if betas is None else betas
        a, b = self.caption_a.value, self.caption_b.value
        return slider_figure(self.G, self.encoder, a, b, betas, self.seed.value, self.n, **kwargs)


class StyleTransfer(_Playground):
    """Style transfer from a chosen image: shows the style image x and G(S(x), phi(t))
    for each caption t of the caption box (separated by ``;``).

    ``index`` (IntSlider) picks x from ``images`` (a gallery, (N, 3, H, W) uint8 or float
    in [-1, 1], any side); ``upload`` (FileUpload) makes an image of the reader's own the
    style image instead, until the slider moves; ``captions`` (Text). :meth:`update` is
    their handler, and :meth:`use_image` what an upload calls with the file's bytes.
    """

    def __init__(
        self,
        G,
        S,
        encoder,
        images: torch.Tensor,
        captions: str = "a large red square; a small yellow star; a medium blue triangle",
        index: int = 0,
        scale: int = 3,
    ):
        if len(images) == 0:
            raise ValueError("the gallery is empty: pass at least one style image")
        super().__init__(G, encoder, n=0, ncols=0, scale=scale)
        self.S, self.gallery = S, images
        self.style_image = images[index]  # (3, H, W): x, the gallery's or an upload
        self.source = f"gallery image {index}"
        w = _widgets()
        wide = w.Layout(width="32em")
        self.index = w.IntSlider(
            value=index, min=0, max=len(images) - 1, description="style image", layout=wide
        )
        self.upload = w.FileUpload(accept="image/*", multiple=False, description="your image")
        self.captions = w.Text(
            value=captions, description="captions", continuous_update=False, layout=wide
        )
        self.index.observe(self._pick, names="value")
        self.upload.observe(self._uploaded, names="value")
        self.captions.observe(self.update, names="value")
        controls = [self.index, self.upload, self.captions]
        self.widget = w.VBox([*controls, self.image, self.message])
        self.update()

    def _pick(self, change=None) -> None:
        self.style_image = self.gallery[self.index.value]
        self.source = f"gallery image {self.index.value}"
        self.update()

    def _uploaded(self, change=None) -> None:
        # ipywidgets 8: a tuple of {"name", "content" (memoryview), ...}; 7: {name: {...}}
        files = self.upload.value
        files = list(files.values()) if isinstance(files, dict) else list(files)
        if files:
            f = files[-1]
            self.use_image(f["content"], f.get("name") or f.get("metadata", {}).get("name"))

    def use_image(self, data: bytes, name: str | None = None) -> None:
        """Make the image file in ``data`` (its bytes) the style image and redraw; bytes
        that are no image leave the picture as it was and say why."""
        try:
            image = transfer.decode_image(data, name or "the uploaded file")
        except ValueError as e:
            self.message.value = f"<b>{e}</b>"
            return
        self.style_image, self.source = image, name or "your image"
        self.update()

    def update(self, change=None) -> None:
        """The handler: x, then G(S(x), phi(t)) for the widgets' current image and captions."""

        def compute():
            captions = split_captions(self.captions.value)
            self.ncols = 1 + len(captions)
            return transfer_images(self.G, self.S, self.encoder, self.style_image, captions)

        self._show(compute)

    def figure(self, **kwargs):
        """The widget's current picture as a matplotlib figure (:func:`transfer_figure`)."""
        captions = split_captions(self.captions.value)
        kwargs.setdefault("title", None)
        return transfer_figure(
            self.G, self.S, self.encoder, [self.style_image], captions, [self.source], **kwargs
        )
