"""2D single-person models: regression, heatmap and hybrid families.

:mod:`~posekit.models.pose2d.base` is the contract every model follows, :mod:`~posekit.models.pose2d.heads`
the shared heatmap-head pieces, :mod:`~posekit.models.pose2d.loading` building a registered model
with its weights and decoding metadata; one file per family holds the architecture.
"""
