"""Any trained 2D single-person model behind the person detector: the top-down adapter.

:class:`ModelPoseEstimator` implements :class:`~posekit.inference.topdown.PersonPoseEstimator` (and the
box-propagating :class:`~posekit.inference.topdown.TrackingPoseEstimator`) for every
:class:`~posekit.models.pose2d.base.Pose2DModel`:

1. each detection becomes a person box (a box-only detection keeps its box; a BlazePose detection,
   whose ``boxes`` are face boxes, gets the square around its body alignment circle), then a crop
   centre and size with the model's aspect ratio and a padding of 1.25 (HRNet / MMPose
   ``bbox_xyxy2cs``);
2. the crop is cut with the affine warp (HRNet's, or UDP's for UDP codecs), normalised with the
   ImageNet statistics and run through the model in batches of ``batch_size`` crops;
3. the output is decoded in crop pixels: heatmaps with the codec (argmax + quarter offset, DARK,
   UDP), coordinates as ``(x / w, y / h) * (w, h)``, hybrids from their coordinates with the
   integral codec's window mass as the score;
4. with ``flip_test`` the mirrored crop is predicted too and mapped back (heatmaps: mirrored,
   left/right channels swapped with the skeleton's ``flip_indices`` and, for the MSRA convention,
   shifted one pixel right as HRNet's ``TEST.SHIFT_HEATMAP``; coordinates: ``x -> (w - 1) - x``
   and the pairs swapped), and the two predictions are averaged;
5. keypoints go back to image pixels with the inverse crop matrix
   (:func:`~posekit.geometry.keypoints_crop_to_image`), and each person is rescored as HRNet does:
   ``box score x mean of the keypoint scores above 0.2``.

:func:`build_model_estimator` builds one from a registered model name and a weights file
(:func:`~posekit.models.pose2d.loading.load_pose2d_model`), reading the skeleton and codec from a
posekit checkpoint's saved config when it has one.

Legend: ``N`` people, ``K`` keypoints, crop/input size ``(w, h)``, heatmap size ``(W, H)``.
Keypoints are in image pixels with the top-left pixel centre at ``(0, 0)``; images are
``(H, W, 3)`` uint8 RGB; boxes ``xyxy``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch

from posekit.codecs import (
    Codec,
    IntegralRegression,
    MSRAHeatmap,
    RegressionLabel,
    UDPHeatmap,
    flip_coordinates,
    flip_heatmaps,
)
from posekit.data.transforms import normalize_image
from posekit.geometry import (
    box_from_keypoints,
    box_xyxy_to_cs,
    get_udp_warp_matrix,
    get_warp_matrix,
    keypoints_crop_to_image,
    warp_image,
)
from posekit.inference.blazepose.landmarks import ROI_SCALE, detections_to_rois
from posekit.inference.detections import PersonDetections
from posekit.inference.image import to_rgb_uint8
from posekit.models.pose2d.base import Pose2DModel
from posekit.models.pose2d.loading import build_model_codec, load_pose2d_model
from posekit.skeletons import Skeleton, get_skeleton
from posekit.structures import PoseInstances

__all__ = [
    "BOX_PADDING",
    "KEYPOINT_SCORE_THRESHOLD",
    "ModelPoseEstimator",
    "build_model_estimator",
    "detection_person_boxes",
    "rescore_instances",
]

# Crop size as a multiple of the person box (HRNet / MMPose ``padding=1.25``).
BOX_PADDING = 1.25
# HRNet's ``in_vis_thre``: keypoints scoring above it count in the rescoring of a person.
KEYPOINT_SCORE_THRESHOLD = 0.2


# ---------------------------------------------------------------------------------------------
# pure helpers
# ---------------------------------------------------------------------------------------------


def detection_person_boxes(detections: PersonDetections, aspect_ratio: float | None = None) -> np.ndarray:
    """Person boxes ``(N, 4)`` xyxy for detections, in their order.

    A detection with finite alignment points (the BlazePose detector, whose ``boxes`` are face
    boxes) gets an upright box centred on its body circle (MediaPipe's body ROI: centre at the
    mid-hip point, side ``2 |hip - top| x 1.25``, without the 1.25 margin, which the crop padding
    adds back): as tall as the circle's diameter ``d`` and ``d x aspect_ratio`` wide, or the square
    of side ``d`` when ``aspect_ratio`` is ``None``. The ROI's rotation is not used: crops are
    upright. A detection with NaN points (a box file, another detector) keeps its box.

    Args:
        detections: ``N`` detections.
        aspect_ratio: ``w / h`` of the boxes made from alignment points (the model's input ratio).
    """
    count = len(detections)
    boxes = np.asarray(detections.boxes, dtype=np.float64).reshape(count, 4)
    if count == 0:
        return boxes
    points = np.asarray(detections.keypoints, dtype=np.float32)
    has_points = np.asarray(np.isfinite(points[:, :2]).all(axis=(1, 2)), dtype=bool)  # (N,): hip centre, size point
    if not has_points.any():
        return boxes
    rois = detections_to_rois(
        PersonDetections(
            boxes=detections.boxes,
            scores=detections.scores,
            keypoints=np.where(np.isfinite(points), points, 0.0).astype(np.float32),
            image_size=detections.image_size,
        )
    )
    half = rois.size.astype(np.float64) / (2.0 * ROI_SCALE)  # (N, 2)
    if aspect_ratio is not None:
        if not aspect_ratio > 0:
            raise ValueError(f"aspect_ratio must be positive, got {aspect_ratio}")
        half = half * np.array([aspect_ratio, 1.0])
    centre = rois.center.astype(np.float64)
    from_points = np.concatenate([centre - half, centre + half], axis=1)  # (N, 4)
    return np.where(has_points[:, None], from_points, boxes)


def rescore_instances(
    keypoint_scores: np.ndarray, box_scores: np.ndarray, threshold: float = KEYPOINT_SCORE_THRESHOLD
) -> np.ndarray:
    """HRNet's person rescoring: ``box score x mean of the keypoint scores above threshold`` (0 if none).

    Args:
        keypoint_scores: ``(N, K)``.
        box_scores: ``(N,)`` detection scores.
        threshold: keypoints scoring at or below it are left out of the mean.

    Returns:
        ``(N,)`` float32 instance scores.
    """
    scores = np.asarray(keypoint_scores, dtype=np.float64)
    boxes = np.asarray(box_scores, dtype=np.float64)
    if scores.ndim != 2 or boxes.shape != scores.shape[:1]:
        raise ValueError(
            f"keypoint_scores must have shape (N, K) and box_scores (N,), got {scores.shape} and {boxes.shape}"
        )
    confident = scores > threshold
    counts = confident.sum(axis=1)
    means = np.where(counts > 0, (scores * confident).sum(axis=1) / np.maximum(counts, 1), 0.0)
    return (means * boxes).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# the estimator
# ---------------------------------------------------------------------------------------------


class ModelPoseEstimator:
    """A 2D single-person model run on the crops of detected people (top-down).

    Args:
        model: any :class:`~posekit.models.pose2d.base.Pose2DModel`.
        codec: decodes the model's heatmaps (``MSRAHeatmap`` incl. DARK, ``UDPHeatmap`` Gaussian,
            ``IntegralRegression``) or coordinates (``RegressionLabel``); UDP codecs crop with
            the UDP warp.
        skeleton: the keypoint format the model predicts (its ``flip_indices`` drive the flip test).
        flip_test: average with the prediction on the mirrored crop.
        shift_heatmap: shift mirrored MSRA heatmaps one pixel right (HRNet); never for UDP.
        batch_size: crops per forward pass (a flip test doubles the batch).
        device: where the model runs.
        padding: crop size as a multiple of the person box.
        keypoint_score_threshold: keypoints scoring above this enter the person's rescoring.

    Raises:
        ValueError: the codec does not fit the model (kind, input size, heatmap size), or the
            skeleton's keypoint count differs from the model's.
    """

    def __init__(
        self,
        model: Pose2DModel,
        codec: Codec,
        skeleton: str | Skeleton,
        flip_test: bool = True,
        shift_heatmap: bool = True,
        batch_size: int = 32,
        device: str | torch.device = "cpu",
        padding: float = BOX_PADDING,
        keypoint_score_threshold: float = KEYPOINT_SCORE_THRESHOLD,
    ) -> None:
        if not isinstance(model, Pose2DModel):
            raise ValueError(f"model must be a posekit Pose2DModel, got {type(model).__name__}")
        definition = get_skeleton(skeleton)
        if definition.num_keypoints != model.num_keypoints:
            raise ValueError(
                f"skeleton {definition.name!r} has {definition.num_keypoints} keypoints but the model predicts "
                f"{model.num_keypoints}"
            )
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if not padding > 0:
            raise ValueError(f"padding must be > 0, got {padding}")
        self._check_codec(model, codec)
        self.model = model.eval().to(device)
        self.codec = codec
        self.skeleton = definition.name
        self.flip_indices = definition.flip_indices
        self.flip_test = bool(flip_test)
        self.use_udp = isinstance(codec, UDPHeatmap)
        self.shift_heatmap = bool(shift_heatmap) and not self.use_udp
        self.batch_size = int(batch_size)
        self.device = torch.device(device)
        self.padding = float(padding)
        self.keypoint_score_threshold = float(keypoint_score_threshold)

    @staticmethod
    def _check_codec(model: Pose2DModel, codec: Codec) -> None:
        if tuple(codec.input_size) != tuple(model.input_size):
            raise ValueError(f"codec input size {codec.input_size} differs from the model's {model.input_size}")
        if model.output_kind == "coordinates":
            if not isinstance(codec, RegressionLabel):
                raise ValueError(f"{type(model).__name__} regresses coordinates: use RegressionLabel, got {codec!r}")
            return
        if isinstance(codec, RegressionLabel):
            raise ValueError(f"{type(model).__name__} predicts heatmaps: RegressionLabel cannot decode them")
        if tuple(codec.heatmap_size or ()) != tuple(model.heatmap_size or ()):
            raise ValueError(f"codec heatmap size {codec.heatmap_size} differs from the model's {model.heatmap_size}")
        if isinstance(codec, UDPHeatmap) and codec.heatmap_type != "gaussian":
            raise ValueError("only UDP 'gaussian' heatmaps can be decoded here (the models output K maps)")

    # ---------------------------------------------------------------- crops
    def crop_regions(self, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Crop centres ``(N, 2)`` and sizes ``(N, 2)`` ``(w, h)`` in pixels for xyxy boxes ``(N, 4)``.

        The size has the model's aspect ratio and ``padding`` times the box (at least 1 pixel).
        """
        values = np.asarray(boxes, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != 4:
            raise ValueError(f"boxes must have shape (N, 4) xyxy, got {values.shape}")
        width, height = self.model.input_size
        center, scale = box_xyxy_to_cs(values, aspect_ratio=width / height, padding=self.padding)
        return np.asarray(center, np.float64), np.maximum(np.asarray(scale, np.float64), 1.0)

    def crop_matrices(self, centers: np.ndarray, scales: np.ndarray) -> np.ndarray:
        """Image -> crop matrices ``(N, 2, 3)`` (UDP's for UDP codecs, else HRNet's)."""
        if self.use_udp:
            return get_udp_warp_matrix(centers, scales, 0.0, self.model.input_size)
        return get_warp_matrix(centers, scales, 0.0, self.model.input_size)

    def crops(self, image: np.ndarray, centers: np.ndarray, scales: np.ndarray) -> torch.Tensor:
        """Normalised crops ``(N, 3, h, w)`` float32 of ``image`` ``(H, W, 3)`` uint8 RGB."""
        matrices = self.crop_matrices(centers, scales)
        width, height = self.model.input_size
        if matrices.shape[0] == 0:
            return torch.zeros((0, 3, height, width), dtype=torch.float32)
        crops = [normalize_image(warp_image(image, matrix, (width, height))) for matrix in matrices]
        return torch.stack(crops)

    # ---------------------------------------------------------------- network
    @torch.inference_mode()
    def predict_crops(self, crops: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints in crop pixels for normalised crops, with the flip test when enabled.

        Args:
            crops: ``(N, 3, h, w)`` ImageNet-normalised RGB at the model's input size.

        Returns:
            keypoints ``(N, K, 2)`` float32 in crop (input) pixels and scores ``(N, K)`` float32.
        """
        width, height = self.model.input_size
        if crops.dim() != 4 or tuple(crops.shape[1:]) != (3, height, width):
            raise ValueError(f"crops must have shape (N, 3, {height}, {width}), got {tuple(crops.shape)}")
        num_keypoints = self.model.num_keypoints
        all_points, all_scores = [], []
        for start in range(0, crops.shape[0], self.batch_size):
            batch = crops[start : start + self.batch_size].to(self.device)
            points, scores = self._predict_batch(batch)
            all_points.append(points)
            all_scores.append(scores)
        if not all_points:
            return np.zeros((0, num_keypoints, 2), np.float32), np.zeros((0, num_keypoints), np.float32)
        return np.concatenate(all_points).astype(np.float32), np.concatenate(all_scores).astype(np.float32)

    def _forward(self, batch: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Heatmaps ``(2B or B, K, H, W)`` and normalised coordinates ``(.., K, 2)`` (``None`` when absent)."""
        model = self.model
        inputs = torch.cat([batch, batch.flip(-1)]) if self.flip_test else batch
        if model.output_kind == "heatmap":
            return model(inputs), None
        if model.output_kind == "coordinates":
            return None, model(inputs)
        outputs = model.forward_outputs(inputs)
        heatmaps = outputs.heatmaps
        if heatmaps is not None:
            heatmaps = heatmaps[:, : model.num_keypoints]  # drop a background map
        return heatmaps, outputs.coordinates

    def _predict_batch(self, batch: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        count = batch.shape[0]
        heatmaps, coordinates = self._forward(batch)
        if heatmaps is not None and self.flip_test:
            # (2B, K, H, W): first half original, second half mirrored -> averaged (B, K, H, W)
            heatmaps = 0.5 * (heatmaps[:count] + flip_heatmaps(heatmaps[count:], self.flip_indices, self.shift_heatmap))
        if coordinates is not None and self.flip_test:
            width = self.model.input_size[0]
            coordinates = 0.5 * (coordinates[:count] + flip_coordinates(coordinates[count:], self.flip_indices, width))
        if coordinates is None:
            assert heatmaps is not None
            return self._decode_heatmaps(heatmaps)
        size = torch.tensor(self.model.input_size, dtype=coordinates.dtype, device=coordinates.device)
        points = (coordinates * size).float().cpu().numpy()  # (B, K, 2) normalised -> input pixels
        if heatmaps is not None and isinstance(self.codec, IntegralRegression):
            _, score_tensor = self.codec.decode_torch(heatmaps.float())
            scores = score_tensor.cpu().numpy()
        else:
            scores = np.ones(points.shape[:2], dtype=np.float32)
        return points, scores

    def _decode_heatmaps(self, heatmaps: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        maps = heatmaps.float().cpu().numpy()
        codec = self.codec
        if isinstance(codec, (MSRAHeatmap, UDPHeatmap, IntegralRegression)):
            return codec.decode(maps)
        raise ValueError(f"cannot decode heatmaps with {type(codec).__name__}")

    # ---------------------------------------------------------------- PoseEstimator API
    def estimate_boxes(self, image: np.ndarray, boxes: np.ndarray, box_scores: np.ndarray) -> PoseInstances:
        """Poses for person boxes (one per box, same order).

        Args:
            image: ``(H, W, 3)`` uint8 RGB (other layouts go through ``to_rgb_uint8``).
            boxes: ``(N, 4)`` xyxy person boxes in pixels.
            box_scores: ``(N,)`` detection scores.

        Returns:
            ``PoseInstances`` of this estimator's skeleton: keypoints ``(N, K, 2)`` in image
            pixels, scores ``(N, K)`` (heatmap maxima clipped at 0, 1 for pure regression), the
            boxes, and instance scores ``box score x mean keypoint score above the threshold``.
        """
        image = to_rgb_uint8(image)
        box_values = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        score_values = np.asarray(box_scores, dtype=np.float32).reshape(-1)
        if score_values.shape[0] != box_values.shape[0]:
            raise ValueError(f"box_scores must have shape ({box_values.shape[0]},), got {score_values.shape}")
        centers, scales = self.crop_regions(box_values)
        crop_points, scores = self.predict_crops(self.crops(image, centers, scales))
        keypoints = keypoints_crop_to_image(
            crop_points.astype(np.float64), centers, scales, self.model.input_size, udp=self.use_udp
        )
        finite = np.isfinite(keypoints).all(axis=-1) & np.isfinite(scores)  # (N, K)
        keypoints = np.where(finite[..., None], keypoints, 0.0).astype(np.float32)
        scores = np.where(finite, np.maximum(scores, 0.0), 0.0).astype(np.float32)
        return PoseInstances(
            keypoints=keypoints,
            scores=scores,
            skeleton=self.skeleton,
            boxes=box_values.astype(np.float32),
            instance_scores=rescore_instances(scores, score_values, self.keypoint_score_threshold),
        )

    def estimate(self, image: np.ndarray, detections: PersonDetections) -> PoseInstances:
        """Poses for ``detections`` in ``image``, one per detection in the same order."""
        width, height = self.model.input_size
        return self.estimate_boxes(image, detection_person_boxes(detections, width / height), detections.scores)

    def estimate_with_state(
        self, image: np.ndarray, detections: PersonDetections
    ) -> tuple[PoseInstances, list[np.ndarray]]:
        """Like :meth:`estimate`, plus a tracking state per person: its keypoints and scores ``(K, 3)``."""
        instances = self.estimate(image, detections)
        return instances, self._states(instances)

    def propagate(self, image: np.ndarray, states: Sequence[np.ndarray]) -> tuple[PoseInstances, list[np.ndarray]]:
        """Poses in the boxes around the previous frame's confident keypoints (one per state, same order).

        The box of a state is the tight box around its keypoints scoring above the threshold (all
        of them when none does); the instance score is the mean keypoint score (box score 1), so a
        person who left the frame scores low.
        """
        if len(states) == 0:
            return self.estimate_boxes(image, np.zeros((0, 4)), np.zeros(0)), []
        previous = np.stack([np.asarray(state, np.float64).reshape(-1, 3) for state in states])  # (N, K, 3)
        confident = previous[..., 2] > self.keypoint_score_threshold
        confident = np.where(confident.any(axis=1, keepdims=True), confident, True)
        boxes = box_from_keypoints(previous[..., :2], valid=confident)
        instances = self.estimate_boxes(image, boxes, np.ones(len(states), np.float32))
        return instances, self._states(instances)

    @staticmethod
    def _states(instances: PoseInstances) -> list[np.ndarray]:
        stacked = np.concatenate([instances.keypoints[..., :2], instances.scores[..., None]], axis=-1)  # (N, K, 3)
        return [stacked[row] for row in range(len(instances))]


# ---------------------------------------------------------------------------------------------
# building from a name and a weights file
# ---------------------------------------------------------------------------------------------


def build_model_estimator(
    model_name: str,
    weights: str | os.PathLike[str] | None,
    device: str | torch.device = "cpu",
    skeleton: str | None = None,
    flip_test: bool | None = None,
    batch_size: int = 32,
) -> ModelPoseEstimator:
    """A :class:`ModelPoseEstimator` for a registered 2D model and its weights.

    Decoding follows the checkpoint's metadata
    (:func:`~posekit.models.pose2d.loading.read_model_metadata`: skeleton, codec, sigma, DARK,
    UDP, flip settings of ``posekit train`` checkpoints) and otherwise the defaults
    for the model's ``output_kind`` (MSRA heatmaps with HRNet's flip shift, regression labels, or
    the integral codec), the skeleton by keypoint count.

    Args:
        model_name: registered 2D model name.
        weights: checkpoint path (posekit or official); ``None`` only for tests and benchmarks.
        device: where the model runs.
        skeleton: keypoint format, overriding the metadata.
        flip_test: override the flip test (``None``: the metadata's, default on).
        batch_size: crops per forward pass.
    """
    model, metadata, skeleton_name = load_pose2d_model(model_name, weights, skeleton)
    codec = build_model_codec(model, metadata.codec, sigma=metadata.sigma, unbiased=metadata.unbiased)
    return ModelPoseEstimator(
        model,
        codec,
        skeleton_name,
        flip_test=metadata.flip_test if flip_test is None else flip_test,
        shift_heatmap=metadata.shift_heatmap,
        batch_size=batch_size,
        device=device,
    )
