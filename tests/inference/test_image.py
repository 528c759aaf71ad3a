"""to_rgb_uint8: every accepted layout/dtype lands on (H, W, 3) uint8 with the right values; the rest is refused."""

from __future__ import annotations

import numpy as np
import pytest

from posekit.inference.image import to_rgb_uint8


def test_rgb_uint8_is_returned_unchanged() -> None:
    image = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    result = to_rgb_uint8(image)
    assert result is image


def test_grayscale_is_replicated_to_three_channels() -> None:
    gray = np.array([[0, 128], [255, 7]], np.uint8)
    for image in (gray, gray[:, :, None]):
        result = to_rgb_uint8(image)
        assert result.shape == (2, 2, 3) and result.dtype == np.uint8
        np.testing.assert_array_equal(result[:, :, 0], gray)
        np.testing.assert_array_equal(result[:, :, 2], gray)


def test_rgba_drops_alpha() -> None:
    image = np.zeros((2, 2, 4), np.uint8)
    image[..., 0], image[..., 3] = 10, 200
    result = to_rgb_uint8(image)
    assert result.shape == (2, 2, 3) and result.flags.c_contiguous
    assert np.all(result[..., 0] == 10) and np.all(result[..., 1:] == 0)


def test_uint16_float_bool_and_signed_are_rescaled() -> None:
    np.testing.assert_array_equal(to_rgb_uint8(np.array([[0, 257, 65535]], np.uint16))[0, :, 0], [0, 1, 255])
    np.testing.assert_array_equal(
        to_rgb_uint8(np.array([[0.0, 0.5, 1.0, 2.0]], np.float32))[0, :, 0], [0, 128, 255, 255]
    )
    np.testing.assert_array_equal(to_rgb_uint8(np.array([[False, True]]))[0, :, 0], [0, 255])
    np.testing.assert_array_equal(to_rgb_uint8(np.array([[-5, 100, 300]], np.int32))[0, :, 0], [0, 100, 255])


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((4, 4, 2), np.uint8), "shape"),
        (np.zeros((4,), np.uint8), "shape"),
        (np.zeros((0, 4, 3), np.uint8), "empty"),
        (np.zeros((4, 4, 3), np.complex64), "dtype"),
        (np.full((2, 2), np.nan, np.float32), "NaN"),
    ],
)
def test_unsupported_inputs_raise_value_error(image: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        to_rgb_uint8(image)


def test_non_array_raises_value_error() -> None:
    with pytest.raises(ValueError, match="numpy array"):
        to_rgb_uint8([[1, 2], [3, 4]])  # type: ignore[arg-type]
