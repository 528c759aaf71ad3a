"""The frozen :class:`Skeleton` description of a keypoint format, and the skeleton registry.

A skeleton is data: joint names in dataset order, links for drawing, left/right flip pairs *by
name*, optional OKS sigmas, kinematic parents, body-part groups and per-joint loss weights.
Everything index-based (``link_indices``, ``flip_indices``, ...) is derived from the names, so a
format is written once, by name, and cannot disagree with itself.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = [
    "Skeleton",
    "auto_flip_pairs",
    "auto_groups",
    "get_skeleton",
    "links_from_parents",
    "list_skeletons",
    "register_skeleton",
]

# Name fragments used to build body-part groups from canonical joint names (see definitions.py).
_HEAD_NAMES = frozenset(
    {"nose", "head", "head_top", "neck_nose", "upper_neck", "mouth_left", "mouth_right"}
    | {f"{side}_{part}" for side in ("left", "right") for part in ("eye", "eye_inner", "eye_outer", "ear")}
)
_LEG_PARTS = ("hip", "knee", "ankle", "foot", "heel", "foot_index")
_ARM_PARTS = ("shoulder", "elbow", "wrist", "hand", "pinky", "index", "thumb", "hand_tip")
_LOWER_CENTRE = frozenset({"pelvis", "spine_base"})
_TORSO_CENTRE = frozenset(
    {"pelvis", "spine_base", "spine", "spine_mid", "spine_shoulder", "thorax", "neck", "spine1", "spine2", "spine3"}
)
_TORSO_SIDED = ("shoulder", "hip", "collar")


def _sided(name: str) -> tuple[str, str] | None:
    """Split ``left_knee`` into ``("left", "knee")``; ``None`` for names without a side prefix."""
    for side in ("left", "right"):
        if name.startswith(side + "_"):
            return side, name[len(side) + 1 :]
    return None


def _swap_side(name: str) -> str | None:
    """Return ``name`` with its ``left``/``right`` token swapped (``mouth_left`` -> ``mouth_right``)."""
    tokens = name.split("_")
    swapped = ["right" if t == "left" else "left" if t == "right" else t for t in tokens]
    return "_".join(swapped) if swapped != tokens else None


def auto_flip_pairs(keypoint_names: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """Pair every name containing a ``left`` token with its ``right`` twin, when that twin exists.

    Args:
        keypoint_names: joint names of a skeleton.

    Returns:
        ``((left_name, right_name), ...)`` in the order the left names appear.
    """
    names = list(keypoint_names)
    name_set = set(names)
    pairs = []
    for name in names:
        if "left" in name.split("_"):
            twin = _swap_side(name)
            if twin is not None and twin in name_set:
                pairs.append((name, twin))
    return tuple(pairs)


def auto_groups(keypoint_names: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Body-part groups from canonical names (the vocabulary in :mod:`posekit.skeletons.definitions`).

    Groups: ``head`` (face and head points), ``upper`` (everything not in ``lower``), ``lower``
    (hips, legs, feet, pelvis; as MMPose's ``lower_body_ids`` for COCO), ``torso`` (shoulders, hips,
    collars and the central spine/neck chain), ``left``/``right`` (by name token), and
    ``left_arm``, ``right_arm``, ``left_leg``, ``right_leg``.

    Args:
        keypoint_names: joint names of a skeleton.

    Returns:
        Mapping from group name to joint names, in skeleton order; empty groups are omitted.
    """
    names = list(keypoint_names)
    group_names = ("upper", "lower", "left", "right", "head", "torso", "left_arm", "right_arm", "left_leg", "right_leg")
    groups: dict[str, list[str]] = {key: [] for key in group_names}
    for name in names:
        tokens = name.split("_")
        side = "left" if "left" in tokens else "right" if "right" in tokens else None
        sided = _sided(name)
        part = sided[1] if sided is not None else None
        if side is not None:
            groups[side].append(name)
        if name in _HEAD_NAMES:
            groups["head"].append(name)
        is_lower = name in _LOWER_CENTRE or part in _LEG_PARTS
        groups["lower" if is_lower else "upper"].append(name)
        if name in _TORSO_CENTRE or part in _TORSO_SIDED:
            groups["torso"].append(name)
        if sided is not None and part in _ARM_PARTS:
            groups[f"{sided[0]}_arm"].append(name)
        if sided is not None and part in _LEG_PARTS:
            groups[f"{sided[0]}_leg"].append(name)
    return {key: tuple(value) for key, value in groups.items() if value}


def links_from_parents(keypoint_names: tuple[str, ...], parents: tuple[int, ...]) -> tuple[tuple[str, str], ...]:
    """Links ``(parent_name, child_name)`` for every non-root joint of a kinematic tree."""
    return tuple((keypoint_names[p], keypoint_names[k]) for k, p in enumerate(parents) if p >= 0)


