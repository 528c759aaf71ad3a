"""Pure batched geometry: boxes, affine crops (incl. UDP), cameras with distortion, rotations, Procrustes.

Conventions shared by every function here:

* Pixel-centre convention: 2D points are in image pixels with the CENTRE of the top-left pixel
  at ``(0, 0)`` (x right, y down); pixel ``(i, j)`` covers ``[i - 0.5, i + 0.5] x [j - 0.5, j + 0.5]``.
  cv2.warpAffine uses the same convention.
* Sizes are ``(w, h)``; boxes are ``xyxy`` in pixels unless named otherwise; crop scales are in
  pixels (HRNet's 200-pixel units convert with :func:`scale_to_pixels`).
* 3D points are in metres, in camera space ``X_cam = R @ X_world + t`` unless stated otherwise.
* Rotation matrices act on column vectors; quaternions are ``(w, x, y, z)``.
* Every function broadcasts over leading dimensions ``...``; numpy in gives numpy out, and the
  functions whose docstrings say "numpy or torch" also take torch tensors (same kind out,
  differentiable). Bad shapes raise ``ValueError`` naming what was received and expected.

Modules: :mod:`~posekit.geometry.boxes`, :mod:`~posekit.geometry.affine`,
:mod:`~posekit.geometry.camera`, :mod:`~posekit.geometry.rotations`,
:mod:`~posekit.geometry.procrustes`.
"""

from __future__ import annotations

from posekit.geometry.affine import (
    affine_transform_points,
    get_udp_warp_matrix,
    get_warp_matrix,
    invert_affine,
    keypoints_crop_to_image,
    keypoints_image_to_crop,
    warp_image,
)
from posekit.geometry.boxes import (
    PIXEL_STD,
    box_area,
    box_cs_to_xyxy,
    box_from_keypoints,
    box_intersection_over_smaller,
    box_iou,
    box_xywh_to_xyxy,
    box_xyxy_to_cs,
    box_xyxy_to_xywh,
    check_image_size,
    clip_boxes,
    fix_aspect_ratio,
    pixels_to_scale,
    scale_to_pixels,
)
from posekit.geometry.camera import (
    Camera,
    image_coordinates,
    normalize_screen_coordinates,
    project_pinhole,
    project_to_2d,
    project_to_2d_linear,
)
from posekit.geometry.procrustes import procrustes_align, procrustes_params
from posekit.geometry.rotations import (
    axis_angle_to_matrix,
    axis_angle_to_quaternion,
    euler_to_matrix,
    matrix_to_axis_angle,
    matrix_to_euler,
    matrix_to_quaternion,
    matrix_to_rotation_6d,
    quaternion_inverse,
    quaternion_multiply,
    quaternion_rotate,
    quaternion_to_axis_angle,
    quaternion_to_matrix,
    rotation_6d_to_matrix,
)

__all__ = [
    "PIXEL_STD",
    "Camera",
    "affine_transform_points",
    "axis_angle_to_matrix",
    "axis_angle_to_quaternion",
    "box_area",
    "box_cs_to_xyxy",
    "box_from_keypoints",
    "box_intersection_over_smaller",
    "box_iou",
    "box_xywh_to_xyxy",
    "box_xyxy_to_cs",
    "box_xyxy_to_xywh",
    "check_image_size",
    "clip_boxes",
    "euler_to_matrix",
    "fix_aspect_ratio",
    "get_udp_warp_matrix",
    "get_warp_matrix",
    "image_coordinates",
    "invert_affine",
    "keypoints_crop_to_image",
    "keypoints_image_to_crop",
    "matrix_to_axis_angle",
    "matrix_to_euler",
    "matrix_to_quaternion",
    "matrix_to_rotation_6d",
    "normalize_screen_coordinates",
    "pixels_to_scale",
    "procrustes_align",
    "procrustes_params",
    "project_pinhole",
    "project_to_2d",
    "project_to_2d_linear",
    "quaternion_inverse",
    "quaternion_multiply",
    "quaternion_rotate",
    "quaternion_to_axis_angle",
    "quaternion_to_matrix",
    "rotation_6d_to_matrix",
    "scale_to_pixels",
    "warp_image",
]
