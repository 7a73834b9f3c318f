"""Model architectures, registered by name."""

from licodec.models.registry import create_model, default_config, list_models, weights_fingerprint

__all__ = ["create_model", "default_config", "list_models", "weights_fingerprint"]
