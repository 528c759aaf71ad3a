import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

from posekit.data import synthetic, synthetic_render
from posekit.data.synthetic import (
    COCO_KEYPOINT_NAMES,
    VAL_CLIPS,
    OccluderSpec,
    PersonSpec,
    PoseSampler,
    SynthesisConfig,
    augment_pose,
    coco_categories,
    generate_dataset,
    keypoint_visibility,
    look_at_camera,
    mirror_pose,
    render_scene,
    sample_appearance,
    sample_scene,
    scene_annotations,
    split_clips,
)
from posekit.data.synthetic_render import (
    OCCLUDER_ID,
    BodyPart,
    Material,
    make_background,
    rasterize_part,
)

KEYPOINT = {name: k for k, name in enumerate(COCO_KEYPOINT_NAMES)}


@pytest.fixture(scope="module")
def clips() -> list:
    pytest.importorskip("pybullet_data", reason="the DeepMimic clips come with the pybullet wheel (posekit[synth])")
    from posekit.data.mocap import load_deepmimic_clips

    return load_deepmimic_clips()


@pytest.fixture(scope="module")
def walk_pose(clips: list) -> tuple[tuple[str, ...], np.ndarray]:
    walk = next(clip for clip in clips if clip.name == "walk")
    points = augment_pose(
        walk.point_names,
        walk.points[0],
        np.random.default_rng(0),
        mirror=False,
        limb_jitter_degrees=0.0,
        height_scale=1.0,
    )
    return walk.point_names, points


def _person(
    walk_pose: tuple[tuple[str, ...], np.ndarray],
    azimuth_degrees: float,
    image_size: tuple[int, int] = (160, 200),
    shift_x: float = 0.0,
) -> PersonSpec:
    names, points = walk_pose
    target = 0.5 * (points.min(axis=0) + points.max(axis=0))
    camera = look_at_camera(target, 3.0, math.radians(azimuth_degrees), 0.0, 0.0, 300.0, image_size)
    if shift_x:
        camera = dataclasses.replace(camera, t=camera.t + np.array([shift_x, 0.0, 0.0]))
    appearance = dataclasses.replace(sample_appearance(np.random.default_rng(1)), hair_style="short")
    return PersonSpec(point_names=names, points=points, camera=camera, appearance=appearance)


# ------------------------------------------------------------------------------ clips and poses
def test_fifteen_clips_1620_frames_and_held_out_split(clips: list) -> None:
    assert len(clips) == 15
    assert sum(len(clip) for clip in clips) == 1620
    val = split_clips(clips, "val")
    train = split_clips(clips, "train")
    assert sorted(clip.name for clip in val) == sorted(VAL_CLIPS)
    assert len(train) == 12 and not {clip.name for clip in train} & set(VAL_CLIPS)
    assert sum(len(clip) for clip in val) == 325
    with pytest.raises(ValueError, match="not among the clips"):
        split_clips(clips, "val", val_clips=("moonwalk",))
    with pytest.raises(ValueError, match="split must be"):
        split_clips(clips, "test")


def test_mirror_swaps_sides_and_is_an_involution() -> None:
    names = ("root", "left_wrist", "right_wrist")
    points = np.array([[0.0, 1.0, 0.0], [0.1, 0.8, -0.3], [0.2, 0.9, 0.25]])
    mirrored = mirror_pose(names, points)
    np.testing.assert_allclose(mirrored[1], [0.2, 0.9, -0.25])  # the right wrist, reflected, is now the left
    np.testing.assert_allclose(mirrored[2], [0.1, 0.8, 0.3])
    np.testing.assert_allclose(mirror_pose(names, mirrored), points)
    with pytest.raises(ValueError, match="shape"):
        mirror_pose(names, points[:2])


