"""posekit.inference.mesh and predict(mesh=True): body meshes fitted to lifted (or 2D-only) tracks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from posekit.bodymodels import load_body_model
from posekit.geometry.camera import Camera
from posekit.inference.mesh import (
    MeshFitter,
    MeshTrack,
    anchor_translation,
    joints_only_model,
    load_mesh_body_model,
    mesh_camera,
)
from posekit.inference.predict import PredictOptions, predict
from posekit.io.mesh import load_body_parameters, read_obj
from posekit.skeletons import get_skeleton
from posekit.structures import PoseInstances, PoseSequence
from tests.support.estimators import count_frames

SIZE = (160, 120)  # (w, h) of the test video
FRAMES = 6


@pytest.fixture(autouse=True)
def keep_torch_threads() -> Iterator[None]:
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def fitter() -> MeshFitter:
    return MeshFitter("open", steps=60)


def body_keypoints(frames: int = FRAMES, size: tuple[int, int] = SIZE) -> np.ndarray:
    """``(T, 17, 2)`` COCO pixels of the open body model walking slowly right, 4 m from a 1.15 x w camera."""
    model = load_body_model("open")
    pose = torch.zeros(frames, 69)
    swing = torch.linspace(-0.3, 0.3, frames)
    pose[:, 0], pose[:, 3] = swing, -swing  # hips (x axis)
    pose[:, 15 * 3 + 2], pose[:, 16 * 3 + 2] = -0.9, 0.9  # shoulders down from the A-pose
    orient = torch.tensor([[np.pi, 0.0, 0.0]]).expand(frames, 3)
    transl = torch.stack([torch.linspace(-0.2, 0.2, frames), torch.zeros(frames), torch.full((frames,), 4.0)], -1)
    with torch.no_grad():
        joints = model(global_orient=orient, body_pose=pose, transl=transl).joints.numpy()
    camera = mesh_camera(size)
    pixels = camera.project(joints.reshape(-1, 3)).reshape(frames, -1, 2)
    smpl = get_skeleton("smpl").keypoint_names
    coco = get_skeleton("coco").keypoint_names
    head = pixels[:, smpl.index("head")]
    out = np.zeros((frames, len(coco), 2), np.float32)
    for index, name in enumerate(coco):
        out[:, index] = pixels[:, smpl.index(name)] if name in smpl else head
    return out


class BodyEstimator:
    """One person at the open body model's projected joints (COCO-17), frame after frame."""

    def __init__(self) -> None:
        self.keypoints = body_keypoints()
        self.calls = 0

    def __call__(self, image: np.ndarray) -> PoseInstances:
        keypoints = self.keypoints[min(self.calls, len(self.keypoints) - 1)][None]
        self.calls += 1
        return PoseInstances(
            keypoints=keypoints.copy(),
            scores=np.full((1, 17), 0.9, np.float32),
            skeleton="coco",
            instance_scores=np.full(1, 0.9, np.float32),
        )


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mesh") / "walk.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, SIZE)
    for index in range(FRAMES):
        image = np.full((SIZE[1], SIZE[0], 3), 60 + 10 * index, np.uint8)
        writer.write(image)
    writer.release()
    return path


def test_joints_only_model_has_the_full_models_joints() -> None:
    model = load_body_model("open")
    joints_model = joints_only_model(model)
    torch.manual_seed(0)
    parameters = {
        "global_orient": torch.randn(3, 3) * 0.5,
        "body_pose": torch.randn(3, 69) * 0.4,
        "betas": torch.randn(3, model.num_betas),
        "transl": torch.randn(3, 3),
    }
    with torch.no_grad():
        full, cheap = model(**parameters).joints, joints_model(**parameters).joints
    assert joints_model.num_vertices == model.num_joints == 24
    assert torch.allclose(full, cheap, atol=1e-5)


def test_fit_2d_only_track_with_a_camera_guess(fitter: MeshFitter) -> None:
    keypoints = body_keypoints()
    coco = PoseSequence(
        frames=np.arange(FRAMES), keypoints=keypoints, scores=np.full((FRAMES, 17), 0.9, np.float32), skeleton="coco"
    )
    track = fitter.fit(coco, SIZE, file_name="walk")
    assert isinstance(track, MeshTrack) and len(track) == FRAMES
    assert track.body_pose.shape == (FRAMES, 69) and track.betas.shape == (FRAMES, fitter.model.num_betas)
    assert np.allclose(track.betas, track.betas[:1])  # one shape per track
    assert np.isnan(track.joints_3d_error).all()  # 2D only: no 3D targets
    assert (track.transl[:, 2] > 1.0).all()  # in front of the camera, at a plausible depth
    # The 2D-only fit brings the model's joints onto the keypoints (60 steps: under 2 px for a person 80 px tall).
    assert float(track.reprojection_error.max()) < 2.0
    vertices = fitter.vertices(track, [0, FRAMES - 1])
    assert vertices.shape == (2, fitter.model.num_vertices, 3) and np.isfinite(vertices).all()


