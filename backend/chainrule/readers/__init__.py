"""The readers: the language, and the numpy, micrograd and PyTorch importers."""