def test_augmentation_keeps_bone_lengths_and_sides(clips: list) -> None:
    clip = clips[0]
    index = {name: i for i, name in enumerate(clip.point_names)}
    bones = [
        ("left_shoulder", "left_elbow"),
        ("left_elbow", "left_wrist"),
        ("right_hip", "right_knee"),
        ("right_knee", "right_ankle"),
        ("neck", "nose"),
        ("left_ankle", "left_heel"),
    ]
    original = clip.points[5].astype(np.float64)
    augmented = augment_pose(
        clip.point_names, original, np.random.default_rng(3), mirror=True, limb_jitter_degrees=15.0, height_scale=1.0
    )
    reference = mirror_pose(clip.point_names, original)  # mirroring swaps which bone is "left"
    for first, second in bones:
        before = np.linalg.norm(reference[index[first]] - reference[index[second]])
        after = np.linalg.norm(augmented[index[first]] - augmented[index[second]])
        assert after == pytest.approx(before, abs=1e-9)
    # Root centred horizontally; mirrored: the body's left (was -z) is still at -z relative to the right.
    assert augmented[index["root"], [0, 2]] == pytest.approx([0.0, 0.0], abs=1e-9)
    assert augmented[index["left_hip"], 2] < augmented[index["right_hip"], 2]
    scaled = augment_pose(
        clip.point_names, original, np.random.default_rng(3), mirror=False, limb_jitter_degrees=0.0, height_scale=1.1
    )
    unscaled = augment_pose(
        clip.point_names, original, np.random.default_rng(3), mirror=False, limb_jitter_degrees=0.0, height_scale=1.0
    )
    np.testing.assert_allclose(scaled, 1.1 * unscaled)


def test_pose_sampler_draws_only_its_clips(clips: list) -> None:
    sampler = PoseSampler(split_clips(clips, "val"))
    rng = np.random.default_rng(0)
    drawn = {sampler.sample(rng, SynthesisConfig()).clip for _ in range(30)}
    assert drawn == set(VAL_CLIPS)


# ------------------------------------------------------------------------------------- camera
def test_look_at_camera_geometry() -> None:
    target = np.array([0.2, 0.9, -0.1])
    camera = look_at_camera(target, 4.0, azimuth=0.3, elevation=0.4, roll=0.0, focal=500.0, image_size=(200, 100))
    np.testing.assert_allclose(camera.project(camera.world_to_camera(target)), [99.5, 49.5], atol=1e-9)
    assert camera.world_to_camera(target)[2] == pytest.approx(4.0)
    # World up is image up (smaller y) without roll; the camera centre is at the stated elevation.
    above = camera.project(camera.world_to_camera(target + [0.0, 0.5, 0.0]))
    assert above[1] < 49.5 and above[0] == pytest.approx(99.5, abs=1e-6)
    position = -camera.R.T @ camera.t
    assert math.degrees(math.asin((position - target)[1] / 4.0)) == pytest.approx(math.degrees(0.4))
    rolled = look_at_camera(target, 4.0, 0.3, 0.4, math.radians(90.0), 500.0, (200, 100))
    above_rolled = rolled.project(rolled.world_to_camera(target + [0.0, 0.5, 0.0]))
    assert above_rolled[1] == pytest.approx(49.5, abs=1e-6)  # a quarter turn puts "up" sideways


# --------------------------------------------------------------------------------- rasteriser
def test_rasterized_sphere_is_a_disc_with_front_depth() -> None:
    material = Material(base_color=(200.0, 10.0, 10.0), second_color=(0.0, 0.0, 0.0))
    part = BodyPart(
        name="ball", part_id=1, centers=np.array([[0.0, 0.0, 2.0]]), radii=np.array([0.2]), material=material
    )
    raster = rasterize_part(part, focal=100.0, center=(49.5, 49.5), image_size=(100, 100))
    assert raster is not None
    x0, y0, _, _ = raster.box
    # Disc of radius f r / Z = 10 px around (49.5, 49.5): area ~ pi 100.
    assert raster.mask.sum() == pytest.approx(math.pi * 100.0, rel=0.06)
    centre_depth = raster.depth[49 - y0, 49 - x0]
    assert centre_depth == pytest.approx(2.0 - 0.2, abs=0.002)  # front surface at the centre
    assert rasterize_part(part, 100.0, (500.0, 500.0), (100, 100)) is None  # off-image
    with pytest.raises(ValueError, match="behind the camera"):
        rasterize_part(
            BodyPart("bad", 1, np.array([[0.0, 0.0, 0.1]]), np.array([0.2]), material), 100.0, (49.5, 49.5), (100, 100)
        )


