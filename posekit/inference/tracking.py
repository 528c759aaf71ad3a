"""Multi-person pose tracking: stable track ids across video frames.

:class:`PoseTracker` assigns a track id to every pose of every frame:

1. Poses that already carry a track id hint (they were estimated inside the ROI propagated from
   that track's pose in the previous frame, BlazePose-style tracking) keep it.
2. The others are matched to the remaining tracks, live or recently lost, by Hungarian matching
   (:func:`min_cost_assignment`, the same optimum as ``scipy.optimize.linear_sum_assignment``
   without its 0.3-0.5 s import) on a similarity: OKS between the pose and the track's
   last pose (default; the object scale is the square of the track box's long side), or IoU of
   the boxes; each taken as the better of the track's last position and that position moved by
   the track's velocity. Pairs below ``min_similarity`` are never matched.
3. Unmatched poses start new tracks (ids count up from 0 and are never reused).
4. Tracks not seen for more than ``max_age`` frames are dropped.

Before tracking, :func:`suppress_duplicates` removes poses that cover the same person twice (two
tracks that collapsed onto one person, or a re-detected person who is already tracked): the
better-scored pose stays, and the other track, no longer fed, ages out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posekit.geometry import box_area, box_iou
from posekit.metrics.coco import oks, pairwise_oks

__all__ = ["DEFAULT_SIGMA", "PoseTracker", "Track", "min_cost_assignment", "suppress_duplicates"]

# OKS sigma used for skeletons that define none (BlazePose): close to COCO's torso/limb values.
DEFAULT_SIGMA = 0.07


def _sigmas(sigmas: np.ndarray | None, num_keypoints: int) -> np.ndarray:
    if sigmas is None:
        return np.full(num_keypoints, DEFAULT_SIGMA)
    values = np.asarray(sigmas, dtype=np.float64).reshape(-1)
    if values.shape[0] != num_keypoints:
        raise ValueError(f"sigmas must have {num_keypoints} values to match the keypoints, got {values.shape[0]}")
    return values


def suppress_duplicates(
    keypoints: np.ndarray,
    boxes: np.ndarray,
    scores: np.ndarray,
    threshold: float = 0.5,
    sigmas: np.ndarray | None = None,
    priority: np.ndarray | None = None,
) -> np.ndarray:
    """Greedy OKS non-maximum suppression over the poses of one frame.

    Args:
        keypoints: ``(N, K, 2+)`` poses in pixels.
        boxes: ``(N, 4)`` xyxy boxes (their areas are the OKS scales).
        scores: ``(N,)`` instance scores.
        threshold: OKS above which the lower-ranked pose is dropped.
        sigmas: ``(K,)`` OKS sigmas (default :data:`DEFAULT_SIGMA` for every keypoint).
        priority: ``(N,)`` tie-breaker added to the ranking after the score (e.g. track age).

    Returns:
        int64 indices of the kept poses, best first.
    """
    points = np.asarray(keypoints, dtype=np.float64)
    if points.ndim != 3 or points.shape[-1] < 2:
        raise ValueError(f"keypoints must have shape (N, K, 2) or (N, K, 3), got {points.shape}")
    count = points.shape[0]
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    score_values = np.asarray(scores, dtype=np.float64).reshape(-1)
    ranks = np.zeros(count) if priority is None else np.asarray(priority, dtype=np.float64).reshape(-1)
    if score_values.shape[0] != count or ranks.shape[0] != count:
        raise ValueError(f"scores and priority must have shape ({count},), got {score_values.shape}, {ranks.shape}")
    finite_points = np.nan_to_num(points[..., :2], nan=-1e6)
    overlaps = pairwise_oks(finite_points, box_area(np.asarray(boxes, np.float64)), _sigmas(sigmas, points.shape[1]))
    order = np.lexsort((-ranks, -score_values))  # by score, then priority, both descending
    keep: list[int] = []
    while order.size > 0:
        current = int(order[0])
        keep.append(current)
        order = order[1:][overlaps[current, order[1:]] <= threshold]
    return np.asarray(keep, dtype=np.int64)


def min_cost_assignment(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-cost one-to-one assignment of the rows of ``cost`` to its columns (Hungarian method).

    Solves the rectangular linear assignment problem (as ``scipy.optimize.linear_sum_assignment``):
    ``min(N, M)`` pairs, each row and column used at most once, with the smallest total cost. Shortest
    augmenting paths with dual potentials (H. W. Kuhn, "The Hungarian method for the assignment
    problem", 1955; R. Jonker and A. Volgenant, Computing 38, 1987): one row is added at a time and
    Dijkstra-like steps over the columns, vectorised with numpy, find the cheapest way to place it.
    ``O(N^2 M)`` for ``N <= M``; meant for the small matrices of tracking (a few dozen rows), where
    it avoids importing ``scipy.optimize``. When several assignments reach the minimum, which one is
    returned may differ from scipy's.

    Args:
        cost: ``(N, M)`` finite costs.

    Returns:
        ``rows (P,)`` and ``columns (P,)`` int64, ``P = min(N, M)``, rows increasing.
    """
    values = np.asarray(cost, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"cost must have shape (N, M), got {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError("cost must be finite")
    transposed = values.shape[0] > values.shape[1]
    if transposed:
        values = values.T  # (M, N): now rows <= columns
    num_rows, num_columns = values.shape
    row_potential = np.zeros(num_rows)
    column_potential = np.zeros(num_columns + 1)  # column index num_columns is the virtual start
    row_of_column = np.full(num_columns + 1, -1, np.int64)  # row placed in each column, -1: free
    for row in range(num_rows):
        start = num_columns
        row_of_column[start] = row
        distance = np.full(num_columns, np.inf)  # reduced cost of the cheapest path to each column
        previous = np.full(num_columns, start, np.int64)  # column before each column on that path
        done = np.zeros(num_columns + 1, bool)
        column = start
        while True:
            done[column] = True
            current_row = row_of_column[column]
            base = distance[column] if column < num_columns else 0.0
            reduced = values[current_row] - row_potential[current_row] - column_potential[:num_columns] + base
            better = ~done[:num_columns] & (reduced < distance)
            distance[better] = reduced[better]
            previous[better] = column
            open_columns = np.flatnonzero(~done[:num_columns])
            column = int(open_columns[np.argmin(distance[open_columns])])
            if row_of_column[column] < 0:
                break
        # Update the potentials along the tree of visited columns, then flip the augmenting path.
        reached = distance[column]
        visited = np.flatnonzero(done[:num_columns])
        shift = reached - distance[visited]
        column_potential[visited] -= shift
        row_potential[row_of_column[visited]] += shift
        row_potential[row] += reached
        while column != start:
            before = int(previous[column])
            row_of_column[column] = row_of_column[before]
            column = before
    assigned = np.flatnonzero(row_of_column[:num_columns] >= 0)
    rows, columns = row_of_column[assigned], assigned
    if transposed:
        rows, columns = columns, rows
    order = np.argsort(rows, kind="stable")
    return rows[order].astype(np.int64), columns[order].astype(np.int64)


@dataclass
class Track:
    """State of one tracked person.

    Attributes:
        track_id: stable integer id.
        box: ``(4,)`` xyxy box of the last pose, in pixels.
        keypoints: ``(K, 2)`` last pose in pixels.
        velocity: ``(4,)`` box velocity in pixels per frame (smoothed).
        last_frame: index of the last frame the track was seen in.
        first_frame: index of the frame the track was born in.
        score: instance score of the last pose.
    """

    track_id: int
    box: np.ndarray
    keypoints: np.ndarray
    velocity: np.ndarray
    last_frame: int
    first_frame: int
    score: float

    def predicted(self, frame_index: int) -> tuple[np.ndarray, np.ndarray]:
        """Box ``(4,)`` and keypoints ``(K, 2)`` moved by the velocity to ``frame_index``."""
        step = self.velocity * float(frame_index - self.last_frame)
        shift = (step[:2] + step[2:]) / 2  # motion of the box centre
        return self.box + step, self.keypoints + shift


class PoseTracker:
    """Assign stable track ids to the poses of consecutive video frames.

    Args:
        max_age: frames a track survives without being seen before it is dropped.
        min_similarity: pairs less similar than this are never matched.
        similarity: ``"oks"`` (poses) or ``"iou"`` (boxes).
        sigmas: ``(K,)`` OKS sigmas (default :data:`DEFAULT_SIGMA` for every keypoint).
        velocity_momentum: weight of the previous velocity when it is updated (0: last step only).
    """

    def __init__(
        self,
        max_age: int = 30,
        min_similarity: float = 0.3,
        similarity: str = "oks",
        sigmas: np.ndarray | None = None,
        velocity_momentum: float = 0.5,
    ) -> None:
        if similarity not in ("oks", "iou"):
            raise ValueError(f"similarity must be 'oks' or 'iou', got {similarity!r}")
        if max_age < 0:
            raise ValueError(f"max_age must be >= 0, got {max_age}")
        self.max_age = int(max_age)
        self.min_similarity = float(min_similarity)
        self.similarity = similarity
        self.sigmas = None if sigmas is None else np.asarray(sigmas, dtype=np.float64)
        self.velocity_momentum = float(velocity_momentum)
        self.tracks: dict[int, Track] = {}
        self._next_id = 0

    def reset(self) -> None:
        """Forget every track; ids start again from 0."""
        self.tracks.clear()
        self._next_id = 0

    def live_tracks(self, frame_index: int) -> list[Track]:
        """Tracks seen in the frame just before ``frame_index`` (the ones to propagate)."""
        return [track for track in self.tracks.values() if track.last_frame == frame_index - 1]

    def _similarity_matrix(
        self, boxes: np.ndarray, keypoints: np.ndarray, tracks: list[Track], frame: int
    ) -> np.ndarray:
        """``(N, M)`` similarity to each track's predicted position (moved by its velocity).

        For tracks lost for a while, the better of the predicted and the last position: prediction
        follows people who keep moving, the last position catches people who walked back in where
        they left. (Tracks seen in the previous frame use the prediction only, which tells two
        people apart as they cross.)
        """
        moved = self._similarity_to(boxes, keypoints, [track.predicted(frame) for track in tracks])
        still = self._similarity_to(boxes, keypoints, [(track.box, track.keypoints) for track in tracks])
        lost = np.array([frame - track.last_frame > 1 for track in tracks])
        return np.where(lost[None, :], np.maximum(moved, still), moved)

    def _similarity_to(
        self, boxes: np.ndarray, keypoints: np.ndarray, predicted: list[tuple[np.ndarray, np.ndarray]]
    ) -> np.ndarray:
        track_boxes = np.stack([box for box, _ in predicted])  # (M, 4)
        if self.similarity == "iou":
            return box_iou(boxes, track_boxes)
        track_points = np.stack([points for _, points in predicted])  # (M, K, 2)
        if track_points.shape[1] != keypoints.shape[1]:
            raise ValueError(f"keypoints must keep K={track_points.shape[1]} between frames, got {keypoints.shape[1]}")
        # Scale: the square on the box's long side (a thin standing person's w * h would make OKS
        # punish ordinary walking speeds; tracking cares about motion relative to body height).
        sides = np.max(track_boxes[:, 2:] - track_boxes[:, :2], axis=1)
        areas = np.maximum(sides, 1.0) ** 2
        visible = np.isfinite(track_points).all(axis=-1)
        return oks(
            np.nan_to_num(keypoints[..., :2], nan=-1e6),
            np.nan_to_num(track_points, nan=0.0),
            areas,
            sigmas=_sigmas(self.sigmas, keypoints.shape[1]),
            target_visible=visible,
        )

    def update(
        self,
        frame_index: int,
        boxes: np.ndarray,
        keypoints: np.ndarray,
        instance_scores: np.ndarray,
        track_hints: np.ndarray | None = None,
    ) -> np.ndarray:
        """Track the poses of one frame.

        Args:
            frame_index: index of the frame (increasing from call to call).
            boxes: ``(N, 4)`` xyxy boxes in pixels.
            keypoints: ``(N, K, 2+)`` poses in pixels (a third column is ignored).
            instance_scores: ``(N,)`` instance scores.
            track_hints: ``(N,)`` int track id each pose was propagated from, ``-1`` for none.

        Returns:
            ``(N,)`` int64 track ids, unique within the frame.
        """
        box_values = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        points = np.asarray(keypoints, dtype=np.float64)
        count = box_values.shape[0]
        if points.ndim != 3 or points.shape[0] != count or points.shape[-1] < 2:
            raise ValueError(f"keypoints must have shape ({count}, K, 2) or ({count}, K, 3), got {points.shape}")
        score_values = np.asarray(instance_scores, dtype=np.float64).reshape(-1)
        hints = np.full(count, -1, np.int64) if track_hints is None else np.asarray(track_hints, np.int64).reshape(-1)
        if score_values.shape[0] != count or hints.shape[0] != count:
            raise ValueError(f"instance_scores and track_hints must have shape ({count},)")
        points = points[..., :2]
        # 1. drop tracks unseen for too long
        for track_id in [tid for tid, track in self.tracks.items() if frame_index - track.last_frame > self.max_age]:
            del self.tracks[track_id]
        assigned = np.full(count, -1, np.int64)
        # 2. poses propagated from a track keep its id (once)
        for row in np.argsort(-score_values):
            hint = int(hints[row])
            if hint in self.tracks and hint not in assigned:
                assigned[row] = hint
        # 3. Hungarian matching of the rest against the tracks not yet fed this frame
        free_rows = np.flatnonzero(assigned < 0)
        free_tracks = [track for track in self.tracks.values() if track.track_id not in assigned]
        if free_rows.size and free_tracks:
            similarity = self._similarity_matrix(box_values[free_rows], points[free_rows], free_tracks, frame_index)
            rows, columns = min_cost_assignment(-similarity)
            for row, column in zip(rows, columns, strict=True):
                if similarity[row, column] >= self.min_similarity:
                    assigned[free_rows[row]] = free_tracks[column].track_id
        # 4. new tracks for the unmatched poses; update the matched ones
        for row in range(count):
            if assigned[row] < 0:
                assigned[row] = self._next_id
                self.tracks[self._next_id] = Track(
                    track_id=self._next_id,
                    box=box_values[row].copy(),
                    keypoints=points[row].copy(),
                    velocity=np.zeros(4),
                    last_frame=frame_index,
                    first_frame=frame_index,
                    score=float(score_values[row]),
                )
                self._next_id += 1
                continue
            track = self.tracks[int(assigned[row])]
            gap = max(frame_index - track.last_frame, 1)
            step = (box_values[row] - track.box) / gap
            track.velocity = self.velocity_momentum * track.velocity + (1 - self.velocity_momentum) * step
            track.box = box_values[row].copy()
            track.keypoints = np.where(np.isfinite(points[row]), points[row], track.keypoints)
            track.last_frame = frame_index
            track.score = float(score_values[row])
        return assigned
