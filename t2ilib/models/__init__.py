"""The networks: one module per network of the paper (``dcgan``: G and D)."""