def test_hull_part_clipped_to_one_pixel_row_does_not_crash() -> None:
    # Regression: `posekit synth` with seed 0 died at train image 888 (index 887): this pelvis hull
    # pokes 0.49 px above the top border, so its raster box is one row tall and np.gradient of its
    # distance transform raised "Shape of array too small to calculate a numerical gradient".
    centers = np.array(
        [
            [-0.2134379804178543, -0.8089632658004479, 2.9293271702223613],
            [-0.15220785527906108, -0.7914474700328414, 2.873915971963817],
            [-0.2746680693346154, -0.8264789714580115, 2.984738458755661],
            [-0.24334905181679878, -0.7618146892921567, 2.9111789845503266],
        ]
    )
    radii = np.array([0.10436656106562894, 0.09392990495906604, 0.09392990495906604, 0.10436656106562894])
    material = Material(base_color=(200.0, 10.0, 10.0), second_color=(0.0, 0.0, 0.0))
    pelvis = BodyPart(name="pelvis", part_id=1, centers=centers, radii=radii, material=material, kind="hull")
    # No pixel centre lies inside the silhouette (its lowest point is at y = -0.49): nothing to draw.
    assert rasterize_part(pelvis, 566.7544046007034, (127.5, 127.5), (256, 256)) is None
    # The same hull moved 1.5 px down covers part of row 0 and is shaded with unit normals.
    raster = rasterize_part(pelvis, 566.7544046007034, (127.5, 129.0), (256, 256))
    assert raster is not None and raster.box[1] == 0 and raster.mask[0].any()
    lengths = np.linalg.norm(raster.normals[raster.mask], axis=-1)
    assert np.all(np.isfinite(raster.normals)) and np.allclose(lengths, 1.0, atol=1e-5)
    # x and y swapped: a raster one pixel wide at the left border, where the polygon fill of the
    # hull (which takes pixels its outline touches) does draw a few pixels.
    sideways = BodyPart(
        name="pelvis", part_id=1, centers=centers[:, [1, 0, 2]], radii=radii, material=material, kind="hull"
    )
    raster = rasterize_part(sideways, 566.7544046007034, (127.5, 127.5), (256, 256))
    assert raster is not None and raster.mask.shape[1] == 1 and raster.mask.any()
    lengths = np.linalg.norm(raster.normals[raster.mask], axis=-1)
    assert np.all(np.isfinite(raster.normals)) and np.allclose(lengths, 1.0, atol=1e-5)


@pytest.mark.parametrize("shape", [(1, 5), (4, 1), (1, 1), (3, 4)])
def test_gradient_of_tiny_rasters(shape: tuple[int, int]) -> None:
    values = np.arange(np.prod(shape), dtype=np.float32).reshape(shape) ** 2
    gradient_rows, gradient_columns = synthetic_render._gradient_2d(values)
    assert gradient_rows.shape == gradient_columns.shape == shape
    expected_rows = np.gradient(values, axis=0) if shape[0] > 1 else np.zeros(shape)
    expected_columns = np.gradient(values, axis=1) if shape[1] > 1 else np.zeros(shape)
    np.testing.assert_allclose(gradient_rows, expected_rows)
    np.testing.assert_allclose(gradient_columns, expected_columns)


# ---------------------------------------------------------------------------------- visibility
def test_keypoint_visibility_by_hand() -> None:
    ids = np.zeros((5, 6), dtype=np.int32)
    depth = np.full((5, 6), np.inf, dtype=np.float32)
    ids[1:4, 1:4] = 7  # the part carrying the keypoints
    depth[1:4, 1:4] = 2.0
    ids[2, 3] = OCCLUDER_ID
    depth[2, 3] = 0.0
    keypoints = np.array(
        [
            [1.0, 1.0],  # on part 7, surface 2.0, keypoint at 2.05 -> visible
            [2.0, 2.0],  # on part 7 but the keypoint lies 0.5 m behind its surface -> hidden
            [3.0, 2.0],  # under the occluder -> hidden
            [5.0, 4.0],  # background pixel, inside the image -> hidden (not on its part)
            [-0.4, 1.2],  # rounds to column 0: inside
            [-0.6, 1.0],  # outside the image
            [2.0, 5.2],  # below the image
        ]
    )
    depths = np.array([2.05, 2.5, 2.05, 2.0, 2.0, 2.0, 2.0])
    owners = [[7]] * 7
    visibility = keypoint_visibility(keypoints, depths, owners, np.full(7, 0.1), ids, depth)
    assert visibility.tolist() == [2, 1, 1, 1, 1, 0, 0]
    with pytest.raises(ValueError, match="entries"):
        keypoint_visibility(keypoints, depths[:3], owners, np.full(7, 0.1), ids, depth)


