"""Measuring codecs: licodec models on real files (evaluate), the classical baselines, RD results and their
metrics, BD-rates, and the figures (RD plots, crop comparisons, latent maps)."""
