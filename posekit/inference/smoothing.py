"""Temporal smoothing of keypoint tracks: the One Euro filter.

The One Euro filter (Casiez, Roussel and Vogel, "1€ Filter: A Simple Speed-based Low-pass Filter
for Noisy Input in Interactive Systems", CHI 2012) is an exponential low-pass filter whose cutoff
frequency rises with the signal's speed: slow movements are smoothed hard (little jitter), fast
ones lightly (little lag). For a sample ``x_i`` at time ``t_i`` with rate ``f = 1 / (t_i - t_{i-1})``:

* ``alpha(cutoff) = 1 / (1 + tau * f)`` with ``tau = 1 / (2 * pi * cutoff)`` (paper, eq. 3-4),
* ``dx_i = (x_i - x_{i-1}) * value_scale * f`` and ``dx_hat_i = alpha(d_cutoff) dx_i + (1 - alpha) dx_hat_{i-1}``,
* ``cutoff_i = min_cutoff + beta * |dx_hat_i|`` (eq. 5),
* ``x_hat_i = alpha(cutoff_i) x_i + (1 - alpha(cutoff_i)) x_hat_{i-1}``.

As in the authors' reference implementation and MediaPipe's ``OneEuroFilter``, the derivative is
taken between raw samples, the first sample passes through unchanged (derivative 0), and a sample
whose timestamp does not advance is returned unchanged without touching the state. ``value_scale``
is MediaPipe's addition: speeds are divided by the object's size, so that one set of parameters
works for people near and far.

Default parameters (:data:`MEDIAPIPE_POSE_ONE_EURO`) are those of MediaPipe 0.10.14's
``PoseLandmarkFiltering`` graph for the 33 pose landmarks (read from the graph compiled into
``mediapipe/python/_framework_bindings``): ``min_cutoff=0.05``, ``beta=80``,
``derivate_cutoff=1.0``, with speeds scaled by ``1 / object_scale``. MediaPipe takes the object
scale from the tracking ROI; :class:`PoseSmoother` takes it from the caller (e.g. the tracking ROI
side) or, by default, as MediaPipe does without a ROI: the mean of the width and height of the
keypoints' bounding box, in pixels. (The current MediaPipe source tree has ``min_cutoff=0.1,
beta=40``; the 0.10.14 binary, the version posekit is benchmarked against, uses 0.05 and 80.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MEDIAPIPE_POSE_ONE_EURO", "OneEuroFilter", "OneEuroParameters", "PoseSmoother", "keypoint_object_scale"]


@dataclass(frozen=True)
class OneEuroParameters:
    """Parameters of a One Euro filter.

    Attributes:
        min_cutoff: cutoff frequency in Hz at zero speed (lower: smoother when still, more lag).
        beta: speed coefficient (higher: less lag when moving fast, more jitter).
        d_cutoff: cutoff frequency in Hz of the low-pass filter on the derivative.
        frequency: sampling rate in Hz assumed until two timestamps give a real one.
    """

    min_cutoff: float = 0.05
    beta: float = 80.0
    d_cutoff: float = 1.0
    frequency: float = 30.0

    def __post_init__(self) -> None:
        for name in ("min_cutoff", "d_cutoff", "frequency"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"OneEuroParameters.{name} must be a positive number, got {value}")
        if not (np.isfinite(self.beta) and self.beta >= 0):
            raise ValueError(f"OneEuroParameters.beta must be a non-negative number, got {self.beta}")


MEDIAPIPE_POSE_ONE_EURO = OneEuroParameters(min_cutoff=0.05, beta=80.0, d_cutoff=1.0, frequency=30.0)


def _alpha(cutoff: np.ndarray | float, frequency: float) -> np.ndarray:
    """Smoothing factor of an exponential filter with ``cutoff`` Hz at ``frequency`` Hz sampling."""
    tau = 1.0 / (2.0 * np.pi * np.asarray(cutoff, dtype=np.float64))
    return 1.0 / (1.0 + tau * frequency)


class OneEuroFilter:
    """A One Euro filter over an array of independent signals (vectorised over any shape).

    Every element of the array passed to :meth:`__call__` is filtered on its own; the shape must
    stay the same from call to call (call :meth:`reset` to change it). Non-finite samples pass
    through unchanged and leave that element's state as it was.

    Args:
        min_cutoff: cutoff frequency in Hz at zero speed.
        beta: speed coefficient.
        d_cutoff: cutoff frequency in Hz for the derivative.
        frequency: sampling rate in Hz used until two timestamps have been seen.
    """

    def __init__(
        self, min_cutoff: float = 0.05, beta: float = 80.0, d_cutoff: float = 1.0, frequency: float = 30.0
    ) -> None:
        self.parameters = OneEuroParameters(min_cutoff=min_cutoff, beta=beta, d_cutoff=d_cutoff, frequency=frequency)
        self.reset()

    @classmethod
    def from_parameters(cls, parameters: OneEuroParameters) -> OneEuroFilter:
        """Build a filter from :class:`OneEuroParameters`."""
        return cls(parameters.min_cutoff, parameters.beta, parameters.d_cutoff, parameters.frequency)

    def reset(self) -> None:
        """Forget the history (the next sample passes through unchanged)."""
        self._last_raw: np.ndarray | None = None
        self._last_filtered: np.ndarray | None = None
        self._last_derivative: np.ndarray | None = None
        self._last_timestamp: float | None = None
        self._frequency = self.parameters.frequency

    def __call__(self, values: np.ndarray, timestamp: float, value_scale: np.ndarray | float = 1.0) -> np.ndarray:
        """Filter one sample of every signal.

        Args:
            values: ``(...)`` the new samples (any shape, fixed between calls).
            timestamp: time of the sample in seconds.
            value_scale: factor applied to speeds before they set the cutoff, broadcastable to
                ``values`` (MediaPipe uses ``1 / object_scale``).

        Returns:
            ``(...)`` float64 filtered values.
        """
        sample = np.asarray(values, dtype=np.float64)
        scale = np.broadcast_to(np.asarray(value_scale, dtype=np.float64), sample.shape)
        finite = np.isfinite(sample)
        if self._last_raw is None or self._last_filtered is None or self._last_derivative is None:
            self._last_raw = np.where(finite, sample, np.nan)
            self._last_filtered = self._last_raw.copy()
            self._last_derivative = np.zeros_like(sample)
            self._last_timestamp = float(timestamp)
            return sample.copy()
        if self._last_raw.shape != sample.shape:
            raise ValueError(
                f"values must keep the shape {self._last_raw.shape} between calls (reset() to change it), "
                f"got {sample.shape}"
            )
        if self._last_timestamp is not None and timestamp <= self._last_timestamp:
            return sample.copy()  # time did not advance: unpredictable, pass through (as MediaPipe)
        if self._last_timestamp is not None:
            self._frequency = 1.0 / (float(timestamp) - self._last_timestamp)
        self._last_timestamp = float(timestamp)
        frequency = self._frequency
        seen = np.isfinite(self._last_raw)
        # Elements seen for the first time start their own history (derivative 0, value unchanged).
        derivative = np.where(seen & finite, (sample - np.where(seen, self._last_raw, 0.0)) * scale * frequency, 0.0)
        smoothed_derivative = self._last_derivative + _alpha(self.parameters.d_cutoff, frequency) * (
            derivative - self._last_derivative
        )
        cutoff = self.parameters.min_cutoff + self.parameters.beta * np.abs(smoothed_derivative)
        alpha = _alpha(cutoff, frequency)
        previous = np.where(seen, self._last_filtered, sample)
        filtered = previous + alpha * (sample - previous)
        output = np.where(finite, filtered, sample)
        self._last_raw = np.where(finite, sample, self._last_raw)
        self._last_filtered = np.where(finite, output, self._last_filtered)
        self._last_derivative = np.where(finite, np.where(seen, smoothed_derivative, 0.0), self._last_derivative)
        return output


def keypoint_object_scale(keypoints: np.ndarray) -> np.ndarray:
    """Object scale as MediaPipe computes it without a ROI: mean of the keypoint box's width and height.

    Args:
        keypoints: ``(..., K, D)`` keypoints in pixels (only x and y are used; NaN ignored).

    Returns:
        ``(...)`` scale in pixels (0 where no keypoint is finite).
    """
    points = np.asarray(keypoints, dtype=np.float64)
    if points.ndim < 2 or points.shape[-1] < 2:
        raise ValueError(f"keypoints must have shape (..., K, 2) or (..., K, 3), got {points.shape}")
    xy = points[..., :2]
    finite = np.isfinite(xy).all(axis=-1, keepdims=True)
    if xy.shape[-2] == 0:
        return np.zeros(xy.shape[:-2])
    low = np.where(finite, xy, np.inf).min(axis=-2)  # (..., 2)
    high = np.where(finite, xy, -np.inf).max(axis=-2)  # (..., 2)
    extent = np.where(np.isfinite(high - low), high - low, 0.0)
    return extent.mean(axis=-1)


class PoseSmoother:
    """One Euro filters per track: smooth the keypoints of tracked people frame by frame.

    Each track id gets its own :class:`OneEuroFilter` over its ``(K, D)`` keypoints. A track
    absent from a frame loses its filter (as MediaPipe's ``MultiLandmarkFilters.ClearUnused``), so
    a person who comes back starts fresh instead of being dragged from a stale position.

    Args:
        parameters: One Euro parameters (default: MediaPipe's pose landmark smoothing).
        min_object_scale: below this object scale (pixels) keypoints pass through unfiltered.
    """

    def __init__(self, parameters: OneEuroParameters = MEDIAPIPE_POSE_ONE_EURO, min_object_scale: float = 1e-6) -> None:
        self.parameters = parameters
        self.min_object_scale = float(min_object_scale)
        self._filters: dict[int, OneEuroFilter] = {}

    def reset(self) -> None:
        """Forget every track."""
        self._filters.clear()

    def __call__(
        self,
        keypoints: np.ndarray,
        track_ids: np.ndarray,
        timestamp: float,
        object_scales: np.ndarray | None = None,
    ) -> np.ndarray:
        """Smooth one frame.

        Args:
            keypoints: ``(N, K, D)`` keypoints in pixels of the ``N`` tracked people in this frame.
            track_ids: ``(N,)`` integer track ids (unique within the frame).
            timestamp: frame time in seconds.
            object_scales: ``(N,)`` object size in pixels for the speed scale; default
                :func:`keypoint_object_scale`.

        Returns:
            ``(N, K, D)`` float32 smoothed keypoints.
        """
        points = np.asarray(keypoints)
        ids = np.asarray(track_ids).reshape(-1)
        if points.ndim != 3:
            raise ValueError(f"keypoints must have shape (N, K, D), got {points.shape}")
        if ids.shape[0] != points.shape[0]:
            raise ValueError(f"track_ids must have shape ({points.shape[0]},) to match keypoints, got {ids.shape}")
        if len(set(ids.tolist())) != ids.shape[0]:
            raise ValueError(f"track_ids must be unique within a frame, got {ids.tolist()}")
        scales = keypoint_object_scale(points) if object_scales is None else np.asarray(object_scales, np.float64)
        if scales.shape != (points.shape[0],):
            raise ValueError(f"object_scales must have shape ({points.shape[0]},), got {scales.shape}")
        output = np.array(points, dtype=np.float32, copy=True)
        for row, track_id in enumerate(ids.tolist()):
            one_euro = self._filters.get(int(track_id))
            if one_euro is None or (one_euro._last_raw is not None and one_euro._last_raw.shape != points[row].shape):
                one_euro = self._filters[int(track_id)] = OneEuroFilter.from_parameters(self.parameters)
            if not scales[row] >= self.min_object_scale:
                one_euro.reset()
                continue
            output[row] = one_euro(points[row], timestamp, value_scale=1.0 / scales[row])
        for stale in set(self._filters) - {int(track_id) for track_id in ids.tolist()}:
            del self._filters[stale]
        return output
