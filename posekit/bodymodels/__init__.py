"""Parametric body models: SMPL from the user's files and posekit's open model, on one LBS code path.

Layer 3 of the package (with codecs): it uses config, skeletons, geometry, assets, structures and io,
and is used by data, models, metrics and viz. Files are read only when a function is called.

* :mod:`~posekit.bodymodels.base`: :class:`BodyModel` (named parameters, rotations as axis-angle,
  matrices or 6D) and :class:`BodyModelOutput` (``vertices (B, V, 3)``, ``joints (B, J, 3)``,
  ``faces (F, 3)``, ``transforms (B, J, 4, 4)``);
* :mod:`~posekit.bodymodels.lbs`: linear blend skinning with shape and pose blend shapes (as smplx);
* :mod:`~posekit.bodymodels.smpl`: :class:`SMPL`, the model of every file in SMPL's layout;
* :mod:`~posekit.bodymodels.loading`: :func:`load_body_model` (official ``basicModel_*.pkl`` without
  chumpy, smplx ``SMPL_*.pkl`` / ``.npz``, posekit's ``"open"`` model);
* :mod:`~posekit.bodymodels.regressors`: SMPL-24, Human3.6M-17, COCO-17 and LSP-14 joints from meshes,
  with posekit skeleton names;
* :mod:`~posekit.bodymodels.fitting`: :func:`fit_to_keypoints` (SMPLify-style fitting to 2D/3D joints).

Units: metres; camera space is x right, y down, z forward (posekit's convention).
"""

from posekit.bodymodels.base import BodyModel, BodyModelOutput
from posekit.bodymodels.loading import BodyModelData, load_body_model, read_body_model_file, write_body_model_npz
from posekit.bodymodels.smpl import SMPL

__all__ = [
    "SMPL",
    "BodyModel",
    "BodyModelData",
    "BodyModelOutput",
    "load_body_model",
    "read_body_model_file",
    "write_body_model_npz",
]
