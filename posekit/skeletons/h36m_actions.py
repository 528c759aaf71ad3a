"""The 15 Human3.6M actions, in the order of the per-action tables of the literature.

Why here, beside the skeleton definitions: like the joint names of :data:`posekit.skeletons.H36M`,
the action list is a fact of how the dataset is labelled, not of reading its files or of scoring
predictions. Two sibling packages need it, :mod:`posekit.data.h36m` (the actions in the prepared
files) and :mod:`posekit.metrics.mpjpe` (the per-action error table), and siblings must not import
each other, so the list lives in the lowest layer both can import.

The names are the canonical ones of VideoPose3D's prepared files (``"Photo"`` for TakingPhoto,
``"WalkDog"`` for WalkingDog); the files hold two variants of each (``"Walking"``, ``"Walking 1"``),
which :func:`posekit.metrics.normalize_action_name` merges.
"""

from __future__ import annotations

__all__ = ["H36M_ACTIONS"]

H36M_ACTIONS: tuple[str, ...] = (
    "Directions",
    "Discussion",
    "Eating",
    "Greeting",
    "Phoning",
    "Photo",
    "Posing",
    "Purchases",
    "Sitting",
    "SittingDown",
    "Smoking",
    "Waiting",
    "WalkDog",
    "Walking",
    "WalkTogether",
)
