"""Context models and their decode schedules: which latent positions are coded together, and what they see."""

from licodec.context.model import CheckerboardContext, ContextModel, SerialContext

__all__ = ["CheckerboardContext", "ContextModel", "SerialContext"]