def test_anchor_translation_recovers_the_camera_space_placement() -> None:
    rng = np.random.default_rng(0)
    relative = rng.normal(0.0, 0.3, (4, 12, 3))
    truth = np.array([[0.3, -0.2, 5.0], [-1.0, 0.1, 8.0], [0.0, 0.0, 3.0], [0.5, 0.5, 6.0]])
    camera = mesh_camera((640, 480))
    pixels = camera.project((relative + truth[:, None]).reshape(-1, 3)).reshape(4, 12, 2)
    scores = np.ones((4, 12))
    scores[3] = 0.0  # nothing visible: the fallback stays
    relative[0, 0] = np.nan  # a missing 3D joint is ignored
    fallback = np.full((4, 3), 7.0)
    found = anchor_translation(relative, pixels, scores, camera, fallback)
    assert np.allclose(found[:3], truth[:3], atol=1e-6)
    assert np.allclose(found[3], fallback[3])


def test_track_without_visible_keypoints_is_refused(fitter: MeshFitter) -> None:
    sequence = PoseSequence(
        frames=np.arange(2),
        keypoints=np.zeros((2, 17, 2), np.float32),
        scores=np.zeros((2, 17), np.float32),
        skeleton="coco",
        track_id=7,
    )
    with pytest.raises(ValueError, match="track 7: no visible keypoint"):
        fitter.fit(sequence, SIZE)


def test_wrong_body_model_file_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="missing.pkl") as error:
        load_mesh_body_model(tmp_path / "missing.pkl")
    assert "\n" not in str(error.value)
    with pytest.raises(ValueError, match="--gender"):
        load_mesh_body_model("open", gender="other")


def test_mesh_options_need_mesh_and_mesh_implies_lift() -> None:
    assert PredictOptions(mesh=True).lift
    with pytest.raises(ValueError, match="--side-view needs --mesh"):
        PredictOptions(side_view=True)
    with pytest.raises(ValueError, match="--body-model needs --mesh"):
        PredictOptions(body_model="SMPL_NEUTRAL.pkl")
    with pytest.raises(ValueError, match="--mesh-steps must be"):
        PredictOptions(mesh=True, mesh_steps=0)


def test_predict_video_with_mesh_writes_parameters_overlay_and_obj(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    options = PredictOptions(out=out, mesh=True, mesh_steps=40, save_obj=True, side_view=True)
    result = predict([clip], options, estimator=BodyEstimator(), stop_on_error=True)
    assert result.videos == 1 and len(result.meshes) == 1 and result.mesh_fitter is not None
    track = result.meshes[0]
    assert track.frames.tolist() == list(range(FRAMES)) and track.file_name == str(clip)
    assert np.isfinite(track.joints_3d_error).all()  # lifted: fitted to 3D and 2D
    assert float(np.mean(track.reprojection_error)) < 3.0  # on a person about 80 px tall (measured: 1.7 px)
    parameters, metadata = load_body_parameters(out / "mesh" / f"walk_track{track.track_id}.npz")
    assert metadata["model"] == "open" and parameters["body_pose"].shape == (FRAMES, 69)
    assert np.allclose(parameters["transl"], track.transl)
    video = out / "vis" / "walk_mesh.mp4"
    assert count_frames(video) == FRAMES
    assert cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FRAME_WIDTH) == 2 * SIZE[0]  # side view on the right
    objs = sorted((out / "mesh" / "walk_obj" / f"track_{track.track_id}").glob("frame_*.obj"))
    assert len(objs) == FRAMES
    mesh = read_obj(objs[0])[0]
    assert np.allclose(mesh.vertices, result.mesh_fitter.vertices(track, [0])[0], atol=1e-4)


def test_mesh_overlay_covers_the_person(tmp_path: Path) -> None:
    image = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    path = tmp_path / "person.png"
    cv2.imwrite(str(path), image)
    options = PredictOptions(out=tmp_path / "run", mesh=True, mesh_steps=40)
    result = predict([path], options, estimator=BodyEstimator(), stop_on_error=True)
    assert len(result.meshes) == 1 and result.images == 1
    overlay = cv2.imread(str(tmp_path / "run" / "vis" / "person_mesh.jpg"))
    assert overlay.shape == (SIZE[1], SIZE[0], 3)
    keypoints = body_keypoints()[0]
    camera: Camera = mesh_camera(SIZE)
    assert np.allclose(camera.center, (SIZE[0] / 2, SIZE[1] / 2))
    # the mesh is drawn where the person is: the pixels between the hips are painted, a far corner is not
    hips = keypoints[[11, 12]].mean(axis=0).round().astype(int)
    assert overlay[hips[1], hips[0]].max() > 40 and overlay[2, 2].max() < 20
