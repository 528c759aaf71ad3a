"""Small synthetic body models written in every file format posekit reads (the real SMPL files are licensed).

:func:`make_model_arrays` builds a random but well-formed model in SMPL's layout (24-joint SMPL tree,
template vertices scattered around the joints, skinning weights that favour the nearest joint, a
regressor averaging nearby vertices, random blend shapes). The writers store it as:

* :func:`write_official_pkl`: an official-style ``basicModel_*.pkl``: protocol 2, ``shapedirs`` and
  ``posedirs`` as chumpy arrays pickled under the global ``chumpy.ch`` / ``Ch`` (NEWOBJ + a state
  dict ``{"x": array, "_dirty_vars": set(), "_itr": None, ...}``, which is what chumpy's
  ``Ch.__getstate__`` writes), ``J_regressor`` / ``J_regressor_prior`` as scipy.sparse csc matrices,
  the root of ``kintree_table`` as 4294967295, plus the extra keys real files carry.
  ``old_scipy_paths`` spells the sparse class ``scipy.sparse.csc.csc_matrix`` as 2015 files do;
  ``python2_style`` (default) writes numpy arrays as Python 2 cPickle did, read back with
  ``encoding="latin1"``: ``numpy.core.multiarray._reconstruct`` and the raw data as a latin-1 ``str``
  (no ``_codecs.encode``).
* :func:`write_smplx_pkl`: smplx's ``SMPL_*.pkl`` (plain arrays, sparse ``J_regressor``).
* :func:`write_smplx_npz`: an ``.npz`` of the same keys (dense).
"""

from __future__ import annotations

import contextlib
import io
import pickle
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse

from posekit.skeletons.definitions import SMPL as SMPL_SKELETON

SMPL_PARENTS = np.asarray(SMPL_SKELETON.parents, dtype=np.int64)


def make_model_arrays(
    num_vertices: int = 120,
    num_betas: int = 10,
    num_faces: int = 200,
    seed: int = 0,
    blend_scale: float = 1.0,
) -> dict[str, np.ndarray]:
    """A random model in smplx's SMPL layout (float64), 24 joints.

    Returns:
        ``{"v_template", "shapedirs", "posedirs", "J_regressor" (dense), "weights", "kintree_table", "f"}``.
    """
    rng = np.random.default_rng(seed)
    num_joints = len(SMPL_PARENTS)
    # Joints: each child a random 5-20 cm offset from its parent.
    joints = np.zeros((num_joints, 3))
    for joint in range(1, num_joints):
        direction = rng.normal(size=3)
        joints[joint] = joints[SMPL_PARENTS[joint]] + direction / np.linalg.norm(direction) * rng.uniform(0.05, 0.2)
    owner = rng.integers(0, num_joints, size=num_vertices)
    owner[:num_joints] = np.arange(num_joints)  # every joint owns some vertices
    template = joints[owner] + rng.normal(scale=0.03, size=(num_vertices, 3))
    distances = np.linalg.norm(template[:, None, :] - joints[None, :, :], axis=-1)  # (V, J)
    logits = -distances / 0.05
    weights = np.exp(logits - logits.max(axis=1, keepdims=True))
    weights[weights < 1e-3] = 0.0
    weights /= weights.sum(axis=1, keepdims=True)
    regressor = np.zeros((num_joints, num_vertices))
    for joint in range(num_joints):
        nearest = np.argsort(distances[:, joint])[:4]
        values = rng.uniform(0.5, 1.0, size=4)
        regressor[joint, nearest] = values / values.sum()
    shapedirs = rng.normal(scale=0.01 * blend_scale, size=(num_vertices, 3, num_betas))
    posedirs = rng.normal(scale=0.005 * blend_scale, size=(num_vertices, 3, 9 * (num_joints - 1)))
    faces = np.stack([rng.choice(num_vertices, size=3, replace=False) for _ in range(num_faces)]).astype(np.int64)
    kintree = np.stack([SMPL_PARENTS, np.arange(num_joints)]).astype(np.int64)
    kintree[0, 0] = 4294967295
    return {
        "v_template": template,
        "shapedirs": shapedirs,
        "posedirs": posedirs,
        "J_regressor": regressor,
        "weights": weights,
        "kintree_table": kintree,
        "f": faces,
    }


class _FakeCh:
    """Pickles exactly like a plain ``chumpy.ch.Ch`` (module/name patched in :func:`_chumpy_module`)."""

    def __init__(self, array: np.ndarray) -> None:
        self.x = array
        self._dirty_vars: set[str] = set()
        self._itr = None

    def __getstate__(self) -> dict[str, Any]:
        return dict(self.__dict__)