@dataclass(frozen=True)
class Skeleton:
    """One keypoint format.

    Attributes:
        name: registry name, e.g. ``"coco"``.
        keypoint_names: ``K`` joint names in dataset order, from the canonical vocabulary.
        links: ``(name_a, name_b)`` pairs for drawing.
        flip_pairs: ``(left_name, right_name)`` pairs swapped by a horizontal flip.
        sigmas: ``(K,)`` OKS sigmas where the format defines them, else ``None``.
        parents: ``(K,)`` kinematic parent index per joint, ``-1`` for the single root, else ``None``.
        groups: body-part groups by name (``upper``, ``lower``, ``left``, ``right``, ``head``,
            ``torso``, ...). Left empty, they are built by :func:`auto_groups`.
        joint_weights: ``(K,)`` per-joint loss weights where official code uses them, else ``None``.
    """

    name: str
    keypoint_names: tuple[str, ...]
    links: tuple[tuple[str, str], ...]
    flip_pairs: tuple[tuple[str, str], ...]
    sigmas: tuple[float, ...] | None = None
    parents: tuple[int, ...] | None = None
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    joint_weights: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        # Normalise containers to tuples (callers may pass lists) so the object is hashable and immutable.
        set_field = functools.partial(object.__setattr__, self)
        set_field("keypoint_names", tuple(self.keypoint_names))
        set_field("links", tuple((a, b) for a, b in self.links))
        set_field("flip_pairs", tuple((a, b) for a, b in self.flip_pairs))
        if self.sigmas is not None:
            set_field("sigmas", tuple(float(s) for s in self.sigmas))
        if self.parents is not None:
            set_field("parents", tuple(int(p) for p in self.parents))
        if self.joint_weights is not None:
            set_field("joint_weights", tuple(float(w) for w in self.joint_weights))
        groups = self.groups if self.groups else auto_groups(self.keypoint_names)
        set_field("groups", {key: tuple(value) for key, value in groups.items()})
        self._validate()

    def _validate(self) -> None:
        names = self.keypoint_names
        if not re.fullmatch(r"[a-z0-9_]+", self.name or ""):
            raise ValueError(f"skeleton name must be lower-case snake_case, got {self.name!r}")
        if len(names) == 0:
            raise ValueError(f"skeleton {self.name!r} has no keypoint names")
        if len(set(names)) != len(names):
            duplicates = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"skeleton {self.name!r} has duplicate keypoint names: {duplicates}")
        known = set(names)

        def check(where: str, used: Iterable[str]) -> None:
            unknown = sorted(set(used) - known)
            if unknown:
                raise ValueError(f"skeleton {self.name!r}: {where} use unknown keypoint names {unknown}")

        check("links", (n for link in self.links for n in link))
        check("flip_pairs", (n for pair in self.flip_pairs for n in pair))
        for group, members in self.groups.items():
            check(f"group {group!r}", members)
        flipped = [n for pair in self.flip_pairs for n in pair]
        if len(set(flipped)) != len(flipped) or any(a == b for a, b in self.flip_pairs):
            raise ValueError(f"skeleton {self.name!r}: each joint may appear in at most one flip pair")
        num = len(names)
        for label, values in (("sigmas", self.sigmas), ("joint_weights", self.joint_weights)):
            if values is not None and len(values) != num:
                raise ValueError(f"skeleton {self.name!r}: {label} must have {num} values, got {len(values)}")
        if self.sigmas is not None and any(not s > 0 for s in self.sigmas):
            raise ValueError(f"skeleton {self.name!r}: sigmas must be positive, got {self.sigmas}")
        if self.parents is not None:
            self._validate_parents()

    def _validate_parents(self) -> None:
        parents = self.parents
        assert parents is not None
        num = len(self.keypoint_names)
        if len(parents) != num:
            raise ValueError(f"skeleton {self.name!r}: parents must have {num} values, got {len(parents)}")
        roots = [k for k, p in enumerate(parents) if p == -1]
        if len(roots) != 1:
            raise ValueError(f"skeleton {self.name!r}: parents must have exactly one root (-1), got {roots}")
        for k, p in enumerate(parents):
            if not (p == -1 or 0 <= p < num) or p == k:
                raise ValueError(f"skeleton {self.name!r}: parent of joint {k} is {p}, not a valid joint index")
        for start in range(num):  # walk up from every joint; a cycle never reaches the root
            joint, steps = start, 0
            while joint != -1:
                joint, steps = parents[joint], steps + 1
                if steps > num:
                    raise ValueError(f"skeleton {self.name!r}: parents contain a cycle through joint {start}")

    # ------------------------------------------------------------------ derived views
    @property
    def num_keypoints(self) -> int:
        """Number of keypoints ``K``."""
        return len(self.keypoint_names)

    @functools.cached_property
    def _index_of(self) -> dict[str, int]:
        return {name: k for k, name in enumerate(self.keypoint_names)}

    def index(self, name: str) -> int:
        """Index of joint ``name``; ValueError naming the skeleton and its valid names otherwise."""
        try:
            return self._index_of[name]
        except KeyError:
            raise ValueError(
                f"skeleton {self.name!r} has no keypoint {name!r}; valid names: {list(self.keypoint_names)}"
            ) from None

    def indices(self, names: Iterable[str]) -> tuple[int, ...]:
        """Indices of several joints, in the given order."""
        return tuple(self.index(name) for name in names)

    @functools.cached_property
    def link_indices(self) -> tuple[tuple[int, int], ...]:
        """Links as index pairs ``((a, b), ...)``."""
        return tuple((self.index(a), self.index(b)) for a, b in self.links)

    @functools.cached_property
    def flip_pair_indices(self) -> tuple[tuple[int, int], ...]:
        """Flip pairs as index pairs ``((left, right), ...)``."""
        return tuple((self.index(a), self.index(b)) for a, b in self.flip_pairs)

    @functools.cached_property
    def flip_indices(self) -> tuple[int, ...]:
        """Permutation for a horizontal flip: ``flipped[..., k, :] = original[..., flip_indices[k], :]``."""
        permutation = list(range(self.num_keypoints))
        for a, b in self.flip_pair_indices:
            permutation[a], permutation[b] = b, a
        return tuple(permutation)

    def group_indices(self, group: str) -> tuple[int, ...]:
        """Indices of the joints in body-part group ``group`` (empty when the group is absent)."""
        return self.indices(self.groups.get(group, ()))

    @functools.cached_property
    def upper_body_indices(self) -> tuple[int, ...]:
        """Indices of the ``upper`` group (used by half-body augmentation)."""
        return self.group_indices("upper")

    @functools.cached_property
    def lower_body_indices(self) -> tuple[int, ...]:
        """Indices of the ``lower`` group (used by half-body augmentation)."""
        return self.group_indices("lower")

    @functools.cached_property
    def root_index(self) -> int | None:
        """Index of the kinematic root, or ``None`` when ``parents`` is undefined."""
        return None if self.parents is None else self.parents.index(-1)


