"""BVH export on a ground plane: lowest foot and pelvis height of lifted tracks, before and after.

For every track of a ``poses3d.npz`` (written by ``posekit predict VIDEO --lift``) with at least
``--min-frames`` frames, the BVH motion is solved twice: ``ground=False`` (the camera-frame
positions turned to BVH axes, as posekit wrote BVH files before) and ``ground=True`` (on the
floor, as ``--bvh`` writes them now). Forward kinematics of each gives per frame the height of the
lower ankle (the knees' end sites) and of the pelvis, in centimetres. Printed per track:

* the range of the lowest foot's height about the floor (camera frame: the track's median lowest-
  foot height, since its Y = 0 is the camera; grounded: Y = 0) and the share of frames more than
  2 cm off it;
* the largest pelvis height range within any one-second window (jitter and drift of the root).

Run::

    posekit predict ../shared/data/video/dance.avi --lift --bvh --no-vis --out /tmp/dance
    .venv/bin/python benchmarks/eval_bvh_ground.py /tmp/dance/poses3d.npz --fps 50
"""

from __future__ import annotations

import argparse

import numpy as np

from posekit.io.bvh import forward_kinematics, poses_to_bvh


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("poses3d", help="poses3d.npz written by posekit predict --lift")
    parser.add_argument("--fps", type=float, required=True, help="frame rate of the video")
    parser.add_argument("--min-frames", type=int, default=50, help="skip shorter tracks")
    args = parser.parse_args()
    with np.load(args.poses3d, allow_pickle=False) as data:
        tracks = {
            str(key): (data[f"track_{key}_keypoints_3d"], data[f"track_{key}_trajectory"]) for key in data["track_keys"]
        }
    second = max(1, int(round(args.fps)))
    for key, (keypoints, trajectory) in tracks.items():
        if len(keypoints) < max(args.min_frames, second):
            continue
        cells = []
        for ground in (False, True):
            motion = poses_to_bvh(keypoints, args.fps, trajectory=trajectory, ground=ground)
            positions = forward_kinematics(motion)  # (T, M, 3) cm, Y up
            feet = [motion.names.index("right_knee_end"), motion.names.index("left_knee_end")]
            foot = positions[:, feet, 1].min(axis=1)
            foot = foot - (0.0 if ground else float(np.median(foot)))
            pelvis = positions[:, 0, 1]
            jitter = np.ptp(np.lib.stride_tricks.sliding_window_view(pelvis, second), axis=1).max()
            cells.append(
                f"{'ground' if ground else 'camera'}: lowest foot {foot.min():+.1f}..{foot.max():+.1f} cm "
                f"(off by > 2 cm in {np.mean(np.abs(foot) > 2):.0%} of frames), pelvis range in 1 s <= {jitter:.1f} cm"
            )
        print(f"track {key} ({len(keypoints)} frames)  " + " | ".join(cells))


if __name__ == "__main__":
    main()
