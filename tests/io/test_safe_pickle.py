"""Safe reading of object-array .npz files (VideoPose3D data) without unsafe unpickling."""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from posekit.io.safe_pickle import UnsafePickleError, load_npz_objects, restricted_loads


def test_official_style_dicts_round_trip(tmp_path: Path) -> None:
    positions = {
        "S1": {"Walking": np.arange(24, dtype=np.float32).reshape(2, 4, 3), "Eating 2": np.ones((3, 4, 3), np.float32)},
        "S9": {"Sitting": np.zeros((1, 4, 3), np.float32)},
    }
    keypoints = {"S1": {"Walking": [np.full((2, 4, 2), float(camera), np.float32) for camera in range(4)]}}
    metadata = {"layout_name": "h36m", "num_joints": np.int64(17), "keypoints_symmetry": [[4, 5, 6], [1, 2, 3]]}
    np.savez_compressed(tmp_path / "data_3d.npz", positions_3d=positions)
    np.savez(tmp_path / "data_2d.npz", positions_2d=keypoints, metadata=metadata, plain=np.eye(3, order="F"))

    loaded_3d = load_npz_objects(tmp_path / "data_3d.npz")
    assert set(loaded_3d) == {"positions_3d"}
    for subject, actions in positions.items():
        for action, array in actions.items():
            np.testing.assert_array_equal(loaded_3d["positions_3d"][subject][action], array)
            assert loaded_3d["positions_3d"][subject][action].dtype == np.float32
    loaded_2d = load_npz_objects(tmp_path / "data_2d.npz")
    assert [float(cam[0, 0, 0]) for cam in loaded_2d["positions_2d"]["S1"]["Walking"]] == [0.0, 1.0, 2.0, 3.0]
    assert loaded_2d["metadata"]["layout_name"] == "h36m" and int(loaded_2d["metadata"]["num_joints"]) == 17
    assert loaded_2d["metadata"]["keypoints_symmetry"] == [[4, 5, 6], [1, 2, 3]]
    np.testing.assert_array_equal(loaded_2d["plain"], np.eye(3))
    wrapped = load_npz_objects(tmp_path / "data_3d.npz", unwrap_objects=False)["positions_3d"]
    assert isinstance(wrapped, np.ndarray) and wrapped.dtype == object and wrapped.shape == ()


class _Exploit:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("echo pwned > /dev/null",))


def _npy_bytes_with_payload(payload: bytes) -> bytes:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|O", "fortran_order": False, "shape": ()})
    return header.getvalue() + payload


def test_malicious_pickle_is_refused(tmp_path: Path) -> None:
    payload = pickle.dumps(np.array({"a": _Exploit()}, dtype=object), protocol=3)
    path = tmp_path / "evil.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("positions_3d.npy", _npy_bytes_with_payload(payload))
    with pytest.raises(UnsafePickleError, match=r"evil\.npz\[positions_3d\].*(posix|os|nt)\.system"):
        load_npz_objects(path)
    with pytest.raises(ValueError, match="refusing to unpickle the global builtins.eval"):
        restricted_loads(b"cbuiltins\neval\n(S'1'\ntR.", source="x")


def test_not_an_npz(tmp_path: Path) -> None:
    path = tmp_path / "x.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not an .npz archive"):
        load_npz_objects(path)
    with pytest.raises(FileNotFoundError):
        load_npz_objects(tmp_path / "missing.npz")


def test_model_pickle_refuses_computed_chumpy_and_foreign_reconstructors(tmp_path: Path) -> None:
    from posekit.io.safe_pickle import load_model_pickle

    computed = tmp_path / "computed.pkl"  # protocol 0: GLOBAL chumpy.ch_ops add, then an empty tuple, REDUCE
    computed.write_bytes(b"cchumpy.ch_ops\nadd\n(tR.")
    with pytest.raises(
        UnsafePickleError, match=r"computed\.pkl: the pickle holds a computed chumpy object chumpy\.ch_ops\.add"
    ):
        load_model_pickle(computed)
    foreign = tmp_path / "foreign.pkl"  # copy_reg._reconstructor(collections.OrderedDict, object, None)
    foreign.write_bytes(b"ccopy_reg\n_reconstructor\n(ccollections\nOrderedDict\nc__builtin__\nobject\nNtR.")
    with pytest.raises(
        UnsafePickleError, match=r"foreign\.pkl: refusing to unpickle the global collections\.OrderedDict"
    ):
        load_model_pickle(foreign)
    codec = tmp_path / "codec.pkl"  # _codecs.encode("x", "rot13")
    codec.write_bytes(b"c_codecs\nencode\n(Vx\nVrot13\ntR.")
    with pytest.raises(UnsafePickleError, match="only latin-1 text"):
        load_model_pickle(codec)
    with pytest.raises(FileNotFoundError, match="no pickle file"):
        load_model_pickle(tmp_path / "absent.pkl")


def test_python3_protocol2_bytes_load_and_other_codec_calls_are_refused(tmp_path: Path) -> None:
    from posekit.io.safe_pickle import load_model_pickle

    data = {"poses": [np.arange(6, dtype=np.float64).reshape(2, 3)], "name": b"\x00\xffraw", "trans": np.ones(3)}
    payload = pickle.dumps(data, protocol=2)  # Python 3 writes every bytes object as _codecs.encode(text, "latin1")
    assert b"_codecs\nencode" in payload
    loaded = restricted_loads(payload, source="seq.pkl")
    assert loaded["name"] == b"\x00\xffraw"
    np.testing.assert_array_equal(loaded["poses"][0], data["poses"][0])  # type: ignore[index]
    path = tmp_path / "resaved.pkl"
    path.write_bytes(payload)
    np.testing.assert_array_equal(load_model_pickle(path)["trans"], np.ones(3))
    for bad in (
        b"c_codecs\nencode\n(Vx\nVrot13\ntR.",  # another codec
        b"c_codecs\nencode\n(I1\nVlatin1\ntR.",  # not a string
    ):
        with pytest.raises(UnsafePickleError, match="only latin-1 text"):
            restricted_loads(bad, source="x")
    with pytest.raises(UnsafePickleError, match="refusing to unpickle the global _codecs.decode"):
        restricted_loads(b"c_codecs\ndecode\n(Vx\nVrot13\ntR.", source="x")
