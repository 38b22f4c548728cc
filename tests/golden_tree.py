"""Golden files of nested results: dicts, tuples and lists of DataFrames, numpy arrays and
plain values, kept as a folder of Parquet files and one JSON skeleton, read back exactly.

``save_tree(tree, folder)`` writes ``folder/tree.json`` (the nesting, every plain value, each
frame's or array's place) and ``folder/frames_<n>.parquet``: the frames of one shape (the same
columns, dtypes and kind of index) stacked, the rows of each listed in the skeleton; a 1-D
array is a frame of one column. A column of Python objects (values of mixed types) is stored as the
JSON text of each value, tagged where JSON alone would lose the type (a tuple, ``pd.NA``, a
date). ``load_tree(folder)`` gives the tree back; ``save_tree`` reads what it wrote and refuses
a tree that would not come back the same, dtypes and the types of objects included.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import is_object_dtype

INDEX, ARRAY = "_index", "array"


def save_tree(tree: object, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("frames_*.parquet"):
        old.unlink()
    shapes: list[dict] = []
    skeleton = _skeleton(tree, shapes)
    for number, shape in enumerate(shapes):
        frames = shape.pop("frames")
        shape["rows"] = [len(frame) for frame in frames]
        stacked = pd.concat(frames, ignore_index=True)
        for name in shape["objects"]:
            stacked[name] = stacked[name].map(lambda v: json.dumps(_plain(v), ensure_ascii=False))
        path = folder / f"frames_{number}.parquet"
        stacked.to_parquet(path, compression="zstd", compression_level=19, index=False)
    text = json.dumps({"shapes": shapes, "tree": skeleton}, ensure_ascii=False)
    (folder / "tree.json").write_text(text + "\n", encoding="utf-8")
    _check_same(load_tree(folder), tree)


def load_tree(folder: Path) -> object:
    found = json.loads((folder / "tree.json").read_text(encoding="utf-8"))
    frames = [_unstack(folder / f"frames_{n}.parquet", s) for n, s in enumerate(found["shapes"])]
    return _rebuild(found["tree"], frames)


# ---- the skeleton ------------------------------------------------------------------------


def _skeleton(value: object, shapes: list[dict]) -> object:
    if isinstance(value, pd.DataFrame):
        return {"frame": _place(value, shapes)}
    if isinstance(value, np.ndarray):
        if value.ndim != 1:
            raise ValueError(f"only 1-D arrays are kept; got one of shape {value.shape}")
        return {"array": _place(pd.DataFrame({ARRAY: value}), shapes)}
    if isinstance(value, dict):
        return {"dict": [[_plain(k), _skeleton(v, shapes)] for k, v in value.items()]}
    if isinstance(value, tuple | list):
        return {type(value).__name__: [_skeleton(v, shapes) for v in value]}
    return {"value": _plain(value)}


def _rebuild(node: dict, frames: list[list[pd.DataFrame]]) -> object:
    ((tag, body),) = node.items()
    if tag in ("frame", "array"):
        return frames[body[0]][body[1]]
    if tag == "dict":
        return {_unplain(k): _rebuild(v, frames) for k, v in body}
    if tag in ("tuple", "list"):
        return {"tuple": tuple, "list": list}[tag](_rebuild(v, frames) for v in body)
    return _unplain(body)


def _place(frame: pd.DataFrame, shapes: list[dict]) -> list[int]:
    """[shape number, frame number within it] of ``frame``, added to its shape's frames. An
    index 0, 1, 2 ... without a name is not stored."""
    if frame.index.nlevels != 1 or frame.columns.nlevels != 1:
        raise ValueError("only frames of one index level and one column level are kept")
    if not all(isinstance(name, str) and name != INDEX for name in frame.columns):
        raise ValueError(f"column names must be text other than {INDEX}; got {frame.columns}")
    ranged = frame.index.equals(pd.RangeIndex(len(frame))) and frame.index.name is None
    flat = frame.reset_index(drop=True) if ranged else frame.reset_index(names=INDEX)
    looks = {
        "columns": list(frame.columns),
        "index": "range" if ranged else {"name": frame.index.name},
        "dtypes": [str(d) for d in flat.dtypes],
        "objects": [name for name, d in flat.dtypes.items() if is_object_dtype(d)],
    }
    for number, shape in enumerate(shapes):
        if {k: shape[k] for k in looks} == looks and shape["frames"][0].dtypes.equals(flat.dtypes):
            shape["frames"].append(flat)
            return [number, len(shape["frames"]) - 1]
    shapes.append({**looks, "frames": [flat]})
    return [len(shapes) - 1, 0]


def _unstack(path: Path, shape: dict) -> list[pd.DataFrame] | list[np.ndarray]:
    """The frames of one shape (or the arrays, for a shape of arrays), in order."""
    stacked = pd.read_parquet(path)
    for name in shape["objects"]:
        codes, texts = pd.factorize(stacked[name])
        values = np.empty(len(texts), dtype=object)
        values[:] = [_unplain(json.loads(text)) for text in texts]
        stacked[name] = pd.Series(values[codes], index=stacked.index, dtype=object)
    ranged = shape["index"] == "range"
    names = [*([] if ranged else [INDEX]), *shape["columns"]]
    for name, dtype in zip(names, shape["dtypes"], strict=True):
        if str(stacked[name].dtype) != dtype:
            stacked[name] = stacked[name].astype(dtype)
    ends = np.cumsum(shape["rows"])
    if shape["columns"] == [ARRAY] and ranged:
        values = stacked[ARRAY].to_numpy()
        return [values[end - rows : end] for rows, end in zip(shape["rows"], ends, strict=True)]
    frames = [stacked.iloc[end - rows : end] for rows, end in zip(shape["rows"], ends, strict=True)]
    if ranged:
        return [frame.reset_index(drop=True) for frame in frames]
    return [frame.set_index(INDEX).rename_axis(shape["index"]["name"]) for frame in frames]


# ---- plain values (JSON, tagged where JSON would lose the type) --------------------------


def _plain(value: object) -> object:
    value = value.item() if isinstance(value, np.generic) else value
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if value is pd.NA or value is pd.NaT:
        return {"NA" if value is pd.NA else "NaT": None}
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return {type(value).__name__: value.isoformat()}
    if isinstance(value, tuple | list):
        return {type(value).__name__: [_plain(v) for v in value]}
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return {"ndarray": [_plain(v) for v in value], "dtype": str(value.dtype)}
    raise TypeError(f"a value of type {type(value).__name__} cannot be kept: {value!r}")


MADE = {
    "NA": lambda _: pd.NA,
    "NaT": lambda _: pd.NaT,
    "Timestamp": pd.Timestamp,
    "datetime": dt.datetime.fromisoformat,
    "date": dt.date.fromisoformat,
    "tuple": lambda body: tuple(_unplain(v) for v in body),
    "list": lambda body: [_unplain(v) for v in body],
}


def _unplain(value: object) -> object:
    if not isinstance(value, dict):
        return value
    if "ndarray" in value:
        return np.array([_unplain(v) for v in value["ndarray"]], dtype=value["dtype"])
    ((tag, body),) = value.items()
    return MADE[tag](body)


def _check_same(back: object, kept: object) -> None:
    """``back`` is ``kept``, exactly (dtypes, blanks and the types of objects included)."""
    if isinstance(kept, pd.DataFrame):
        pd.testing.assert_frame_equal(back, kept, check_exact=True)
        for name in [n for n, d in kept.dtypes.items() if is_object_dtype(d)]:
            assert back[name].map(type).equals(kept[name].map(type)), name
    elif isinstance(kept, np.ndarray):
        assert back.dtype == kept.dtype
        assert np.array_equal(back, kept, equal_nan=kept.dtype.kind == "f")
    elif isinstance(kept, dict):
        assert list(back) == list(kept)
        for key in kept:
            _check_same(back[key], kept[key])
    elif isinstance(kept, tuple | list):
        assert type(back) is type(kept) and len(back) == len(kept)
        for old, new in zip(kept, back, strict=True):
            _check_same(new, old)
    else:
        same = back is kept or back == kept or (back != back and kept != kept)
        assert type(back) is type(kept) and same, (back, kept)
