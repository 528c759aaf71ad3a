"""3D skeleton views: projection geometry, drawing, side-by-side frames, MP4 and GIF output."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from posekit.structures import PoseInstances, PoseSequence
from posekit.viz.draw import LEFT_COLOR, RIGHT_COLOR
from posekit.viz.plot3d import (
    LiftVideoWriter,
    SkeletonView3D,
    absolute_poses_by_frame,
    render_lift_frame,
    side_by_side,
    write_gif,
)

STANDING = np.array(
    [
        [0.0, 0.0, 0.0], [-0.13, 0.0, 0.0], [-0.13, 0.45, 0.0], [-0.13, 0.88, 0.0], [0.13, 0.0, 0.0],
        [0.13, 0.45, 0.0], [0.13, 0.88, 0.0], [0.0, -0.23, 0.0], [0.0, -0.48, 0.0], [0.0, -0.58, -0.05],
        [0.0, -0.68, 0.0], [0.18, -0.48, 0.0], [0.2, -0.2, 0.0], [0.22, 0.05, 0.0], [-0.18, -0.48, 0.0],
        [-0.2, -0.2, 0.0], [-0.22, 0.05, 0.0],
    ]
)  # fmt: skip


def test_projection_geometry() -> None:
    view = SkeletonView3D((200, 100), center=(0.0, 0.0, 4.0), radius=1.0, elevation=0.0, rotation_per_frame=90.0)
    points = np.array([[0.0, 0.0, 4.0], [0.5, 0.0, 4.0], [0.0, -0.5, 4.0], [0.0, 0.0, 5.0]])
    pixels, depth = view.project(points, frame_number=0)
    np.testing.assert_allclose(pixels[0], [100.0, 50.0])  # the centre maps to the image centre
    assert pixels[1, 0] > 100.0 and pixels[2, 1] < 50.0  # right stays right, up stays up
    assert depth[3, 0] == pytest.approx(depth[0, 0] + 1.0)  # azimuth 0: the input camera's direction
    turned, turned_depth = view.project(points, frame_number=1)  # 90 degrees about the vertical
    np.testing.assert_allclose(turned[1], [100.0, 50.0], atol=1e-9)  # x now runs along the view axis
    assert turned_depth[1, 0] == pytest.approx(turned_depth[0, 0] + 0.5)
    tilted = SkeletonView3D((200, 100), center=(0.0, 0.0, 4.0), radius=1.0, elevation=30.0)
    far, _ = tilted.project(points[3:], 0)
    assert far[0, 1] < 50.0  # seen from above, a farther point rises on screen


def test_render_draws_sides_in_their_colours() -> None:
    pose = STANDING + [0.0, 0.0, 4.0]
    view = SkeletonView3D.fit(pose, (240, 240), elevation=0.0)
    image = view.render(pose[None], track_ids=[3])
    assert image.shape == (240, 240, 3) and image.dtype == np.uint8
    pixels, _ = view.project(pose)
    # The middle of the left and right shins carry the side colours (person's left = image right).
    left_shin = np.round((pixels[5] + pixels[6]) / 2).astype(int)
    right_shin = np.round((pixels[2] + pixels[3]) / 2).astype(int)
    assert tuple(image[left_shin[1], left_shin[0]]) == LEFT_COLOR
    assert tuple(image[right_shin[1], right_shin[0]]) == RIGHT_COLOR
    assert left_shin[0] > right_shin[0]
    with pytest.raises(ValueError, match=r"\(N, 17, 3\)"):
        view.render(np.zeros((1, 16, 3)))


def test_side_by_side_and_lift_frame() -> None:
    image = np.full((120, 160, 3), 90, np.uint8)
    view_image = np.zeros((60, 60, 3), np.uint8)
    assert side_by_side(image, view_image).shape == (120, 280, 3)
    sequence = PoseSequence(
        frames=np.array([4, 5]),
        keypoints=np.zeros((2, 17, 2)),
        scores=np.ones((2, 17)),
        skeleton="h36m",
        track_id=2,
        keypoints_3d=np.stack([STANDING, STANDING]),
        skeleton_3d="h36m",
        trajectory=np.array([[0.0, 0.0, 4.0], [0.1, 0.0, 4.0]]),
    )
    by_frame = absolute_poses_by_frame([sequence])
    assert sorted(by_frame) == [4, 5]
    np.testing.assert_allclose(by_frame[5][1][0, 0], [0.1, 0.0, 4.0])
    instances = PoseInstances(keypoints=np.full((1, 17, 2), 50.0), scores=np.ones((1, 17)), skeleton="h36m")
    view = SkeletonView3D.fit(by_frame[4][1], (120, 120))
    composed = render_lift_frame(image, instances, view, by_frame[4][1], by_frame[4][0], 4)
    assert composed.shape == (120, 280, 3)


def test_lift_video_writer_mp4_and_gif(tmp_path: Path) -> None:
    frames = [np.full((64, 96, 3), 10 * index, np.uint8) for index in range(10)]
    with LiftVideoWriter(tmp_path / "out.mp4", tmp_path / "out.gif", 20.0, (96, 64), gif_fps=10.0) as writer:
        for frame in frames:
            writer.write(frame)
    capture = cv2.VideoCapture(str(tmp_path / "out.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 10
    capture.release()
    with Image.open(tmp_path / "out.gif") as gif:
        assert getattr(gif, "n_frames", 1) == 5 and gif.size == (96, 64)  # every second frame at 10 fps
        assert gif.info["duration"] == 100
    # An error inside the block leaves nothing behind.
    with (
        pytest.raises(RuntimeError),
        LiftVideoWriter(tmp_path / "bad.mp4", tmp_path / "bad.gif", 20.0, (96, 64)) as bad,
    ):
        bad.write(frames[0])
        raise RuntimeError("interrupted")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.gif", "out.mp4"]
    with pytest.raises(ValueError, match="no frames"):
        write_gif(tmp_path / "empty.gif", [], 10.0)
    write_gif(tmp_path / "wide.gif", [np.zeros((100, 1000, 3), np.uint8)] * 2, 10.0, max_width=200)
    with Image.open(tmp_path / "wide.gif") as gif:
        assert gif.size == (200, 20)
