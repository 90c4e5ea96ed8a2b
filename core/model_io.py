"""Model files that can never execute code when loaded.

A model file is a NumPy ``.npz`` archive (a ZIP of ``.npy`` arrays) holding numeric arrays and one JSON
document of metadata. It is read with ``allow_pickle=False``, so no object is ever unpickled; any other
content (a pickle, a torch checkpoint, an archive with object arrays) is refused with a message.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .io import atomic_path

FORMAT = "landslide-model"
FORMAT_VERSION = 1
MODEL_EXTENSION = ".lsm"
_META_KEY = "__meta__"


@dataclass
class ModelFile:
    """A model's kind ('pinn', 'snn', …), metadata (JSON-serialisable) and named numeric arrays."""

    kind: str
    meta: dict
    arrays: dict = field(default_factory=dict)


def save_model(path: str | os.PathLike[str], model: ModelFile) -> Path:
    """Write ``model`` to ``path`` atomically."""
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": model.kind, "meta": model.meta}
    payload = {_META_KEY: np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)}
    for name, arr in model.arrays.items():
        a = np.asarray(arr)
        if a.dtype == object:
            raise ValueError(f"array {name!r} has dtype object; model files hold numeric arrays only")
        payload[name] = a
    target = Path(path)
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as fh:  # a file object stops numpy from appending '.npz' to the name
            np.savez_compressed(fh, **payload)
    return target


def load_model(path: str | os.PathLike[str], expected_kind: str | tuple | None = None) -> ModelFile:
    """Read a model file; raise ``ValueError`` for anything that is not a model file of a known version."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"model file {p} does not exist")
    with open(p, "rb") as fh:
        magic = fh.read(4)
    if magic[:1] == b"\x80" or magic[:2] in (b"(d", b"(l", b"}q", b"]q"):
        raise ValueError(f"{p} is a Python pickle; pickles can run code when loaded and are refused")
    if magic != b"PK\x03\x04" or not zipfile.is_zipfile(p):
        raise ValueError(f"{p} is not a model file written by this plugin")
    try:
        with np.load(p, allow_pickle=False) as npz:
            if _META_KEY not in npz.files:
                raise ValueError(f"{p} has no model metadata; it was not written by this plugin")
            header = json.loads(bytes(npz[_META_KEY]).decode("utf-8"))
            arrays = {name: npz[name] for name in npz.files if name != _META_KEY}
    except ValueError as err:
        if "allow_pickle" in str(err) or "Object arrays" in str(err):
            raise ValueError(f"{p} holds Python objects (pickled arrays); refused because they can run code") from None
        raise
    if header.get("format") != FORMAT:
        raise ValueError(f"{p} is not a {FORMAT} file")
    version = int(header.get("format_version", -1))
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{p} was written by a newer version of the plugin (model format {version}; this one reads up to "
            f"{FORMAT_VERSION}): update the plugin"
        )
    kind = header.get("kind")
    if expected_kind is not None:
        allowed = (expected_kind,) if isinstance(expected_kind, str) else tuple(expected_kind)
        if kind not in allowed:
            raise ValueError(f"{p} holds a {kind!r} model; expected {' or '.join(allowed)}")
    return ModelFile(kind=kind, meta=header.get("meta", {}), arrays=arrays)
