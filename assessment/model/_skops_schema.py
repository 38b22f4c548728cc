"""The one place that reads skops' file layout (``schema.json`` by regular expression).

Why: skops names the objects of an artefact by their Python ``id()`` (``"__id__": 1403...``
in ``schema.json``, and ``"file": "1403....npy"`` for the array stored in the zip entry of
that name), and stamps each zip entry with the clock. So the same model saved twice gives
other bytes and another SHA-256, while the SHA-256 is what identifies a model in every result.
skops has no option for stable ids; :func:`stable_zip` renumbers them in order of appearance
and fixes the timestamps. It relies on skops writing ``schema.json`` with ``json.dumps``'
default separators, the ids as above, and arrays in entries named ``<id>.npy``.

Checked against skops 0.10 to 0.16 (installed 0.16.0, schema protocol 2); ``pyproject.toml``
pins ``SUPPORTED``. :func:`check` saves a small object with shared and separate arrays,
renumbers it and loads it back; it fails with a :class:`ModelError` naming the installed
version when the layout is not what the regular expression reads.
``tests/test_library_internals.py`` runs it.
"""

from __future__ import annotations

import functools
import io
import json
import re
import zipfile

import numpy as np

from ..errors import ModelError, unsupported_library

SUPPORTED = ">=0.10,<0.17"  # the pin in pyproject.toml (a test keeps the two equal)
_OBJECT_IDS = re.compile(r'("__id__": )(\d+)|("file": ")(\d+)(\.npy")')


def stable_zip(data: bytes) -> bytes:
    """The same archive with object ids renumbered in order of appearance and fixed
    timestamps, so that the same model has the same bytes and hash."""
    check()
    return _renumbered(data)


def _renumbered(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        entries = {item.filename: source.read(item) for item in source.infolist()}
    numbers: dict[str, str] = {}

    def renumber(match: re.Match) -> str:
        old = match.group(2) or match.group(4)
        new = numbers.setdefault(old, str(len(numbers) + 1))
        return (
            f"{match.group(1)}{new}" if match.group(1) else f"{match.group(3)}{new}{match.group(5)}"
        )

    schema = _OBJECT_IDS.sub(renumber, entries.pop("schema.json").decode("utf-8"))
    renamed = {
        f"{numbers.get(name.removesuffix('.npy'), name.removesuffix('.npy'))}.npy"
        if name.endswith(".npy")
        else name: body
        for name, body in entries.items()
    }
    renamed["schema.json"] = schema.encode("utf-8")
    return _zipped(renamed)


def _zipped(entries: dict[str, bytes]) -> bytes:
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
        for name in sorted(entries):
            target.writestr(
                zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)),
                entries[name],
                compress_type=zipfile.ZIP_DEFLATED,
            )
    return output.getvalue()


@functools.cache
def check() -> None:
    """Refuse, with the installed skops version named, a skops whose artefacts the regular
    expression does not renumber faithfully (checked once per process)."""
    problem = _problem()
    if problem:
        raise unsupported_library(
            ModelError,
            "skops",
            SUPPORTED,
            "writes model files in a layout the engine does not know",
            where="assessment/model/_skops_schema.py",
            got=problem,
        )


def _problem() -> str:
    """What is not as expected when a small object is saved, renumbered and loaded, or ""."""
    import skops.io as sio  # not with the module: it imports every estimator of scikit-learn

    shared = np.arange(4.0)
    sample = {"a": shared, "b": shared, "c": np.ones((2, 2)), "d": [1, "x"]}
    data = sio.dumps(sample)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        schema = archive.read("schema.json").decode("utf-8")
        arrays = [name for name in archive.namelist() if name.endswith(".npy")]
    if not isinstance(json.loads(schema).get("protocol"), int):
        return "schema.json has no protocol number"
    ids = {m.group(2) or m.group(4) for m in _OBJECT_IDS.finditer(schema)}
    if schema.count('"__id__"') != len(re.findall(r'"__id__": \d+', schema)):
        return 'schema.json writes "__id__" otherwise than "__id__": <number>'
    if len(arrays) != 2 or any(name.removesuffix(".npy") not in ids for name in arrays):
        return f"array entries are not named <id>.npy after the schema's ids: {sorted(arrays)}"
    loaded = sio.loads(_renumbered(data), trusted=sorted(sio.get_untrusted_types(data=data)))
    if not (np.array_equal(loaded["a"], shared) and loaded["a"] is loaded["b"]):
        return "a renumbered archive does not load back the same arrays"
    return ""
