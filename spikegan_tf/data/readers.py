"""Readers of the supported file formats (``.npy``, ``.npz``, ``.mat`` v5 and v7.3): each returns
its arrays by key and explains a file it cannot read in one line that names it.
"""

from __future__ import annotations

import zipfile
from typing import Any

import numpy as np

from spikegan_tf.errors import SpikeDataError

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_MAT_HEADER_KEYS = ("__header__", "__version__", "__globals__")



def _head(path: str, n: int = 64) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def _describe_head(head: bytes) -> str:
    if not head:
        return "the file is empty"
    if head.startswith(_NPY_MAGIC):
        return "it is a NumPy .npy file"
    if head.startswith(_ZIP_MAGICS):
        return "it is a zip archive (a .npz file?)"
    if head.startswith(b"\x89HDF"):
        return "it is an HDF5 file"
    if head.startswith(b"MATLAB"):
        return "it is a MATLAB .mat file"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return f"it starts with bytes {head[:8]!r}"
    first = text.splitlines()[0] if text.splitlines() else text
    return f"it looks like text starting {first[:40]!r} (a CSV file?)"


def _read_npy(path: str) -> np.ndarray:
    head = _head(path)
    if not head.startswith(_NPY_MAGIC):
        raise SpikeDataError(
            f"File '{path}' is not a NumPy .npy file: {_describe_head(head)}. "
            "Expected the .npy format written by numpy.save."
        )
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise SpikeDataError(_npy_error(path, exc)) from None
    except (OSError, EOFError) as exc:
        raise SpikeDataError(
            f"File '{path}' is a truncated or corrupt .npy file: {exc}."
        ) from None


def _npy_error(path: str, exc: Exception, key: str | None = None) -> str:
    what = f"array '{key}' in file '{path}'" if key else f"file '{path}'"
    text = str(exc)
    if "pickle" in text or "Object arrays" in text:
        return (
            f"The {what} holds a Python object array (pickled data), which is never loaded "
            "(allow_pickle=False). Expected a numeric array of 0/1 spikes: save it with "
            "numpy.save(path, spikes.astype(numpy.uint8))."
        )
    return f"Could not read the {what}: it is truncated or corrupt ({text})."


