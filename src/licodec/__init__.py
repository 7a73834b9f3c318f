"""licodec: learned image compression with discretized mixture likelihoods and real entropy coding."""

__version__ = "0.1.0"
