"""Model families, one file per paper, registered by name (registry.py); the contract they share is base.py."""

from licodec.models import cheng2020, fu2022_asymmetric, fu2022_octave, fu2023_gllmm  # noqa: E402, F401  (registers them)
from licodec.models.prepared import weights_fingerprint
from licodec.models.registry import create_model, default_config, list_models

__all__ = ["create_model", "default_config", "list_models", "weights_fingerprint"]
