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
numbers and strings are pickle opcodes, not globals, and load as usual. One more global is
accepted: ``_codecs.encode``, and only as ``encode(text, "latin1")`` (any other argument is
refused). Python 3 pickles ``bytes`` at protocol <= 2 as that call (a ``str`` of code points
0-255 turned back into the same bytes), so a 3DPW sequence file or a model pickle that was
loaded and re-saved by Python 3 at protocol 2 carries it for every numpy array's data; it only
encodes a string and cannot reach anything else.

:func:`load_npz_objects` reads every member of an ``.npz`` archive: numeric arrays through
``numpy.lib.format.read_array(allow_pickle=False)``, object arrays through the restricted
unpickler after parsing the ``.npy`` header (``numpy.lib.format.read_magic`` and
``read_array_header_1_0`` / ``read_array_header_2_0``).

:func:`load_model_pickle` reads body-model pickles (the official SMPL ``basicModel_*.pkl`` files and
smplx's ``SMPL_*.pkl``): on top of numpy arrays it accepts two kinds of objects those files carry, and
builds neither of them for real. ``chumpy.ch.Ch`` (a chumpy array; chumpy is never imported) maps to
an inert stand-in that only collects its pickled state, from which the array in its ``x`` field is
taken. ``scipy.sparse`` csc/csr matrices (``J_regressor``) map to a stand-in that collects ``data``,
``indices``, ``indptr`` and the shape, and are rebuilt with the ``scipy.sparse`` constructors. Python
2 era pickles may also name ``copy_reg._reconstructor`` (allowed for the stand-ins only); the
``_codecs.encode`` of Python 3 protocol-2 pickles is accepted as above (latin-1 text only).
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path
from typing import IO, Any

import numpy as np

__all__ = [
    "RestrictedUnpickler",
    "UnsafePickleError",
    "load_model_pickle",
    "load_npz_objects",
    "numpy_array_globals",
    "restricted_loads",
]


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


def _latin1_encode(text: Any, encoding: str = "utf-8") -> bytes:
    """``_codecs.encode`` as Python 3 protocol-2 pickles of ``bytes`` use it: latin-1 text to bytes only."""
    if not isinstance(text, str) or encoding.replace("-", "").lower() != "latin1":
        raise UnsafePickleError(f"refusing _codecs.encode with encoding {encoding!r}; only latin-1 text is accepted")
    return text.encode("latin-1")


# Builtins that only build inert containers/values (``dict``, ``list`` and ``tuple`` normally come
# as opcodes; old protocols and some writers name them as globals).
_BUILTIN_CONTAINERS = ("dict", "list", "tuple", "set", "frozenset", "bytearray", "bytes", "complex", "slice")


class RestrictedUnpickler(pickle.Unpickler):
    """A ``pickle.Unpickler`` resolving only numpy array-reconstruction globals, containers, latin-1 encode.

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
            allowed[("_codecs", "encode")] = _latin1_encode  # how Python 3 pickles bytes at protocol <= 2
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


# ----------------------------------------------------------------------------- body-model pickles


class _StandIn:
    """An inert object a model pickle may instantiate: it only keeps the state handed to it."""

    kind = "object"

    def __init__(self) -> None:  # never called by pickle (NEWOBJ uses __new__); kept for completeness
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


class _ChumpyStandIn(_StandIn):
    """Stands in for ``chumpy.ch.Ch``: a plain chumpy array whose state dict holds the values in ``x``."""

    kind = "chumpy.ch.Ch"


class _SparseStandIn(_StandIn):
    """Stands in for a scipy.sparse compressed matrix; ``format`` is ``"csc"`` or ``"csr"``."""

    format = "csc"


class _CscStandIn(_SparseStandIn):
    kind = "scipy.sparse.csc_matrix"
    format = "csc"


class _CsrStandIn(_SparseStandIn):
    kind = "scipy.sparse.csr_matrix"
    format = "csr"


def _safe_reconstructor(cls: Any, base: Any, state: Any) -> Any:
    """``copy_reg._reconstructor`` for protocol 0/1 pickles, allowed to build stand-ins only."""
    if not (isinstance(cls, type) and issubclass(cls, _StandIn)) or base is not object or state is not None:
        raise UnsafePickleError(
            "refusing copy_reg._reconstructor for anything but a chumpy/scipy.sparse stand-in on object"
        )
    return cls.__new__(cls)


_SPARSE_NAMES = {
    "csc_matrix": _CscStandIn,
    "csc_array": _CscStandIn,
    "csr_matrix": _CsrStandIn,
    "csr_array": _CsrStandIn,
}


class _ModelUnpickler(RestrictedUnpickler):
    """:class:`RestrictedUnpickler` plus the chumpy and scipy.sparse stand-ins of body-model pickles."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "chumpy.ch" and name == "Ch":
            return _ChumpyStandIn
        if (module == "scipy.sparse" or module.startswith("scipy.sparse.")) and name in _SPARSE_NAMES:
            return _SPARSE_NAMES[name]
        if module in ("copy_reg", "copyreg") and name == "_reconstructor":
            return _safe_reconstructor
        if module in ("builtins", "__builtin__") and name == "object":
            return object
        if module.split(".")[0] == "chumpy":
            raise UnsafePickleError(
                f"{self.source}: the pickle holds a computed chumpy object {module}.{name}; posekit reads plain "
                "chumpy arrays (chumpy.ch.Ch) only and never runs chumpy (convert the file with numpy arrays)"
            )
        return super().find_class(module, name)


def _field(state: Any, source: str, kind: str, *names: str) -> Any:
    if not isinstance(state, dict):
        raise ValueError(f"{source}: a pickled {kind} has state of type {type(state).__name__}, expected a dict")
    for name in names:
        if name in state:
            return state[name]
    raise ValueError(f"{source}: a pickled {kind} has no {' / '.join(names)} field (fields: {sorted(state)})")


def _rebuild(value: Any, source: str) -> Any:
    """Replace the stand-ins inside ``value`` (dicts, lists, tuples) by numpy arrays / scipy.sparse matrices."""
    if isinstance(value, _ChumpyStandIn):
        array = _rebuild(_field(value.state, source, value.kind, "x"), source)
        if not isinstance(array, np.ndarray):
            raise ValueError(f"{source}: a chumpy.ch.Ch holds {type(array).__name__} in x, expected a numpy array")
        return array
    if isinstance(value, _SparseStandIn):
        import scipy.sparse

        state = value.state
        data = np.asarray(_field(state, source, value.kind, "data"))
        indices = np.asarray(_field(state, source, value.kind, "indices"))
        indptr = np.asarray(_field(state, source, value.kind, "indptr"))
        shape = tuple(int(size) for size in _field(state, source, value.kind, "_shape", "shape"))
        builder = scipy.sparse.csc_matrix if value.format == "csc" else scipy.sparse.csr_matrix
        try:
            return builder((data, indices, indptr), shape=shape)
        except (ValueError, TypeError) as error:
            raise ValueError(f"{source}: a pickled {value.kind} is inconsistent ({error})") from None
    if isinstance(value, dict):
        return {key: _rebuild(item, source) for key, item in value.items()}
    if isinstance(value, list):
        return [_rebuild(item, source) for item in value]
    if isinstance(value, tuple):
        return tuple(_rebuild(item, source) for item in value)
    if isinstance(value, _StandIn):  # pragma: no cover - every stand-in kind is handled above
        raise ValueError(f"{source}: unexpected {value.kind} in the pickle")
    return value


def load_model_pickle(path: str | os.PathLike[str], *, encoding: str = "latin1") -> Any:
    """Read a body-model pickle (SMPL ``basicModel_*.pkl``, smplx ``SMPL_*.pkl``) without chumpy, executing nothing.

    Numpy arrays, plain containers, ``chumpy.ch.Ch`` arrays (returned as the numpy array they hold)
    and scipy.sparse csc/csr matrices (rebuilt from their arrays) are accepted; any other global is
    refused before anything is built.

    Args:
        path: the pickle file.
        encoding: decoding of Python 2 strings (``"latin1"`` reads the Python 2 SMPL files).

    Returns:
        The unpickled object (for model files a dict of arrays, sparse matrices, strings).

    Raises:
        FileNotFoundError: no file at ``path``.
        UnsafePickleError: the pickle names a global outside the allowed set (nothing was called).
        ValueError: not a valid pickle, or a chumpy/sparse object without the expected fields.
    """
    file_path = Path(path)
    if not file_path.is_file():
        raise FileNotFoundError(f"no pickle file at {os.fspath(path)!r}")
    source = str(file_path)
    with file_path.open("rb") as handle:
        try:
            loaded = _ModelUnpickler(handle, source=source, encoding=encoding).load()
        except UnsafePickleError as error:
            message = str(error)
            raise UnsafePickleError(message if message.startswith(source) else f"{source}: {message}") from None
        except (pickle.UnpicklingError, EOFError, TypeError, AttributeError, IndexError, KeyError) as error:
            raise ValueError(f"{source}: not a valid pickle ({type(error).__name__}: {error})") from None
    return _rebuild(loaded, source)