def test_views_and_occluder_set_visibility(walk_pose: tuple) -> None:
    rng = np.random.default_rng(0)
    front = render_scene([_person(walk_pose, 0.0)], (160, 200), rng, effects=False).people[0]
    assert front.visibility.tolist() == [2] * 17  # facing the camera, arms by the sides: all visible
    # Seen from its right side (+z), the left ear, eye, shoulder and hip are behind the body.
    side = render_scene([_person(walk_pose, 90.0)], (160, 200), rng, effects=False).people[0]
    for name in ("left_ear", "left_eye", "left_shoulder", "left_hip"):
        assert side.visibility[KEYPOINT[name]] == 1, name
    for name in ("right_ear", "right_eye", "right_shoulder", "right_hip", "nose"):
        assert side.visibility[KEYPOINT[name]] == 2, name
    back = render_scene([_person(walk_pose, 180.0)], (160, 200), rng, effects=False).people[0]
    assert back.visibility[[KEYPOINT["nose"], KEYPOINT["left_eye"], KEYPOINT["right_eye"]]].tolist() == [1, 1, 1]
    # A small occluder over the left wrist hides it and nothing else.
    wrist = front.keypoints[KEYPOINT["left_wrist"]]
    square = wrist + np.array([[-4.0, -4.0], [4.0, -4.0], [4.0, 4.0], [-4.0, 4.0]])
    occluder = OccluderSpec(polygon=square, material=Material((0.0, 0.0, 255.0), (0.0, 0.0, 255.0)))
    scene = render_scene([_person(walk_pose, 0.0)], (160, 200), rng, occluders=[occluder], effects=False)
    occluded = scene.people[0]
    expected = [2] * 17
    expected[KEYPOINT["left_wrist"]] = 1
    assert occluded.visibility.tolist() == expected
    assert scene.id_buffer[int(round(wrist[1])), int(round(wrist[0]))] == OCCLUDER_ID
    assert occluded.area < front.area  # the occluder covers some of the person
    np.testing.assert_allclose(occluded.bbox, front.bbox)  # the box is amodal


def test_truncated_person_has_v0_keypoints_zeroed(walk_pose: tuple) -> None:
    person = _person(walk_pose, 0.0, shift_x=0.9)  # pushed right: part of the body leaves the image
    scene = render_scene([person], (160, 200), np.random.default_rng(0), effects=False)
    labelled = scene.people[0]
    outside = labelled.keypoints[:, 0] > 159.5
    assert outside.any() and not outside.all()
    assert (labelled.visibility[outside] == 0).all() and (labelled.visibility[~outside] > 0).all()
    annotation = scene_annotations(scene, image_id=3, first_annotation_id=5)[0]
    flat = np.array(annotation["keypoints"]).reshape(17, 3)
    assert (flat[outside] == 0).all()
    assert annotation["num_keypoints"] == int((~outside).sum())
    assert annotation["id"] == 5 and annotation["image_id"] == 3
    x, y, w, h = annotation["bbox"]
    assert x + w <= 160.0 - 0.5 + 1e-9  # clipped to the image's pixel edges


def test_keypoints_land_on_the_figure_and_inside_the_box(clips: list) -> None:
    sampler = PoseSampler(split_clips(clips, "train"))
    config = SynthesisConfig(image_size=(128, 160), people_per_image=(1, 3), occluder_probability=0.5)
    visible_total = 0
    for seed in range(6):
        scene = sample_scene(sampler, config, np.random.default_rng(seed))
        for person in scene.people:
            # Keypoints are the exact projections of the 3D points.
            projected = (
                person.camera.focal * person.keypoints_3d[:, :2] / person.keypoints_3d[:, 2:] + person.camera.center
            )
            np.testing.assert_allclose(person.keypoints, projected, atol=1e-9)
            x, y, w, h = person.bbox
            for (u, v), flag in zip(person.keypoints, person.visibility, strict=True):
                if flag == 0:
                    continue
                assert x <= u <= x + w and y <= v <= y + h  # labelled keypoints lie inside the box
                if flag == 2:
                    visible_total += 1
                    pixel_id = scene.id_buffer[int(round(v)), int(round(u))]
                    assert pixel_id in person.part_ids  # drawn on this person's body
    assert visible_total > 30


def test_visible_keypoints_are_not_background_pixels(walk_pose: tuple) -> None:
    background = np.zeros((200, 160, 3), dtype=np.uint8)
    background[..., 1] = 255  # pure green: no clothing or skin colour of this appearance is pure green
    scene = render_scene(
        [_person(walk_pose, 30.0)], (160, 200), np.random.default_rng(0), background=background, effects=False
    )
    person = scene.people[0]
    assert (person.visibility == 2).sum() >= 10
    for (u, v), flag in zip(person.keypoints, person.visibility, strict=True):
        if flag == 2:
            assert not np.array_equal(scene.image[int(round(v)), int(round(u))], [0, 255, 0])
    assert np.array_equal(scene.image[0, 0], [0, 255, 0])  # the corner is background
    assert person.area == int(np.isin(scene.id_buffer, person.part_ids).sum())


