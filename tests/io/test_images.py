"""read_image: every layout becomes (H, W, 3) uint8 RGB; bad files raise one clear ValueError."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from posekit.io.images import is_image_path, read_image, write_image


def test_color_gray_rgba_and_16_bit_become_rgb_uint8(tmp_path: Path) -> None:
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[..., 0] = 200  # red
    cv2.imwrite(str(tmp_path / "color.png"), rgb[:, :, ::-1])
    np.testing.assert_array_equal(read_image(tmp_path / "color.png"), rgb)
    cv2.imwrite(str(tmp_path / "gray.png"), np.full((4, 5), 77, np.uint8))
    np.testing.assert_array_equal(read_image(tmp_path / "gray.png"), np.full((4, 5, 3), 77, np.uint8))
    rgba = np.dstack([rgb[:, :, ::-1], np.full((4, 5), 10, np.uint8)])  # BGRA
    cv2.imwrite(str(tmp_path / "rgba.png"), rgba)
    np.testing.assert_array_equal(read_image(tmp_path / "rgba.png"), rgb)
    cv2.imwrite(str(tmp_path / "deep.png"), np.full((4, 5), 51400, np.uint16))  # 51400 / 256 = 200.8
    assert read_image(tmp_path / "deep.png")[0, 0].tolist() == [200, 200, 200]


def test_bad_files_raise_value_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "zero.jpg").write_bytes(b"")
    with pytest.raises(ValueError, match=r"zero\.jpg.*empty"):
        read_image(tmp_path / "zero.jpg")
    (tmp_path / "text.jpg").write_text("hello")
    with pytest.raises(ValueError, match=r"cannot decode image .*text\.jpg"):
        read_image(tmp_path / "text.jpg")
    with pytest.raises(OSError, match="not found"):
        read_image(tmp_path / "missing.png")


def test_write_image_round_trip_and_suffixes(tmp_path: Path) -> None:
    image = (np.arange(6 * 7 * 3) % 256).astype(np.uint8).reshape(6, 7, 3)
    write_image(tmp_path / "a.png", image)
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"), image)
    with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8"):
        write_image(tmp_path / "b.png", image.astype(np.float32))
    assert is_image_path("x/Y.JPEG") and not is_image_path("x/y.txt")
