"""Training: the config of a run (config.py), its loop (loop.py), data, checkpoints, data-parallel processes and
initialisation from another run. Nothing here is imported by the codec."""