def _read_npz(path: str) -> dict[str | None, Any]:
    head = _head(path)
    if not head.startswith(_ZIP_MAGICS):
        raise SpikeDataError(
            f"File '{path}' is not a NumPy .npz archive: {_describe_head(head)}. "
            "Expected a zip archive written by numpy.savez."
        )
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise SpikeDataError(
            f"File '{path}' is a truncated or corrupt .npz archive ({exc})."
        ) from None
    out: dict[str | None, Any] = {}
    with archive:
        for name in archive.files:
            try:
                out[name] = archive[name]
            except ValueError as exc:  # object array: kept as the error, raised if chosen
                out[name] = SpikeDataError(_npy_error(path, exc, name))
            except (OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
                raise SpikeDataError(
                    f"File '{path}' is a truncated or corrupt .npz archive: array '{name}' "
                    f"cannot be read ({exc})."
                ) from None
    if not out:
        raise SpikeDataError(f"File '{path}' holds no arrays. Expected an array of spikes.")
    return out


def _read_mat(path: str) -> dict[str | None, Any]:
    import h5py

    head = _head(path, 128)
    if h5py.is_hdf5(path):
        return _read_mat73(path)
    if head.startswith(b"\x89HDF") or b"MATLAB 7.3" in head:
        raise SpikeDataError(
            f"File '{path}' is a truncated or corrupt MATLAB v7.3 (HDF5) file."
        )
    if not head.startswith(b"MATLAB") and _looks_like_text(head):
        raise SpikeDataError(
            f"File '{path}' is not a MATLAB .mat file: {_describe_head(head)}. Expected a "
            "file written by MATLAB's save or scipy.io.savemat."
        )
    import scipy.io

    try:
        contents = scipy.io.loadmat(path, squeeze_me=False, struct_as_record=True)
    except NotImplementedError as exc:  # v7.3 not recognised as HDF5
        raise SpikeDataError(f"Could not read MATLAB file '{path}': {exc}.") from None
    except Exception as exc:  # scipy raises many types for corrupt files
        raise SpikeDataError(
            f"File '{path}' is a truncated or corrupt MATLAB .mat file, or not one "
            f"({type(exc).__name__}: {exc})."
        ) from None
    out: dict[str | None, Any] = {}
    for name, value in contents.items():
        if name in _MAT_HEADER_KEYS:
            continue
        out[name] = _mat5_value(value, name, path)
    if not out:
        raise SpikeDataError(f"MATLAB file '{path}' holds no variables. Expected an array of spikes.")
    return out


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return bool(head)


def _mat5_value(value: Any, name: str, path: str) -> Any:
    import scipy.sparse

    if scipy.sparse.issparse(value):
        return np.asarray(value.toarray())
    if not isinstance(value, np.ndarray):
        return SpikeDataError(
            f"Variable '{name}' in MATLAB file '{path}' is a {type(value).__name__}, not a "
            "numeric array. Expected a numeric or logical matrix of 0/1 spikes."
        )
    kind = value.dtype.kind
    if kind == "V" and value.dtype.names is not None:
        return SpikeDataError(
            f"Variable '{name}' in MATLAB file '{path}' is a MATLAB struct (fields: "
            f"{', '.join(value.dtype.names)}). Expected a numeric or logical matrix of 0/1 "
            "spikes: save the field itself, e.g. data = s.spikes; save(f, 'data')."
        )
    if kind == "O":
        return SpikeDataError(
            f"Variable '{name}' in MATLAB file '{path}' is a MATLAB cell array or object. "
            "Expected a numeric or logical matrix of 0/1 spikes (use cell2mat in MATLAB)."
        )
    if kind in "US":
        return SpikeDataError(
            f"Variable '{name}' in MATLAB file '{path}' is text (MATLAB char). Expected a "
            "numeric or logical matrix of 0/1 spikes."
        )
    return value


_MAT73_NUMERIC = {
    "double", "single", "logical", "int8", "uint8", "int16", "uint16",
    "int32", "uint32", "int64", "uint64",
}  # fmt: skip


def _read_mat73(path: str) -> dict[str | None, Any]:
    import h5py

    out: dict[str | None, Any] = {}
    try:
        with h5py.File(path, "r") as fh:
            for name in fh:
                if name.startswith("#"):  # '#refs#', '#subsystem#': MATLAB internals
                    continue
                out[name] = _mat73_value(fh[name], name, path)
    except (OSError, RuntimeError, KeyError, ValueError) as exc:
        raise SpikeDataError(
            f"File '{path}' is a truncated or corrupt MATLAB v7.3 (HDF5) file ({exc})."
        ) from None
    if not out:
        raise SpikeDataError(f"MATLAB file '{path}' holds no variables. Expected an array of spikes.")
    return out


def _mat73_value(obj: Any, name: str, path: str) -> Any:
    import h5py

    where = f"Variable '{name}' in MATLAB v7.3 file '{path}'"
    mclass = obj.attrs.get("MATLAB_class", b"")
    if isinstance(mclass, bytes):
        mclass = mclass.decode("ascii", "replace")
    mclass = str(mclass)
    if isinstance(obj, h5py.Group):
        if "MATLAB_sparse" in obj.attrs:
            return SpikeDataError(
                f"{where} is a MATLAB sparse matrix, which is not read from v7.3 files. "
                "Expected a full matrix: save full(data), or save with -v7."
            )
        fields = ", ".join(obj.keys())
        return SpikeDataError(
            f"{where} is a MATLAB {mclass or 'struct'} (fields: {fields}). Expected a numeric "
            "or logical matrix of 0/1 spikes: save the field itself."
        )
    if mclass == "cell" or obj.dtype.kind == "O" or h5py.check_dtype(ref=obj.dtype):
        return SpikeDataError(
            f"{where} is a MATLAB cell array. Expected a numeric or logical matrix of 0/1 "
            "spikes (use cell2mat in MATLAB)."
        )
    if mclass == "char":
        return SpikeDataError(
            f"{where} is text (MATLAB char). Expected a numeric or logical matrix of 0/1 spikes."
        )
    if mclass and mclass not in _MAT73_NUMERIC:
        return SpikeDataError(
            f"{where} is a MATLAB {mclass}. Expected a numeric or logical matrix of 0/1 spikes."
        )
    if int(obj.attrs.get("MATLAB_empty", 0)):
        dims = tuple(int(d) for d in np.asarray(obj[()]).ravel()[::-1]) if obj.size else ()
        return np.zeros(dims or (0, 0), dtype=np.uint8)
    if obj.dtype.kind == "V":  # complex numbers are stored as compound (real, imag)
        names = obj.dtype.names or ()
        if set(names) == {"real", "imag"}:
            data = obj[()]
            return (data["real"] + 1j * data["imag"]).T
        return SpikeDataError(f"{where} has an unsupported compound type {obj.dtype}.")
    # MATLAB stores column-major: h5py sees the transposed array
    return np.asarray(obj[()]).T