def test_scene_is_deterministic_per_seed(clips: list) -> None:
    sampler = PoseSampler(split_clips(clips, "val"))
    config = SynthesisConfig(image_size=(96, 128))
    first = sample_scene(sampler, config, np.random.default_rng(11))
    second = sample_scene(sampler, config, np.random.default_rng(11))
    other = sample_scene(sampler, config, np.random.default_rng(12))
    assert np.array_equal(first.image, second.image)
    assert json.dumps(scene_annotations(first, 1, 1)) == json.dumps(scene_annotations(second, 1, 1))
    assert not np.array_equal(first.image, other.image)


def test_background_without_sample_pictures_is_cluttered() -> None:
    background = make_background((64, 48), np.random.default_rng(0), pictures=())
    assert background.shape == (48, 64, 3) and background.dtype == np.float32
    assert background.std() > 5.0 and background.min() >= 0.0 and background.max() <= 255.0


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="people_per_image"):
        SynthesisConfig(people_per_image=(0, 2))
    with pytest.raises(ValueError, match="image_size"):
        SynthesisConfig(image_size=(8, 256))
    with pytest.raises(ValueError, match="occluder_probability"):
        SynthesisConfig(occluder_probability=1.5)


# ------------------------------------------------------------------------------------ dataset
def _generate(folder: Path, clips: list, **kwargs: object) -> dict:
    config = SynthesisConfig(image_size=(96, 112), people_per_image=(1, 2), use_sample_pictures=False)
    return generate_dataset(folder, num_train=4, num_val=3, seed=5, config=config, clips=clips, **kwargs)


def test_generate_dataset_is_coco_deterministic_and_held_out(tmp_path: Path, clips: list) -> None:
    pycocotools_coco = pytest.importorskip("pycocotools.coco")
    written = _generate(tmp_path / "a", clips)
    again = _generate(tmp_path / "b", clips, workers=2)
    for split in ("train", "val"):
        assert written[split].read_bytes() == again[split].read_bytes()
        document = json.loads(written[split].read_text())
        coco = pycocotools_coco.COCO(str(written[split]))
        assert len(coco.getImgIds()) == (4 if split == "train" else 3)
        assert document["categories"] == coco_categories()
        assert document["categories"][0]["keypoints"] == list(COCO_KEYPOINT_NAMES)
        folder = tmp_path / "a" / "images" / split
        for image in document["images"]:
            path = folder / image["file_name"]
            assert path.is_file() and (image["width"], image["height"]) == (96, 112)
            assert path.read_bytes() == (tmp_path / "b" / "images" / split / image["file_name"]).read_bytes()
        assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary files left
        clips_used = {annotation["motion"]["clip"] for annotation in document["annotations"]}
        if split == "val":
            assert clips_used <= set(VAL_CLIPS)
        else:
            assert not clips_used & set(VAL_CLIPS)
        assert [a["id"] for a in document["annotations"]] == list(range(1, len(document["annotations"]) + 1))
        assert len({a["image_id"] for a in document["annotations"]}) == len(document["images"])  # >= 1 person each
        for annotation in document["annotations"]:
            keypoints = np.array(annotation["keypoints"]).reshape(17, 3)
            assert annotation["num_keypoints"] == int((keypoints[:, 2] > 0).sum())
            points_3d = np.array(annotation["keypoints_3d"]).reshape(17, 3)
            camera = annotation["camera"]
            projected = np.array(camera["focal"]) * points_3d[:, :2] / points_3d[:, 2:] + np.array(camera["center"])
            labelled = keypoints[:, 2] > 0
            np.testing.assert_allclose(keypoints[labelled, :2], projected[labelled], atol=0.01)


def test_crash_leaves_no_annotation_file(tmp_path: Path, clips: list, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = tmp_path / "annotations" / "train.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")  # from an earlier run: must not survive to describe the new images
    real = synthetic._render_and_write
    calls = []

    def failing(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(synthetic, "_render_and_write", failing)
    with pytest.raises(OSError, match="disk full"):
        _generate(tmp_path, clips)
    assert not stale.exists()
    assert not (tmp_path / "annotations" / "val.json").exists()


def test_generate_rejects_bad_counts(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one image"):
        generate_dataset(tmp_path, 0, 0, clips=[])
    with pytest.raises(ValueError, match="workers"):
        generate_dataset(tmp_path, 1, 0, workers=0, clips=[])
