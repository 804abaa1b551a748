"""t2ilib: Reed et al. (ICML 2016), Generative Adversarial Text to Image Synthesis, in PyTorch."""

__version__ = "0.1.0"


def __getattr__(name: str):
    # Lazy exports, so that `import t2ilib` stays instant: t2ilib.load_text_encoder(path)
    # returns a TextEncoder whose .embed(list_of_str) gives (N, 1024) (chapter 2).
    if name in ("load_text_encoder", "TextEncoder", "embed_captions", "embed_captions_cached"):
        from . import text_encoder

        return getattr(text_encoder, name)
    raise AttributeError(f"module 't2ilib' has no attribute {name!r}")
