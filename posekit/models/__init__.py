"""Models: backbones, 2D single-person heads, 3D lifters, mesh regressors, and the model registry."""

from posekit.models.registry import get_model, list_models, register_model

__all__ = ["get_model", "list_models", "register_model"]
