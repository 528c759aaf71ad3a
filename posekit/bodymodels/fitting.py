"""Fit body-model parameters to 2D keypoints (with a camera) and/or 3D joints, SMPLify-style.

SMPLify (Bogo et al., "Keep it SMPL", ECCV 2016, Sec. 3.2, Eq. 1-3) minimises a robust reprojection
term plus pose, shape and bend priors; this is that objective on posekit's body models, batched over
``N`` frames (each frame its own parameters, or one shared shape for a sequence), with a temporal
smoothness term for sequences:

* 2D data: ``sum_k score_k * rho(|Pi(K, X_k) - x_k|)`` with the Geman-McClure ``rho(r) = sigma^2 r^2 /
  (sigma^2 + r^2)`` (pixels), joints with score 0 or NaN coordinates ignored;
* 3D data: ``sum_k score_k |X_k - Y_k|^2`` (metres, scaled by ``joints_3d_weight``);
* pose prior: ``|body_pose|^2`` on axis-angles, or the max-mixture Gaussian prior of SMPLify when a
  GMM file (``means (M, 69)``, ``covars (M, 69, 69)``, ``weights (M,)``; SMPLify's ``gmm_08.pkl``) is given;
* shape prior ``|betas|^2``; bend prior ``exp(+-theta)^2`` on the elbow/knee axes that bend the wrong
  way (SMPLify Eq. 3, joints 18, 19, 4, 5);
* smoothness: squared differences of consecutive frames' pose, translation and keypoints.

Optimisation: Adam (or L-BFGS), first translation and global orientation only (``camera_steps``),
then everything. Keypoints of the model are chosen by a :class:`~posekit.bodymodels.regressors.MeshKeypoints`
(default the 24 SMPL joints). Targets are either in that order (positional), or in any posekit skeleton
named by ``skeleton_2d`` / ``skeleton_3d`` (or carried by a ``PoseInstances`` / ``PoseSequence``), and are
then mapped to the model keypoints by joint name with :func:`posekit.skeletons.convert_keypoints_and_scores`:
e.g. COCO-17 from ``posekit predict`` gives the SMPL joints' shoulders, elbows, wrists, hips, knees and
ankles; Human3.6M-17 from ``posekit predict --lift`` also the pelvis and head. Model keypoints the targets
do not name get no weight (``derive_missing=True`` also uses the joints posekit derives, e.g. ``neck`` =
mid-shoulders, which are only approximately the body model's joint). Camera space: x right, y down, z forward.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from posekit.bodymodels.base import BodyModel
from posekit.bodymodels.regressors import MeshKeypoints, smpl_keypoints
from posekit.geometry.camera import Camera
from posekit.io.safe_pickle import load_model_pickle, load_npz_objects
from posekit.skeletons.convert import convert_keypoints_and_scores
from posekit.skeletons.skeleton import Skeleton, get_skeleton

__all__ = ["FitResult", "FittingConfig", "GaussianMixturePrior", "fit_to_keypoints"]

# SMPLify's bend prior: (body_pose index, sign) of the elbow (joints 18, 19: y axis) and knee (4, 5: x axis)
# angles; exp(sign * angle) grows when the joint bends the unnatural way.
_BEND_AXES = ((17 * 3 + 1, 1.0), (18 * 3 + 1, -1.0), (3 * 3 + 0, -1.0), (4 * 3 + 0, -1.0))


@dataclass
class FittingConfig:
    """Weights and optimiser settings of :func:`fit_to_keypoints` (losses in pixel^2 units).

    Attributes:
        steps: optimisation steps in total.
        camera_steps: first steps that move only ``transl`` and ``global_orient``.
        optimizer: ``"adam"`` or ``"lbfgs"``.
        learning_rate: Adam step size (radians / metres per step, roughly); L-BFGS uses 1.0.
        sigma: Geman-McClure scale in pixels (SMPLify: 100).
        pose_prior_weight, shape_prior_weight, bend_weight: prior weights.
        joints_3d_weight: weight of the 3D term (1e4: 1 cm^2 error costs as much as 1 px^2).
        smoothness_weight: temporal term weight (0 = frames independent).
        shared_betas: one shape for all frames (a sequence of one person).
        min_depth: translations are kept in front of the camera (z >= min_depth metres).
    """

    steps: int = 300
    camera_steps: int = 60
    optimizer: Literal["adam", "lbfgs"] = "adam"
    learning_rate: float = 0.03
    sigma: float = 100.0
    pose_prior_weight: float = 1.0
    shape_prior_weight: float = 1.0
    bend_weight: float = 10.0
    joints_3d_weight: float = 1e4
    smoothness_weight: float = 0.0
    shared_betas: bool = False
    min_depth: float = 0.1


@dataclass
class FitResult:
    """Fitted parameters and the errors they reach (``N`` frames, ``K`` keypoints).

    Attributes:
        global_orient: ``(N, 3)``; body_pose: ``(N, (J-1)*3)`` axis-angle; betas: ``(N, S)``; transl: ``(N, 3)``.
        keypoints_3d: ``(N, K, 3)`` the fitted model's keypoints, camera space, metres.
        reprojection_error: ``(N,)`` mean pixel distance over the visible 2D keypoints (NaN without 2D).
        joints_3d_error: ``(N,)`` mean distance to the 3D targets, metres (NaN without 3D).
        initial_reprojection_error: ``(N,)`` the same at the start.
        loss_history: total loss per step.
    """

    global_orient: Tensor
    body_pose: Tensor
    betas: Tensor
    transl: Tensor
    keypoints_3d: Tensor
    reprojection_error: Tensor
    joints_3d_error: Tensor
    initial_reprojection_error: Tensor
    loss_history: list[float] = field(default_factory=list)


class GaussianMixturePrior:
    """SMPLify's max-mixture Gaussian pose prior: ``min_m 0.5 (x - mu_m)^T S_m^-1 (x - mu_m) - log c_m``.

    ``c_m = w_m / sqrt(det(S_m))`` (the constant of each component), evaluated on ``body_pose (B, 69)``.
    """

    def __init__(self, means: np.ndarray, covariances: np.ndarray, weights: np.ndarray) -> None:
        means, covariances, weights = np.asarray(means), np.asarray(covariances), np.asarray(weights)
        if means.ndim != 2 or covariances.shape != (*means.shape, means.shape[1]) or weights.shape != means.shape[:1]:
            raise ValueError(
                f"GMM prior arrays have shapes means {means.shape}, covars {covariances.shape}, "
                f"weights {weights.shape}; expected (M, D), (M, D, D), (M,)"
            )
        self.means = torch.as_tensor(means, dtype=torch.float64)
        self.precisions = torch.linalg.inv(torch.as_tensor(covariances, dtype=torch.float64))
        _, log_det = np.linalg.slogdet(covariances)
        self.log_constants = torch.as_tensor(np.log(weights) - 0.5 * log_det, dtype=torch.float64)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> GaussianMixturePrior:
        """Read ``means``, ``covars``, ``weights`` from a ``.pkl`` (restricted unpickler) or ``.npz``."""
        raw = load_npz_objects(path) if str(path).endswith(".npz") else load_model_pickle(path)
        missing = [key for key in ("means", "covars", "weights") if key not in raw]
        if missing:
            raise ValueError(f"{path}: missing {', '.join(missing)}; a GMM pose prior needs means, covars, weights")
        return cls(raw["means"], raw["covars"], raw["weights"])

    def __call__(self, body_pose: Tensor) -> Tensor:
        """``(B,)`` negative log-likelihood of the best component."""
        means = self.means.to(body_pose)
        difference = body_pose[:, None, :] - means[None]  # (B, M, D)
        mahalanobis = torch.einsum("bmi,mij,bmj->bm", difference, self.precisions.to(body_pose), difference)
        return (0.5 * mahalanobis - self.log_constants.to(body_pose)[None]).min(dim=1).values


def _camera_arrays(camera: Camera | np.ndarray | Tensor, count: int, like: Tensor) -> tuple[Tensor, Tensor]:
    """``(focal (N, 2), center (N, 2))`` from a posekit Camera or a ``(3, 3)`` / ``(N, 3, 3)`` intrinsic matrix."""
    if isinstance(camera, Camera):
        focal = torch.as_tensor(camera.focal, dtype=like.dtype).expand(count, 2)
        center = torch.as_tensor(camera.center, dtype=like.dtype).expand(count, 2)
        return focal.to(like.device), center.to(like.device)
    matrix = torch.as_tensor(np.asarray(camera) if not isinstance(camera, Tensor) else camera, dtype=like.dtype)
    if matrix.shape == (3, 3):
        matrix = matrix.expand(count, 3, 3)
    if matrix.shape != (count, 3, 3):
        raise ValueError(
            f"camera has shape {tuple(matrix.shape)}; expected a posekit Camera, (3, 3) or ({count}, 3, 3)"
        )
    matrix = matrix.to(like.device)
    focal = torch.stack([matrix[:, 0, 0], matrix[:, 1, 1]], dim=-1)
    center = torch.stack([matrix[:, 0, 2], matrix[:, 1, 2]], dim=-1)
    return focal, center


def _targets(
    values: np.ndarray | Tensor, name: str, dims: int, count_keypoints: int, like: Tensor
) -> tuple[Tensor, Tensor]:
    """``(points (N, K, dims) with NaN -> 0, weights (N, K))``; a trailing score channel is optional."""
    tensor = torch.as_tensor(np.asarray(values) if not isinstance(values, Tensor) else values, dtype=like.dtype)
    tensor = tensor.to(like.device)
    if tensor.dim() != 3 or tensor.shape[1] != count_keypoints or tensor.shape[2] not in (dims, dims + 1):
        raise ValueError(
            f"{name} has shape {tuple(tensor.shape)}; expected (N, {count_keypoints}, {dims}) or "
            f"(N, {count_keypoints}, {dims + 1}) with scores, in the keypoint set's order"
        )
    points = tensor[..., :dims]
    scores = tensor[..., dims] if tensor.shape[2] == dims + 1 else torch.ones_like(points[..., 0])
    valid = torch.isfinite(points).all(dim=-1) & torch.isfinite(scores) & (scores > 0)
    weights = torch.where(valid, scores, torch.zeros_like(scores))
    return torch.where(valid[..., None], points, torch.zeros_like(points)), weights


def _pose_object_targets(values: Any, name: str, dims: int, skeleton: str | Skeleton | None) -> tuple[Any, Any]:
    """``(array (N, K, dims + 1) with scores, skeleton)`` from a PoseInstances / PoseSequence-like object.

    Anything without ``keypoints`` and ``skeleton`` attributes (an array or tensor) is returned unchanged.
    For 3D targets a ``PoseSequence`` gives its ``keypoints_3d`` / ``skeleton_3d`` (the ``--lift`` output).
    """
    if not (hasattr(values, "keypoints") and hasattr(values, "skeleton")):
        return values, skeleton
    kind = type(values).__name__
    if dims == 3 and hasattr(values, "keypoints_3d"):
        points = values.keypoints_3d
        if points is None:
            raise ValueError(f"{name} is a {kind} without keypoints_3d; expected 3D joints (posekit predict --lift)")
        points = np.asarray(points, dtype=np.float64)
        scores = np.ones(points.shape[:-1])
        return np.concatenate([points, scores[..., None]], axis=-1), skeleton or values.skeleton_3d
    points = np.asarray(values.keypoints, dtype=np.float64)
    if points.ndim != 3 or points.shape[-1] < dims:
        raise ValueError(f"{name} is a {kind} with keypoints of shape {points.shape}; expected (N, K, {dims})")
    scores = np.asarray(getattr(values, "scores", np.ones(points.shape[:-1])), dtype=np.float64)
    return np.concatenate([points[..., :dims], scores[..., None]], axis=-1), skeleton or values.skeleton


def _keypoint_skeleton(keypoints: MeshKeypoints) -> Skeleton:
    """The posekit skeleton whose names are the model keypoints' (registered, or an ad hoc one)."""
    try:
        registered = get_skeleton(keypoints.skeleton)
    except (KeyError, ValueError):
        registered = None
    if registered is not None and registered.keypoint_names == keypoints.keypoint_names:
        return registered
    name = re.sub(r"[^a-z0-9_]+", "_", keypoints.skeleton.lower()) or "mesh_keypoints"
    return Skeleton(name=name, keypoint_names=keypoints.keypoint_names, links=(), flip_pairs=())


