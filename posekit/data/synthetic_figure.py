"""How synthetic people look: appearance (skin, hair, clothes, build) and the body parts of a figure.

A figure is built from named 3D points (the DeepMimic humanoid's joints and sites, see
:mod:`posekit.data.mocap`) as :class:`~posekit.data.synthetic_render.BodyPart` sphere shapes:
torso and pelvis are convex hulls of spheres, the other parts tapered capsules. Sizes are in
metres for a 1.7 m adult (scaled by the appearance's girth). Also here: which parts carry each
COCO keypoint and the body radius at each joint, which keypoint visibility uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from posekit.data.synthetic_render import BodyPart, Material, random_color, random_material

__all__ = [
    "FACE_TOLERANCES",
    "JOINT_RADII",
    "KEYPOINT_OWNERS",
    "Appearance",
    "build_figure",
    "sample_appearance",
    "visibility_tolerance",
]


# -------------------------------------------------------------------------------------- appearance
_SKIN_TONES = (
    (255, 224, 196),
    (241, 194, 167),
    (224, 172, 138),
    (198, 134, 96),
    (161, 102, 72),
    (141, 85, 56),
    (101, 67, 43),
    (80, 51, 33),
)
_HAIR_COLORS = (
    (20, 15, 12),
    (45, 30, 20),
    (90, 60, 35),
    (150, 110, 60),
    (205, 175, 115),
    (130, 50, 25),
    (165, 165, 165),
)
_TROUSER_COLORS = ((40, 60, 110), (28, 28, 32), (190, 170, 130), (100, 100, 105), (70, 85, 55), (60, 40, 30))
_SHOE_COLORS = ((25, 25, 25), (235, 235, 235), (90, 60, 40), (60, 60, 70))


@dataclass(frozen=True, eq=False)
class Appearance:
    """How one person looks.

    Attributes:
        skin: skin material (head, neck, hands, bare arms and legs).
        hair: hair material.
        shirt: upper-body clothing.
        trousers: lower-body clothing.
        shoes: shoe material.
        hair_style: ``"none"``, ``"short"`` or ``"long"``.
        long_sleeves: the shirt covers the forearms.
        long_trousers: the trousers cover the shins.
        girth: torso width scale.
        limb_girth: arm and leg thickness scale.
    """

    skin: Material
    hair: Material
    shirt: Material
    trousers: Material
    shoes: Material
    hair_style: str = "short"
    long_sleeves: bool = True
    long_trousers: bool = True
    girth: float = 1.0
    limb_girth: float = 1.0


def _jitter(
    color: tuple[int, int, int] | tuple[float, float, float], rng: np.random.Generator, amount: float = 12.0
) -> tuple[float, float, float]:
    values = np.clip(np.asarray(color, dtype=np.float64) + rng.uniform(-amount, amount, size=3), 0.0, 255.0)
    return (float(values[0]), float(values[1]), float(values[2]))


def sample_appearance(rng: np.random.Generator) -> Appearance:
    """A random person: skin tone, hair, clothes (colours, patterns, sleeve and trouser lengths), build."""
    skin_color = _jitter(_SKIN_TONES[int(rng.integers(len(_SKIN_TONES)))], rng)
    skin = Material(
        base_color=skin_color, second_color=skin_color, pattern="plain", grain=float(rng.uniform(0.01, 0.03))
    )
    hair = random_material(
        rng,
        base_color=_jitter(_HAIR_COLORS[int(rng.integers(len(_HAIR_COLORS)))], rng),
        patterns=("noise", "stripes"),
        period=(0.005, 0.02),
        grain=(0.05, 0.1),
    )
    shirt = random_material(rng, pattern_weights=(0.4, 0.2, 0.15, 0.1, 0.15))
    trouser_color = (
        _jitter(_TROUSER_COLORS[int(rng.integers(len(_TROUSER_COLORS)))], rng)
        if rng.uniform() < 0.7
        else random_color(rng)
    )
    trousers = random_material(rng, base_color=trouser_color, pattern_weights=(0.55, 0.1, 0.1, 0.05, 0.2))
    shoe_color = (
        _jitter(_SHOE_COLORS[int(rng.integers(len(_SHOE_COLORS)))], rng) if rng.uniform() < 0.7 else random_color(rng)
    )
    shoes = random_material(rng, base_color=shoe_color, patterns=("plain", "noise"))
    return Appearance(
        skin=skin,
        hair=hair,
        shirt=shirt,
        trousers=trousers,
        shoes=shoes,
        hair_style=str(rng.choice(["none", "short", "long"], p=[0.1, 0.6, 0.3])),
        long_sleeves=bool(rng.uniform() < 0.5),
        long_trousers=bool(rng.uniform() < 0.75),
        girth=float(rng.uniform(0.85, 1.2)),
        limb_girth=float(rng.uniform(0.85, 1.2)),
    )


# ------------------------------------------------------------------------------------------ figure
# Body radius (metres, before girth scaling) at each COCO joint: the depth tolerance of visibility.
JOINT_RADII = {"shoulder": 0.06, "elbow": 0.045, "wrist": 0.035, "hip": 0.09, "knee": 0.06, "ankle": 0.045}
# Face points lie on the head's surface; ears may sit under a few centimetres of hair.
FACE_TOLERANCES = {"nose": 0.035, "eye": 0.035, "ear": 0.06}
# The body parts that carry each COCO keypoint (a keypoint is visible only on one of them).
KEYPOINT_OWNERS: dict[str, tuple[str, ...]] = {
    "nose": ("nose", "head"),
    **{f"{side}_eye": (f"{side}_eye", "head") for side in ("left", "right")},
    # Ears sit at the side of the head where hair grows: hair right over an ear still shows where it is.
    **{f"{side}_ear": (f"{side}_ear", "head", "hair") for side in ("left", "right")},
    **{f"{side}_shoulder": ("torso", f"{side}_upper_arm") for side in ("left", "right")},
    **{f"{side}_elbow": (f"{side}_upper_arm", f"{side}_forearm") for side in ("left", "right")},
    **{f"{side}_wrist": (f"{side}_forearm", f"{side}_hand") for side in ("left", "right")},
    **{f"{side}_hip": ("pelvis", "torso", f"{side}_thigh") for side in ("left", "right")},
    **{f"{side}_knee": (f"{side}_thigh", f"{side}_shin") for side in ("left", "right")},
    **{f"{side}_ankle": (f"{side}_shin", f"{side}_foot") for side in ("left", "right")},
}


def visibility_tolerance(keypoint_name: str, girth: float = 1.0) -> float:
    """How far (metres) the visible surface may lie in front of a COCO keypoint that still counts as visible.

    Joints inside limbs: the body radius there (times ``girth``) plus 4 cm; face points: 3.5 cm
    (ears 6 cm, for hair over them).

    Raises:
        ValueError: for a name that is not a COCO keypoint.
    """
    part = keypoint_name.split("_", 1)[-1]
    if part in JOINT_RADII:
        return JOINT_RADII[part] * girth + 0.04
    if part in FACE_TOLERANCES:
        return FACE_TOLERANCES[part]
    raise ValueError(f"no visibility tolerance for keypoint {keypoint_name!r}; expected a COCO keypoint name")


def _unit(vector: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 1e-9 else fallback


def build_figure(
    point_names: Sequence[str], points: np.ndarray, appearance: Appearance, first_part_id: int
) -> list[BodyPart]:
    """The body parts of one person from its named 3D points.

    Parts: torso and pelvis (convex hulls of spheres), neck, head, optional hair, eyes, nose, ears,
    and per side upper arm, forearm, hand, thigh, shin, foot (tapered capsules).

    Args:
        point_names: names of the ``P`` points (must include the COCO joints, ``root``, ``chest``,
            ``neck``, ``head_center``, ``head_top``, heels and toes).
        points: ``(P, 3)`` metres, any frame (camera space for rendering).
        appearance: the person's materials and build.
        first_part_id: id of the first part; the others follow consecutively.

    Returns:
        The parts, with ids ``first_part_id, first_part_id + 1, ...``.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.shape != (len(point_names), 3):
        raise ValueError(f"points must have shape ({len(point_names)}, 3), got {points.shape}")
    index = {name: i for i, name in enumerate(point_names)}

    def at(name: str) -> np.ndarray:
        return points[index[name]]

    girth, limb = appearance.girth, appearance.limb_girth
    skin, shirt, trousers = appearance.skin, appearance.shirt, appearance.trousers
    head_center = at("head_center")
    up = _unit(at("head_top") - head_center, np.array([0.0, -1.0, 0.0]))
    forward = at("nose") - head_center
    forward = _unit(forward - (forward @ up) * up, np.array([0.0, 0.0, -1.0]))
    specs: list[tuple[str, str, list[np.ndarray], list[float], Material, tuple[int, int]]] = []

    def add(
        name: str,
        kind: str,
        centers: list[np.ndarray],
        radii: list[float],
        material: Material,
        axis: tuple[int, int] = (0, -1),
    ) -> None:
        specs.append((name, kind, centers, radii, material, axis))

    root, chest, neck = at("root"), at("chest"), at("neck")
    belly = 0.5 * (root + chest)
    upper_chest = 0.5 * (chest + neck)
    lower_belly = root + 0.25 * (chest - root)
    add(
        "torso",
        "hull",
        [at("left_shoulder"), at("right_shoulder"), upper_chest, chest, belly],
        [0.06 * girth, 0.06 * girth, 0.11 * girth, 0.115 * girth, 0.112 * girth],
        shirt,
        axis=(4, 2),
    )
    add(
        "pelvis",
        "hull",
        [root, at("left_hip"), at("right_hip"), lower_belly],
        [0.1 * girth, 0.09 * girth, 0.09 * girth, 0.1 * girth],
        trousers,
        axis=(0, 3),
    )
    add("neck", "chain", [neck, neck + 0.6 * (head_center - neck)], [0.05 * limb, 0.045 * limb], skin)
    add("head", "chain", [head_center - 0.015 * up, head_center + 0.02 * up], [0.092, 0.097], skin)
    if appearance.hair_style != "none":
        hair_centers = [head_center + 0.02 * up - 0.025 * forward]
        hair_radii = [0.1]
        if appearance.hair_style == "long":
            hair_centers.append(head_center - 0.14 * up - 0.05 * forward)
            hair_radii.append(0.075)
        add("hair", "chain", hair_centers, hair_radii, appearance.hair)
    eye_material = Material(base_color=(25.0, 20.0, 20.0), second_color=(25.0, 20.0, 20.0), grain=0.05)
    nose_material = Material(
        base_color=tuple(0.88 * c for c in skin.base_color),  # type: ignore[arg-type]
        second_color=skin.base_color,
        grain=skin.grain,
    )
    for side in ("left", "right"):
        add(f"{side}_eye", "chain", [at(f"{side}_eye")], [0.014], eye_material)
        add(f"{side}_ear", "chain", [at(f"{side}_ear")], [0.022], nose_material)
    add("nose", "chain", [at("nose")], [0.02], nose_material)
    sleeve = shirt
    forearm = shirt if appearance.long_sleeves else skin
    shin = trousers if appearance.long_trousers else skin
    for side in ("left", "right"):
        shoulder, elbow, wrist = at(f"{side}_shoulder"), at(f"{side}_elbow"), at(f"{side}_wrist")
        hand_direction = _unit(wrist - elbow, np.array([0.0, 1.0, 0.0]))
        add(f"{side}_upper_arm", "chain", [shoulder, elbow], [0.055 * limb, 0.045 * limb], sleeve)
        add(f"{side}_forearm", "chain", [elbow, wrist], [0.043 * limb, 0.033 * limb], forearm)
        add(
            f"{side}_hand",
            "chain",
            [wrist, wrist + 0.06 * hand_direction, wrist + 0.13 * hand_direction],
            [0.03, 0.038, 0.026],
            skin,
        )
        hip, knee, ankle = at(f"{side}_hip"), at(f"{side}_knee"), at(f"{side}_ankle")
        add(f"{side}_thigh", "chain", [hip, knee], [0.085 * limb, 0.058 * limb], trousers)
        add(f"{side}_shin", "chain", [knee, ankle], [0.055 * limb, 0.04 * limb], shin)
        add(f"{side}_foot", "chain", [at(f"{side}_heel"), at(f"{side}_foot_index")], [0.042, 0.032], appearance.shoes)
    return [
        BodyPart(
            name=name,
            part_id=first_part_id + offset,
            centers=np.stack(centers),
            radii=np.asarray(radii),
            material=material,
            kind=kind,
            axis=axis,
        )
        for offset, (name, kind, centers, radii, material, axis) in enumerate(specs)
    ]
