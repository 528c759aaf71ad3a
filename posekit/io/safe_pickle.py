"""Reading ``.npz`` files whose arrays hold pickled objects, without running arbitrary code.

The official VideoPose3D data files (``data_3d_h36m.npz``, ``data_2d_h36m_gt.npz``,
``data_2d_h36m_cpn_ft_h36m_dbb.npz``, ...) are written with ``np.savez_compressed(name,
positions_3d=dict)``: each dict becomes a 0-d numpy array of dtype ``object`` whose ``.npy``
member is a *pickle* of that array. ``np.load(..., allow_pickle=True)`` would unpickle it with
the standard unpickler, which can call any importable function (``os.system``...) named in the
file. posekit never does that. :class:`RestrictedUnpickler` resolves only the globals that numpy
needs to rebuild arrays (``numpy.core.multiarray._reconstruct`` or its numpy-2 spelling
``numpy._core.multiarray._reconstruct``, ``numpy.ndarray``, ``numpy.dtype``, the dtype classes of
``numpy.dtypes``, ``numpy.core.multiarray.scalar``) and a few inert builtin containers; any other
global is refused with a message that names the file and the global. Plain Python containers,
numbers and strings are pickle opcodes, not globals, and load as usual.

:func:`load_npz_objects` reads every member of an ``.npz`` archive: numeric arrays through
``numpy.lib.format.read_array(allow_pickle=False)``, object arrays through the restricted
unpickler after parsing the ``.npy`` header (``numpy.lib.format.read_magic`` and
``read_array_header_1_0`` / ``read_array_header_2_0``).
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path
from typing import IO, Any

import numpy as np

__all__ = ["RestrictedUnpickler", "UnsafePickleError", "load_npz_objects", "numpy_array_globals", "restricted_loads"]


class UnsafePickleError(pickle.UnpicklingError, ValueError):
    """A pickle named a global that posekit does not allow (it was not imported or called)."""


def numpy_array_globals() -> dict[tuple[str, str], Any]:
    """The numpy objects a pickled array may name, keyed by ``(module, name)`` in every spelling numpy uses.

    posekit's one numpy allow-list: :class:`RestrictedUnpickler` resolves these, and
    :func:`posekit.io.checkpoint.load_checkpoint` hands them to ``torch.load(weights_only=True)``
    when a checkpoint may hold numpy arrays (the ``random_state`` of official VideoPose3D
    ``.bin`` files). numpy 1 files name ``numpy.core.multiarray``, numpy 2 ``numpy._core.multiarray``.
    """
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar  # type: ignore[no-redef]
    allowed: dict[tuple[str, str], Any] = {}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(module, "_reconstruct")] = _reconstruct
        allowed[(module, "scalar")] = scalar
    allowed[("numpy", "ndarray")] = np.ndarray
    allowed[("numpy", "dtype")] = np.dtype
    dtypes_module = getattr(np, "dtypes", None)
    if dtypes_module is not None:  # numpy >= 1.25 pickles dtypes of some kinds by their class
        for name in dir(dtypes_module):
            value = getattr(dtypes_module, name)
            if isinstance(value, type) and issubclass(value, np.dtype):
                allowed[("numpy.dtypes", name)] = value
    return allowed


# Builtins that only build inert containers/values (``dict``, ``list`` and ``tuple`` normally come
# as opcodes; old protocols and some writers name them as globals).
_BUILTIN_CONTAINERS = ("dict", "list", "tuple", "set", "frozenset", "bytearray", "bytes", "complex", "slice")


class RestrictedUnpickler(pickle.Unpickler):
    """A ``pickle.Unpickler`` that only resolves numpy array-reconstruction globals and containers.

    Args:
        file: binary file object positioned at the pickle.
        source: name of the file (and member) for error messages.
        encoding: how to decode Python 2 ``str`` objects (``"latin1"`` reads numpy arrays
            pickled by Python 2, as the Detectron outputs are).
    """

    _allowed: dict[tuple[str, str], Any] | None = None

    def __init__(self, file: IO[bytes], *, source: str = "<pickle>", encoding: str = "latin1") -> None:
        super().__init__(file, encoding=encoding)
        self.source = source
        if RestrictedUnpickler._allowed is None:
            allowed = numpy_array_globals()
            import builtins

            for name in _BUILTIN_CONTAINERS:
                allowed[("builtins", name)] = getattr(builtins, name)
                allowed[("__builtin__", name)] = getattr(builtins, name)  # Python 2 pickles
            RestrictedUnpickler._allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        """Return the allowed object ``module.name``; refuse every other global."""
        allowed = RestrictedUnpickler._allowed
        assert allowed is not None
        key = (module, name)
        if key in allowed:
            return allowed[key]
        raise UnsafePickleError(
            f"{self.source}: refusing to unpickle the global {module}.{name}; posekit only rebuilds numpy arrays "
            "and plain containers from pickled data (the file may be corrupt or malicious)"
        )


def restricted_loads(data: bytes, *, source: str = "<pickle>", encoding: str = "latin1") -> Any:
    """Unpickle ``data`` with :class:`RestrictedUnpickler`.

    Raises:
        UnsafePickleError: the pickle names a global outside the allowed set.
        ValueError: the data is not a valid pickle.
    """
    try:
        return RestrictedUnpickler(io.BytesIO(data), source=source, encoding=encoding).load()
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError, TypeError, AttributeError, IndexError, KeyError) as error:
        raise ValueError(f"{source}: not a valid pickle ({type(error).__name__}: {error})") from None


def _read_member(handle: IO[bytes], source: str, encoding: str) -> np.ndarray:
    """Read one ``.npy`` stream; object arrays go through the restricted unpickler."""
    try:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(handle)
        elif version in ((2, 0), (3, 0)):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(handle)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
    except ValueError as error:
        raise ValueError(f"{source}: not a .npy array ({error})") from None
    if not dtype.hasobject:
        # Numeric array: numpy's own reader, which never unpickles with allow_pickle=False.
        payload = handle.read()
        count = int(np.prod(shape)) if shape else 1
        if len(payload) < count * dtype.itemsize:
            raise ValueError(f"{source}: truncated .npy data ({len(payload)} bytes for {count} x {dtype})")
        array = np.frombuffer(payload, dtype=dtype, count=count)
        if fortran_order:
            return array.reshape(tuple(shape)[::-1]).transpose().copy()
        return array.reshape(tuple(shape)).copy()
    loaded = restricted_loads(handle.read(), source=source, encoding=encoding)
    if not isinstance(loaded, np.ndarray):
        raise ValueError(f"{source}: the pickled payload is a {type(loaded).__name__}, expected a numpy array")
    return loaded


def load_npz_objects(
    path: str | os.PathLike[str],
    *,
    unwrap_objects: bool = True,
    encoding: str = "latin1",
) -> dict[str, Any]:
    """Read every array of an ``.npz`` file, decoding object arrays without unsafe unpickling.

    Args:
        path: the ``.npz`` archive (as written by ``np.savez`` / ``np.savez_compressed``).
        unwrap_objects: return the single object of a 0-d object array (the dict that
            ``np.savez(name, positions_3d=dict)`` stored) instead of the array, as ``.item()``
            would.
        encoding: decoding of Python 2 strings inside pickles.

    Returns:
        ``{member name without .npy: array or object}``.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: not a zip archive, a member that is not a ``.npy`` array, or a pickle that
            names a global other than numpy's array-reconstruction functions (the message names
            the file, the member and the global).
    """
    file_path = Path(path)
    if not file_path.is_file():
        raise FileNotFoundError(f"no .npz file at {os.fspath(path)!r}")
    if not zipfile.is_zipfile(file_path):
        raise ValueError(f"{file_path}: not an .npz archive (not a zip file)")
    result: dict[str, Any] = {}
    with zipfile.ZipFile(file_path) as archive:
        for member in archive.namelist():
            if member.endswith("/"):
                continue
            key = member[:-4] if member.endswith(".npy") else member
            source = f"{file_path}[{key}]"
            with archive.open(member) as handle:
                array = _read_member(handle, source, encoding)  # type: ignore[arg-type]
            if unwrap_objects and array.dtype.hasobject and array.ndim == 0:
                result[key] = array.item()
            else:
                result[key] = array
    return result