def _targets_by_name(
    values: np.ndarray | Tensor,
    name: str,
    dims: int,
    source: str | Skeleton,
    keypoints: MeshKeypoints,
    derive_missing: bool,
    like: Tensor,
) -> Tensor:
    """``(N, K_model, dims + 1)`` targets with scores: ``values`` in skeleton ``source`` mapped by joint name."""
    skeleton = get_skeleton(source)
    tensor = torch.as_tensor(np.asarray(values) if not isinstance(values, Tensor) else values, dtype=like.dtype)
    tensor = tensor.to(like.device)
    count = skeleton.num_keypoints
    if tensor.dim() != 3 or tensor.shape[1] != count or tensor.shape[2] not in (dims, dims + 1):
        raise ValueError(
            f"{name} has shape {tuple(tensor.shape)}; expected (N, {count}, {dims}) or (N, {count}, {dims + 1}) "
            f"with scores, in the order of the {skeleton.name!r} skeleton"
        )
    points = tensor[..., :dims]
    scores = tensor[..., dims] if tensor.shape[2] == dims + 1 else torch.ones_like(points[..., 0])
    finite = torch.isfinite(points).all(dim=-1) & torch.isfinite(scores)
    points = torch.where(finite[..., None], points, torch.zeros_like(points))
    scores = torch.where(finite, scores, torch.zeros_like(scores))
    target_skeleton = _keypoint_skeleton(keypoints)
    converted, converted_scores, valid = convert_keypoints_and_scores(points, scores, skeleton, target_skeleton)
    weights = torch.where(valid, converted_scores, torch.zeros_like(converted_scores))
    if not derive_missing:
        copied = torch.tensor([joint in skeleton.keypoint_names for joint in keypoints.keypoint_names])
        weights = torch.where(copied.to(weights.device), weights, torch.zeros_like(weights))
    if not bool((weights > 0).any()):
        raise ValueError(
            f"{name}: no joint of the {skeleton.name!r} skeleton matches the model keypoints "
            f"({keypoints.skeleton!r}: {', '.join(keypoints.keypoint_names[:6])}, ...) by name"
        )
    return torch.cat([converted, weights[..., None]], dim=-1)


