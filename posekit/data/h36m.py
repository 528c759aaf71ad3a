"""Human3.6M in the official VideoPose3D prepared format: cameras, 32 -> 17 joints, splits, actions.

Legend: ``T`` frames, ``J`` joints (17 after reduction, 32 raw), ``K`` input 2D keypoints.

Files (made by VideoPose3D's ``data/prepare_data_h36m.py`` and ``prepare_data_2d_h36m_*.py``;
posekit reads them with :func:`posekit.io.safe_pickle.load_npz_objects`, never unpickling code):

* ``data_3d_h36m.npz``: ``positions_3d[subject][action]`` ``(T, 32, 3)`` world metres;
* ``data_2d_h36m_gt.npz`` (ground-truth projections), ``data_2d_h36m_cpn_ft_h36m_dbb.npz``
  (CPN fine-tuned on Human3.6M, 17 keypoints in Human3.6M order), ``data_2d_h36m_detectron_pt_coco.npz``
  (Detectron, 17 COCO keypoints): ``positions_2d[subject][action]`` a list of four ``(T, K, 2)``
  pixel arrays (one per camera, in the order of :data:`H36M_CAMERA_INTRINSICS`) and ``metadata``.

What :func:`load_h36m` reproduces from ``common/h36m_dataset.py`` and ``run.py``:

* the 32 motion-capture joints are reduced to the 17 of :data:`posekit.skeletons.H36M`
  (:data:`H36M_KEPT_JOINTS`; VideoPose3D's ``remove_joints`` of the 15 static/duplicate joints,
  with both shoulders re-parented to the thorax);
* world positions go to each camera's frame with its extrinsics: ``X_cam = R (X_world - c)``
  where the quaternion ``orientation`` rotates camera axes into world axes and ``translation``
  (millimetres, converted to metres) is the camera centre ``c``;
* 2D keypoints are normalised with the camera's resolution; the intrinsics are normalised the
  same way (``f / w * 2``, ``c / w * 2 - [1, h / w]``) for the semi-supervised projection;
* subjects ``S1, S5, S6, S7, S8`` train, ``S9, S11`` test (:data:`H36M_SUBJECTS_TRAIN`,
  :data:`H36M_SUBJECTS_TEST`);
* the corrupted ``S11`` "Directions" video is discarded, as the official preparation scripts do
  (``if subject == 'S11' and action == 'Directions': continue``); files prepared otherwise may
  still hold it, so the loader drops it from both the 3D and the 2D data (``drop_broken=True``).

Calibration numbers: the camera parameters below are data of the Human3.6M dataset (Ionescu et
al., TPAMI 2014) as listed in VideoPose3D's ``common/h36m_dataset.py``
(https://github.com/facebookresearch/VideoPose3D), copied digit for digit.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from posekit.data.lifting_dataset import (
    DatasetCamera,
    LiftingDataset,
    keypoint_symmetry,
    load_positions_2d,
    load_positions_3d,
)
from posekit.geometry import Camera
from posekit.skeletons import H36M

__all__ = [
    "H36M_BROKEN_VIDEOS",
    "H36M_CAMERA_EXTRINSICS",
    "H36M_CAMERA_INTRINSICS",
    "H36M_FPS",
    "H36M_KEPT_JOINTS",
    "H36M_PARENTS_32",
    "H36M_SUBJECTS_TEST",
    "H36M_SUBJECTS_TRAIN",
    "CameraExtrinsics",
    "CameraIntrinsics",
    "h36m_cameras",
    "load_h36m",
    "reduce_h36m_joints",
    "reduced_parents",
]

H36M_FPS = 50.0
H36M_SUBJECTS_TRAIN: tuple[str, ...] = ("S1", "S5", "S6", "S7", "S8")
H36M_SUBJECTS_TEST: tuple[str, ...] = ("S9", "S11")
# The 15 actions are ``posekit.skeletons.H36M_ACTIONS`` (canonical names of the prepared files:
# "Photo" for TakingPhoto, "WalkDog" for WalkingDog); the files hold two variants of each
# ("Walking", "Walking 1"), merged in evaluation. One video is broken in the original data:
H36M_BROKEN_VIDEOS: tuple[tuple[str, str], ...] = (("S11", "Directions"),)

# Parents of the 32 motion-capture joints (VideoPose3D ``h36m_skeleton``).
H36M_PARENTS_32: tuple[int, ...] = (
    -1, 0, 1, 2, 3, 4, 0, 6, 7, 8, 9, 0, 11, 12, 13, 14, 12,
    16, 17, 18, 19, 20, 19, 22, 12, 24, 25, 26, 27, 28, 27, 30,
)  # fmt: skip
# The 17 joints kept (all but 4, 5, 9, 10, 11, 16, 20, 21, 22, 23, 24, 28, 29, 30, 31), in the
# order of posekit.skeletons.H36M.
H36M_KEPT_JOINTS: tuple[int, ...] = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)


@dataclass(frozen=True)
class CameraIntrinsics:
    """Intrinsics of one Human3.6M camera, in pixels (before VideoPose3D's normalisation)."""

    camera_id: str
    image_size: tuple[int, int]
    center: tuple[float, float]
    focal_length: tuple[float, float]
    radial_distortion: tuple[float, float, float]
    tangential_distortion: tuple[float, float]
    azimuth: int  # for visualisation only


@dataclass(frozen=True)
class CameraExtrinsics:
    """Extrinsics: quaternion ``(w, x, y, z)`` camera-to-world rotation, camera centre in millimetres."""

    orientation: tuple[float, float, float, float]
    translation: tuple[float, float, float]


# Calibration (data): VideoPose3D common/h36m_dataset.py, h36m_cameras_intrinsic_params /
# h36m_cameras_extrinsic_params (subjects S2-S4 have no published extrinsics and are left out).
H36M_CAMERA_INTRINSICS: tuple[CameraIntrinsics, ...] = (
    CameraIntrinsics(
        camera_id="54138969",
        image_size=(1000, 1002),
        center=(512.54150390625, 515.4514770507812),
        focal_length=(1145.0494384765625, 1143.7811279296875),
        radial_distortion=(-0.20709891617298126, 0.24777518212795258, -0.0030751503072679043),
        tangential_distortion=(-0.0009756988729350269, -0.00142447161488235),
        azimuth=70,
    ),
    CameraIntrinsics(
        camera_id="55011271",
        image_size=(1000, 1000),
        center=(508.8486328125, 508.0649108886719),
        focal_length=(1149.6756591796875, 1147.5916748046875),
        radial_distortion=(-0.1942136287689209, 0.2404085397720337, 0.006819975562393665),
        tangential_distortion=(-0.0016190266469493508, -0.0027408944442868233),
        azimuth=-70,
    ),
    CameraIntrinsics(
        camera_id="58860488",
        image_size=(1000, 1000),
        center=(519.8158569335938, 501.40264892578125),
        focal_length=(1149.1407470703125, 1148.7989501953125),
        radial_distortion=(-0.2083381861448288, 0.25548800826072693, -0.0024604974314570427),
        tangential_distortion=(0.0014843869721516967, -0.0007599993259645998),
        azimuth=110,
    ),
    CameraIntrinsics(
        camera_id="60457274",
        image_size=(1000, 1002),
        center=(514.9682006835938, 501.88201904296875),
        focal_length=(1145.5113525390625, 1144.77392578125),
        radial_distortion=(-0.198384091258049, 0.21832367777824402, -0.008947807364165783),
        tangential_distortion=(-0.0005872055771760643, -0.0018133620033040643),
        azimuth=-110,
    ),
)
H36M_CAMERA_EXTRINSICS: dict[str, tuple[CameraExtrinsics, ...]] = {
    "S1": (
        CameraExtrinsics(
            orientation=(0.1407056450843811, -0.1500701755285263, -0.755240797996521, 0.6223280429840088),
            translation=(1841.1070556640625, 4955.28466796875, 1563.4454345703125),
        ),
        CameraExtrinsics(
            orientation=(0.6157187819480896, -0.764836311340332, -0.14833825826644897, 0.11794740706682205),
            translation=(1761.278564453125, -5078.0068359375, 1606.2650146484375),
        ),
        CameraExtrinsics(
            orientation=(0.14651472866535187, -0.14647851884365082, 0.7653023600578308, -0.6094175577163696),
            translation=(-1846.7777099609375, 5215.04638671875, 1491.972412109375),
        ),
        CameraExtrinsics(
            orientation=(0.5834008455276489, -0.7853162288665771, 0.14548823237419128, -0.14749594032764435),
            translation=(-1794.7896728515625, -3722.698974609375, 1574.8927001953125),
        ),
    ),
    "S5": (
        CameraExtrinsics(
            orientation=(0.1467377245426178, -0.162370964884758, -0.7551892995834351, 0.6178938746452332),
            translation=(2097.3916015625, 4880.94482421875, 1605.732421875),
        ),
        CameraExtrinsics(
            orientation=(0.6159758567810059, -0.7626792192459106, -0.15728192031383514, 0.1189815029501915),
            translation=(2031.7008056640625, -5167.93310546875, 1612.923095703125),
        ),
        CameraExtrinsics(
            orientation=(0.14291371405124664, -0.12907841801643372, 0.7678384780883789, -0.6110143065452576),
            translation=(-1620.5948486328125, 5171.65869140625, 1496.43701171875),
        ),
        CameraExtrinsics(
            orientation=(0.5920479893684387, -0.7814217805862427, 0.1274748593568802, -0.15036417543888092),
            translation=(-1637.1737060546875, -3867.3173828125, 1547.033203125),
        ),
    ),
    "S6": (
        CameraExtrinsics(
            orientation=(0.1337897777557373, -0.15692396461963654, -0.7571090459823608, 0.6198879480361938),
            translation=(1935.4517822265625, 4950.24560546875, 1618.0838623046875),
        ),
        CameraExtrinsics(
            orientation=(0.6147197484970093, -0.7628812789916992, -0.16174767911434174, 0.11819244921207428),
            translation=(1969.803955078125, -5128.73876953125, 1632.77880859375),
        ),
        CameraExtrinsics(
            orientation=(0.1529948115348816, -0.13529130816459656, 0.7646096348762512, -0.6112781167030334),
            translation=(-1769.596435546875, 5185.361328125, 1476.993408203125),
        ),
        CameraExtrinsics(
            orientation=(0.5916101336479187, -0.7804774045944214, 0.12832270562648773, -0.1561593860387802),
            translation=(-1721.668701171875, -3884.13134765625, 1540.4879150390625),
        ),
    ),
    "S7": (
        CameraExtrinsics(
            orientation=(0.1435241848230362, -0.1631336808204651, -0.7548328638076782, 0.6188824772834778),
            translation=(1974.512939453125, 4926.3544921875, 1597.8326416015625),
        ),
        CameraExtrinsics(
            orientation=(0.6141672730445862, -0.7638262510299683, -0.1596645563840866, 0.1177929937839508),
            translation=(1937.0584716796875, -5119.7900390625, 1631.5665283203125),
        ),
        CameraExtrinsics(
            orientation=(0.14550060033798218, -0.12874816358089447, 0.7660516500473022, -0.6127139329910278),
            translation=(-1741.8111572265625, 5208.24951171875, 1464.8245849609375),
        ),
        CameraExtrinsics(
            orientation=(0.5912848114967346, -0.7821764349937439, 0.12445473670959473, -0.15196487307548523),
            translation=(-1734.7105712890625, -3832.42138671875, 1548.5830078125),
        ),
    ),
    "S8": (
        CameraExtrinsics(
            orientation=(0.14110587537288666, -0.15589867532253265, -0.7561917304992676, 0.619644045829773),
            translation=(2150.65185546875, 4896.1611328125, 1611.9046630859375),
        ),
        CameraExtrinsics(
            orientation=(0.6169601678848267, -0.7647668123245239, -0.14846350252628326, 0.11158157885074615),
            translation=(2219.965576171875, -5148.453125, 1613.0440673828125),
        ),
        CameraExtrinsics(
            orientation=(0.1471444070339203, -0.13377119600772858, 0.7670128345489502, -0.6100369691848755),
            translation=(-1571.2215576171875, 5137.0185546875, 1498.1761474609375),
        ),
        CameraExtrinsics(
            orientation=(0.5927824378013611, -0.7825870513916016, 0.12147816270589828, -0.14631995558738708),
            translation=(-1476.913330078125, -3896.7412109375, 1547.97216796875),
        ),
    ),
    "S9": (
        CameraExtrinsics(
            orientation=(0.15540587902069092, -0.15548215806484222, -0.7532095313072205, 0.6199594736099243),
            translation=(2044.45849609375, 4935.1171875, 1481.2275390625),
        ),
        CameraExtrinsics(
            orientation=(0.618784487247467, -0.7634735107421875, -0.14132238924503326, 0.11933968216180801),
            translation=(1990.959716796875, -5123.810546875, 1568.8048095703125),
        ),
        CameraExtrinsics(
            orientation=(0.13357827067375183, -0.1367100477218628, 0.7689454555511475, -0.6100738644599915),
            translation=(-1670.9921875, 5211.98583984375, 1528.387939453125),
        ),
        CameraExtrinsics(
            orientation=(0.5879399180412292, -0.7823407053947449, 0.1427614390850067, -0.14794869720935822),
            translation=(-1696.04345703125, -3827.099853515625, 1591.4127197265625),
        ),
    ),
    "S11": (
        CameraExtrinsics(
            orientation=(0.15232472121715546, -0.15442320704460144, -0.7547563314437866, 0.6191070079803467),
            translation=(2098.440185546875, 4926.5546875, 1500.278564453125),
        ),
        CameraExtrinsics(
            orientation=(0.6189449429512024, -0.7600917220115662, -0.15300633013248444, 0.1255258321762085),
            translation=(2083.182373046875, -4912.1728515625, 1561.07861328125),
        ),
        CameraExtrinsics(
            orientation=(0.14943228662014008, -0.15650227665901184, 0.7681233882904053, -0.6026304364204407),
            translation=(-1609.8153076171875, 5177.3359375, 1537.896728515625),
        ),
        CameraExtrinsics(
            orientation=(0.5894251465797424, -0.7818877100944519, 0.13991211354732513, -0.14715361595153809),
            translation=(-1590.738037109375, -3854.1689453125, 1578.017578125),
        ),
    ),
}


def h36m_cameras(subject: str) -> tuple[Camera, ...]:
    """The four calibrated cameras of ``subject`` (pixels, metres, with ``image_size``).

    Raises:
        ValueError: a subject without extrinsics (Human3.6M publishes them for S1, S5-S9, S11).
    """
    if subject not in H36M_CAMERA_EXTRINSICS:
        raise ValueError(
            f"no Human3.6M camera extrinsics for subject {subject!r}; known: {', '.join(H36M_CAMERA_EXTRINSICS)}"
        )
    cameras = []
    for intrinsics, extrinsics in zip(H36M_CAMERA_INTRINSICS, H36M_CAMERA_EXTRINSICS[subject], strict=True):
        cameras.append(
            Camera.from_h36m(
                {
                    "focal_length": intrinsics.focal_length,
                    "center": intrinsics.center,
                    "radial_distortion": intrinsics.radial_distortion,
                    "tangential_distortion": intrinsics.tangential_distortion,
                    "orientation": extrinsics.orientation,
                    "translation": extrinsics.translation,
                    "res_w": intrinsics.image_size[0],
                    "res_h": intrinsics.image_size[1],
                },
                translation_scale=1e-3,
            )
        )
    return tuple(cameras)


def reduce_h36m_joints(positions: np.ndarray) -> np.ndarray:
    """The 17 Human3.6M joints of VideoPose3D from the 32 motion-capture joints.

    Args:
        positions: ``(..., 32, D)``.

    Returns:
        ``(..., 17, D)`` in the order of :data:`posekit.skeletons.H36M`.
    """
    positions = np.asarray(positions)
    if positions.ndim < 2 or positions.shape[-2] != 32:
        raise ValueError(f"positions must have shape (..., 32, D), got {positions.shape}")
    return positions[..., list(H36M_KEPT_JOINTS), :]


def reduced_parents(parents: Sequence[int], kept: Sequence[int]) -> tuple[int, ...]:
    """Parents after removing joints (VideoPose3D ``Skeleton.remove_joints``): climb to a kept ancestor.

    Args:
        parents: parent index per joint, ``-1`` for the root.
        kept: indices of the joints to keep, increasing.

    Returns:
        Parent of each kept joint, as an index into ``kept`` (``-1`` for the root).
    """
    kept_list = [int(joint) for joint in kept]
    position = {joint: index for index, joint in enumerate(kept_list)}
    result = []
    for joint in kept_list:
        parent = int(parents[joint])
        while parent != -1 and parent not in position:
            parent = int(parents[parent])
        result.append(-1 if parent == -1 else position[parent])
    return tuple(result)


def load_h36m(
    path_3d: str | os.PathLike[str],
    path_2d: str | os.PathLike[str],
    *,
    drop_broken: bool = True,
) -> LiftingDataset:
    """Load Human3.6M from the official prepared files.

    Args:
        path_3d: ``data_3d_h36m.npz``.
        path_2d: a ``data_2d_h36m_<source>.npz`` (``gt``, ``cpn_ft_h36m_dbb``, ``detectron_pt_coco``...).
        drop_broken: discard the corrupted ``S11`` "Directions" video (official behaviour).

    Returns:
        A :class:`~posekit.data.lifting_dataset.LiftingDataset` with 17 camera-ready joints, the
        four cameras per subject, normalised intrinsics and the 2D file's keypoint symmetry.

    Raises:
        FileNotFoundError: a file is missing.
        ValueError: malformed files, 2D actions without 3D, or fewer 2D frames than 3D frames.
    """
    source_3d, source_2d = os.fspath(path_3d), os.fspath(path_2d)
    raw_3d = load_positions_3d(source_3d)
    raw_2d, metadata = load_positions_2d(source_2d)
    broken = set(H36M_BROKEN_VIDEOS) if drop_broken else set()
    positions_world: dict[str, dict[str, np.ndarray]] = {}
    for subject, actions in raw_3d.items():
        positions_world[subject] = {}
        for action, positions in actions.items():
            if (subject, action) in broken:
                continue
            if positions.shape[1] == 32:
                positions = reduce_h36m_joints(positions)
            elif positions.shape[1] != 17:
                raise ValueError(
                    f"{source_3d}: {subject}/{action} has {positions.shape[1]} joints, expected 32 (raw) or 17"
                )
            positions_world[subject][action] = np.ascontiguousarray(positions, dtype=np.float32)
    keypoints_2d: dict[str, dict[str, list[np.ndarray]]] = {}
    num_keypoints: int | None = None
    for subject, actions_2d in raw_2d.items():
        keypoints_2d[subject] = {}
        for action, per_camera in actions_2d.items():
            if (subject, action) in broken:
                continue
            if subject in positions_world and action not in positions_world[subject]:
                raise ValueError(f"{source_2d}: {subject}/{action} has 2D keypoints but {source_3d} has no 3D for it")
            sequences: list[np.ndarray] = []
            for camera_index, keypoints in enumerate(per_camera):
                if keypoints is None:
                    raise ValueError(f"{source_2d}: {subject}/{action} has no keypoints for camera {camera_index}")
                if num_keypoints is None:
                    num_keypoints = int(keypoints.shape[1])
                elif keypoints.shape[1] != num_keypoints:
                    raise ValueError(
                        f"{source_2d}: {subject}/{action} camera {camera_index} has {keypoints.shape[1]} keypoints, "
                        f"others have {num_keypoints}"
                    )
                sequences.append(keypoints)
            keypoints_2d[subject][action] = sequences
    if num_keypoints is None:
        raise ValueError(f"{source_2d}: no 2D keypoints")
    left, right = keypoint_symmetry(metadata, num_keypoints, source_2d)
    subjects = sorted(set(positions_world) | set(keypoints_2d))
    cameras = {
        subject: tuple(DatasetCamera.from_camera(camera) for camera in h36m_cameras(subject)) for subject in subjects
    }
    return LiftingDataset(
        name=f"Human3.6M ({os.path.basename(source_2d)})",
        skeleton=H36M,
        cameras=cameras,
        positions_world=positions_world,
        keypoints_2d=keypoints_2d,
        keypoints_left=left,
        keypoints_right=right,
        fps=H36M_FPS,
    )