class _FakeOldCsc:
    """Pickles like a 2015 scipy ``scipy.sparse.csc.csc_matrix`` (state dict of its arrays)."""

    def __init__(self, matrix: scipy.sparse.csc_matrix) -> None:
        self._shape = matrix.shape
        self.data = matrix.data
        self.indices = matrix.indices
        self.indptr = matrix.indptr
        self.maxprint = 50


class _Python2StylePickler(pickle.Pickler):
    """Pickles numpy arrays with their data as a latin-1 ``str``, which is what a Python 2 ``str`` reads back as."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is np.ndarray and not obj.dtype.hasobject:
            try:
                from numpy._core.multiarray import _reconstruct
            except ImportError:  # numpy 1.x
                from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]
            array = np.ascontiguousarray(obj)
            state = (1, array.shape, array.dtype, False, array.tobytes().decode("latin1"))
            return (_reconstruct, (np.ndarray, (0,), "b"), state)
        return NotImplemented


@contextlib.contextmanager
def _fake_module(module_name: str, cls: type, class_name: str) -> Iterator[None]:
    """Make ``cls`` importable as ``module_name.class_name`` while pickling (then undo it)."""
    created: list[str] = []
    parts = module_name.split(".")
    for depth in range(1, len(parts) + 1):
        name = ".".join(parts[:depth])
        if name not in sys.modules:
            sys.modules[name] = types.ModuleType(name)
            created.append(name)
    module = sys.modules[module_name]
    previous = (cls.__module__, cls.__qualname__, cls.__name__)
    original = module.__dict__.get(class_name)
    cls.__module__, cls.__qualname__, cls.__name__ = module_name, class_name, class_name
    setattr(module, class_name, cls)
    try:
        yield
    finally:
        cls.__module__, cls.__qualname__, cls.__name__ = previous
        if original is None:
            delattr(module, class_name)
        else:
            setattr(module, class_name, original)
        for name in reversed(created):
            del sys.modules[name]


def official_dict(arrays: dict[str, np.ndarray], old_scipy_paths: bool = False) -> dict[str, Any]:
    """The dict an official ``basicModel_*.pkl`` holds, with chumpy/sparse stand-ins to pickle."""
    sparse = scipy.sparse.csc_matrix(arrays["J_regressor"])
    regressor: Any = _FakeOldCsc(sparse) if old_scipy_paths else sparse
    return {
        "J_regressor_prior": scipy.sparse.csc_matrix(arrays["J_regressor"]),
        "f": arrays["f"].astype(np.uint32),
        "J_regressor": regressor,
        "kintree_table": arrays["kintree_table"],
        "J": arrays["J_regressor"] @ arrays["v_template"],
        "weights_prior": arrays["weights"],
        "weights": arrays["weights"],
        "vert_sym_idxs": np.arange(arrays["v_template"].shape[0]),
        "posedirs": _FakeCh(arrays["posedirs"]),
        "pose_training_info": {"SMPL_version": "v1.0.0", "num_poses": 1786},
        "bs_style": "lbs",
        "v_template": arrays["v_template"],
        "shapedirs": _FakeCh(arrays["shapedirs"]),
        "bs_type": "lrotmin",
    }


def write_official_pkl(
    path: Path,
    arrays: dict[str, np.ndarray],
    *,
    protocol: int = 2,
    old_scipy_paths: bool = False,
    python2_style: bool = True,
) -> Path:
    """Write an official-style SMPL pickle (chumpy arrays as ``chumpy.ch.Ch``, sparse regressor)."""
    data = official_dict(arrays, old_scipy_paths)
    with contextlib.ExitStack() as stack:
        stack.enter_context(_fake_module("chumpy.ch", _FakeCh, "Ch"))
        if old_scipy_paths:
            stack.enter_context(_fake_module("scipy.sparse.csc", _FakeOldCsc, "csc_matrix"))
        if python2_style:
            buffer = io.BytesIO()
            _Python2StylePickler(buffer, protocol=protocol).dump(data)
            # GLOBAL opcodes are newline-terminated text: spell numpy's module as numpy 1 / Python 2 files do.
            payload = buffer.getvalue().replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")
        else:
            payload = pickle.dumps(data, protocol=protocol)
    assert b"chumpy.ch" in payload and b"Ch" in payload
    path.write_bytes(payload)
    return path


def write_smplx_pkl(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    """Write a smplx-style ``SMPL_*.pkl`` (plain numpy arrays, sparse ``J_regressor``)."""
    data: dict[str, Any] = dict(arrays)
    data["J_regressor"] = scipy.sparse.csc_matrix(arrays["J_regressor"])
    data["bs_style"] = "lbs"
    data["bs_type"] = "lrotmin"
    path.write_bytes(pickle.dumps(data, protocol=2))
    return path


def write_smplx_npz(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    """Write the model as an ``.npz`` with the same keys (dense arrays)."""
    np.savez(path, **arrays)
    return path