def _mean_error(distance: Tensor, weights: Tensor) -> Tensor:
    visible = (weights > 0).to(distance.dtype)
    return (distance * visible).sum(dim=1) / visible.sum(dim=1).clamp(min=1.0)


def fit_to_keypoints(
    model: BodyModel,
    keypoints_2d: np.ndarray | Tensor | None = None,
    camera: Camera | np.ndarray | Tensor | None = None,
    joints_3d: np.ndarray | Tensor | None = None,
    *,
    keypoints: MeshKeypoints | None = None,
    skeleton_2d: str | Skeleton | None = None,
    skeleton_3d: str | Skeleton | None = None,
    derive_missing: bool = False,
    config: FittingConfig | None = None,
    gmm_prior: str | os.PathLike[str] | GaussianMixturePrior | None = None,
    init_transl: np.ndarray | Tensor | None = None,
) -> FitResult:
    """Optimise ``global_orient``, ``body_pose``, ``betas``, ``transl`` so the model's keypoints match targets.

    Args:
        model: a body model (e.g. from :func:`~posekit.bodymodels.load_body_model`).
        keypoints_2d: ``(N, K, 2)`` pixels, or ``(N, K, 3)`` with a score channel; score 0 or NaN = missing.
            Or a ``PoseInstances`` / ``PoseSequence`` (its ``keypoints``, ``scores`` and ``skeleton``; the
            ``N`` instances or ``T`` frames are the fitted frames).
        camera: a posekit :class:`~posekit.geometry.camera.Camera` (focal and centre; the body is fitted in
            its camera space) or a ``(3, 3)`` / ``(N, 3, 3)`` intrinsic matrix; required with ``keypoints_2d``.
        joints_3d: ``(N, K, 3)`` metres in camera space, or ``(N, K, 4)`` with scores; or a ``PoseSequence``
            with ``keypoints_3d`` / ``skeleton_3d`` (``posekit predict --lift``; root-relative joints are
            fine, the translation absorbs the offset).
        keypoints: which model keypoints are fitted (default the 24 SMPL joints).
        skeleton_2d, skeleton_3d: the posekit skeleton (name or :class:`~posekit.skeletons.Skeleton`) the
            targets are in; they are then mapped to ``keypoints`` by joint name. None (and a plain array):
            the targets are already in the order of ``keypoints``. A pose object sets it by itself.
        derive_missing: with a skeleton, also fit model keypoints that the conversion derives rather
            than copies by name (e.g. SMPL ``neck`` from the shoulders).
        config: weights and optimiser settings.
        gmm_prior: SMPLify GMM pose-prior file (or a loaded prior); default the L2 prior.
        init_transl: ``(N, 3)`` starting translation; default estimated from the 2D spread (or the 3D mean).

    Returns:
        :class:`FitResult`.

    Raises:
        ValueError: no targets, a 2D target without camera, a target of the wrong shape, or targets in a
            skeleton none of whose joints the model keypoints name.
    """
    config = config or FittingConfig()
    keypoints = keypoints or smpl_keypoints()
    keypoints_2d, skeleton_2d = _pose_object_targets(keypoints_2d, "keypoints_2d", 2, skeleton_2d)
    joints_3d, skeleton_3d = _pose_object_targets(joints_3d, "joints_3d", 3, skeleton_3d)
    if keypoints_2d is None and joints_3d is None:
        raise ValueError("fit_to_keypoints needs keypoints_2d (with camera) or joints_3d; got neither")
    if keypoints_2d is not None and camera is None:
        raise ValueError("keypoints_2d needs a camera (a posekit Camera or a (3, 3) intrinsic matrix); got None")
    if config.optimizer not in ("adam", "lbfgs"):
        raise ValueError(f"config.optimizer={config.optimizer!r}; expected 'adam' or 'lbfgs'")
    reference = torch.zeros(0, dtype=getattr(model, "dtype", torch.float32), device=model.faces.device)
    count_keypoints = len(keypoints.keypoint_names)
    target_2d = weights_2d = target_3d = weights_3d = None
    focal = center = None
    if keypoints_2d is not None and skeleton_2d is not None:
        keypoints_2d = _targets_by_name(
            keypoints_2d, "keypoints_2d", 2, skeleton_2d, keypoints, derive_missing, reference
        )
    if joints_3d is not None and skeleton_3d is not None:
        joints_3d = _targets_by_name(joints_3d, "joints_3d", 3, skeleton_3d, keypoints, derive_missing, reference)
    if keypoints_2d is not None:
        target_2d, weights_2d = _targets(keypoints_2d, "keypoints_2d", 2, count_keypoints, reference)
    if joints_3d is not None:
        target_3d, weights_3d = _targets(joints_3d, "joints_3d", 3, count_keypoints, reference)
    frames = (target_2d if target_2d is not None else target_3d).shape[0]  # type: ignore[union-attr]
    if target_2d is not None and target_3d is not None and target_3d.shape[0] != frames:
        raise ValueError(f"joints_3d has {target_3d.shape[0]} frames and keypoints_2d {frames}; expected the same N")
    if target_2d is not None:
        assert camera is not None
        focal, center = _camera_arrays(camera, frames, reference)
    prior = GaussianMixturePrior.from_file(gmm_prior) if isinstance(gmm_prior, (str, os.PathLike)) else gmm_prior

    dtype, device = reference.dtype, reference.device
    num_pose = (model.num_joints - 1) * 3
    global_orient = torch.zeros(frames, 3, dtype=dtype, device=device)
    global_orient[:, 0] = torch.pi  # SMPL stands upright along +y; camera y points down: face the camera upright
    body_pose = torch.zeros(frames, num_pose, dtype=dtype, device=device)
    betas = torch.zeros(1 if config.shared_betas else frames, model.num_betas, dtype=dtype, device=device)
    with torch.no_grad():
        rest = keypoints(model(global_orient=global_orient))  # (N, K, 3) at the origin
    transl = _initial_translation(rest, target_2d, weights_2d, target_3d, weights_3d, focal, center, init_transl)
    initial = {"global_orient": global_orient, "body_pose": body_pose, "betas": betas, "transl": transl}
    parameters = {name: value.clone().requires_grad_(True) for name, value in initial.items()}

    def objective(full: bool) -> tuple[Tensor, Tensor]:
        output = model(
            global_orient=parameters["global_orient"],
            body_pose=parameters["body_pose"],
            betas=parameters["betas"],
            transl=parameters["transl"],
        )
        points = keypoints(output)  # (N, K, 3)
        loss = points.new_zeros(())
        if target_2d is not None:
            assert weights_2d is not None and focal is not None and center is not None
            depth = points[..., 2:].clamp(min=1e-3)
            projected = focal[:, None] * points[..., :2] / depth + center[:, None]  # (N, K, 2)
            squared = (projected - target_2d).square().sum(dim=-1)  # (N, K)
            sigma2 = config.sigma**2
            loss = loss + (weights_2d * sigma2 * squared / (sigma2 + squared)).sum()
        if target_3d is not None:
            assert weights_3d is not None
            loss = loss + config.joints_3d_weight * (weights_3d * (points - target_3d).square().sum(dim=-1)).sum()
        if full:
            pose = parameters["body_pose"]
            if prior is not None:
                loss = loss + config.pose_prior_weight * prior(pose).sum()
            else:
                loss = loss + config.pose_prior_weight * pose.square().sum()
            loss = loss + config.shape_prior_weight * parameters["betas"].square().sum()
            bend = torch.stack([torch.exp(sign * pose[:, index]) for index, sign in _BEND_AXES], dim=-1)
            loss = loss + config.bend_weight * bend.square().sum()
        if config.smoothness_weight > 0 and frames > 1:
            smooth = (points[1:] - points[:-1]).square().sum() * config.joints_3d_weight
            smooth = smooth + (parameters["body_pose"][1:] - parameters["body_pose"][:-1]).square().sum()
            loss = loss + config.smoothness_weight * smooth
        return loss, points

    history: list[float] = []
    with torch.no_grad():
        initial_points = objective(False)[1]
    for stage, steps in (
        ("camera", min(config.camera_steps, config.steps)),
        ("full", config.steps - config.camera_steps),
    ):
        if steps <= 0:
            continue
        names = ("transl", "global_orient") if stage == "camera" else tuple(parameters)
        variables = [parameters[name] for name in names]
        full = stage == "full"
        if config.optimizer == "adam":
            optimizer: torch.optim.Optimizer = torch.optim.Adam(variables, lr=config.learning_rate)
            for _ in range(steps):
                optimizer.zero_grad()
                loss, _ = objective(full)
                loss.backward()
                optimizer.step()
                _keep_in_front(parameters["transl"], config.min_depth)
                history.append(float(loss.detach()))
        else:
            lbfgs = torch.optim.LBFGS(variables, lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")
            lbfgs.step(_closure(lbfgs, objective, full, history))
            _keep_in_front(parameters["transl"], config.min_depth)

    with torch.no_grad():
        final_points = objective(True)[1]
    nan = torch.full((frames,), float("nan"), dtype=dtype, device=device)
    reprojection = initial_reprojection = nan
    if target_2d is not None:
        assert weights_2d is not None and focal is not None and center is not None

        def pixel_error(points: Tensor) -> Tensor:
            projected = focal[:, None] * points[..., :2] / points[..., 2:].clamp(min=1e-3) + center[:, None]
            return _mean_error((projected - target_2d).norm(dim=-1), weights_2d)

        reprojection, initial_reprojection = pixel_error(final_points), pixel_error(initial_points)
    joints_error = nan
    if target_3d is not None:
        assert weights_3d is not None
        joints_error = _mean_error((final_points - target_3d).norm(dim=-1), weights_3d)
    fitted = {name: value.detach() for name, value in parameters.items()}
    return FitResult(
        global_orient=fitted["global_orient"],
        body_pose=fitted["body_pose"],
        betas=fitted["betas"].expand(frames, -1),
        transl=fitted["transl"],
        keypoints_3d=final_points,
        reprojection_error=reprojection,
        joints_3d_error=joints_error,
        initial_reprojection_error=initial_reprojection,
        loss_history=history,
    )


def _closure(
    optimizer: torch.optim.Optimizer,
    objective: Callable[[bool], tuple[Tensor, Tensor]],
    full: bool,
    history: list[float],
) -> Callable[[], Tensor]:
    """The L-BFGS closure: one evaluation of the objective with gradients."""

    def closure() -> Tensor:
        optimizer.zero_grad()
        loss, _ = objective(full)
        loss.backward()
        history.append(float(loss.detach()))
        return loss

    return closure


def _keep_in_front(transl: Tensor, min_depth: float) -> None:
    with torch.no_grad():
        transl[:, 2].clamp_(min=min_depth)


def _initial_translation(
    rest: Tensor,
    target_2d: Tensor | None,
    weights_2d: Tensor | None,
    target_3d: Tensor | None,
    weights_3d: Tensor | None,
    focal: Tensor | None,
    center: Tensor | None,
    init_transl: np.ndarray | Tensor | None,
) -> Tensor:
    """``(N, 3)``: given, from the 3D targets' weighted mean, or by similar triangles on the 2D spread."""
    frames = rest.shape[0]
    if init_transl is not None:
        transl = torch.as_tensor(np.asarray(init_transl) if not isinstance(init_transl, Tensor) else init_transl)
        transl = transl.to(rest)
        if transl.shape != (frames, 3):
            raise ValueError(f"init_transl has shape {tuple(transl.shape)}; expected ({frames}, 3)")
        return transl.clone()
    if target_3d is not None:
        assert weights_3d is not None
        visible = (weights_3d > 0).to(rest.dtype)[..., None]
        count = visible.sum(dim=1).clamp(min=1.0)
        return ((target_3d - rest) * visible).sum(dim=1) / count
    assert target_2d is not None and weights_2d is not None and focal is not None and center is not None
    visible = (weights_2d > 0).to(rest.dtype)[..., None]  # (N, K, 1)
    count = visible.sum(dim=1).clamp(min=1.0)  # (N, 1)
    mean_2d = (target_2d * visible).sum(dim=1) / count  # (N, 2)
    mean_3d = (rest * visible).sum(dim=1) / count  # (N, 3)
    spread_2d = (((target_2d - mean_2d[:, None]) * visible).square().sum(dim=(1, 2)) / count[:, 0]).sqrt()
    spread_3d = (((rest[..., :2] - mean_3d[:, None, :2]) * visible).square().sum(dim=(1, 2)) / count[:, 0]).sqrt()
    depth = focal.mean(dim=-1) * spread_3d / spread_2d.clamp(min=1e-6)  # (N,)
    depth = torch.where(torch.isfinite(depth) & (depth > 0), depth, torch.full_like(depth, 3.0))
    xy = (mean_2d - center) * depth[:, None] / focal - mean_3d[:, :2]
    return torch.cat([xy, (depth - mean_3d[:, 2])[:, None]], dim=-1)