# ---------------------------------------------------------------------- registry
_REGISTRY: dict[str, Skeleton] = {}
_ALIASES: dict[str, str] = {}


def _normalise(name: str) -> str:
    return re.sub(r"[\s\-.]+", "_", name.strip().lower())


def register_skeleton(skeleton: Skeleton, aliases: Iterable[str] = (), replace: bool = False) -> None:
    """Add ``skeleton`` to the registry under its name (and ``name<K>`` / ``name_<K>``) plus ``aliases``.

    Args:
        skeleton: the skeleton to register.
        aliases: extra names that resolve to it (case-insensitive; ``-``, ``.`` and spaces read as ``_``).
        replace: allow replacing a different skeleton already registered under the same name.

    Raises:
        ValueError: when the name is taken by a different skeleton and ``replace`` is false.
    """
    if not isinstance(skeleton, Skeleton):
        raise ValueError(f"register_skeleton expects a Skeleton, got {type(skeleton).__name__}")
    existing = _REGISTRY.get(skeleton.name)
    if existing is not None and existing != skeleton and not replace:
        raise ValueError(f"a different skeleton is already registered as {skeleton.name!r}; pass replace=True")
    _REGISTRY[skeleton.name] = skeleton
    num = skeleton.num_keypoints
    for alias in (skeleton.name, f"{skeleton.name}{num}", f"{skeleton.name}_{num}", *aliases):
        _ALIASES[_normalise(alias).replace("_", "")] = skeleton.name
        _ALIASES[_normalise(alias)] = skeleton.name


def get_skeleton(name: str | Skeleton) -> Skeleton:
    """Look up a skeleton by name or alias (``"COCO"``, ``"coco17"``, ``"human36m"``, ...).

    Args:
        name: a registered name or alias, or a :class:`Skeleton` (returned unchanged).

    Raises:
        ValueError: for unknown names, listing the known ones.
    """
    if isinstance(name, Skeleton):
        return name
    if not isinstance(name, str):
        raise ValueError(f"skeleton must be a name or a Skeleton, got {type(name).__name__}")
    key = _normalise(name)
    resolved = _ALIASES.get(key) or _ALIASES.get(key.replace("_", ""))
    if resolved is None:
        raise ValueError(f"unknown skeleton {name!r}; known skeletons: {list_skeletons()}")
    return _REGISTRY[resolved]


def list_skeletons() -> list[str]:
    """Names of all registered skeletons, sorted."""
    return sorted(_REGISTRY)
