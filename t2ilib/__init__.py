"""t2ilib: Reed et al. (ICML 2016), Generative Adversarial Text to Image Synthesis, in PyTorch."""

__version__ = "0.1.0"
