"""Save and load risk models with skops: never pickle, and only an explicit list of trusted
types is ever loaded. A file that holds anything else is refused with the types it holds.

The artefact is one ``.skops`` file; beside it ``<name>.card.json`` and ``<name>.card.md`` hold
the model card. The artefact's SHA-256 identifies the model version in every result.

A gbm's compiled form (:mod:`.compiled`: its column step and trees as numpy arrays, with the
model's other parts as JSON text) is written beside it as ``<name>.compiled.npz``, stamped with
the artefact's SHA-256. Loading reads the artefact's bytes (for the hash and the archive's
checks) and then, when the compiled form is there and stamped with that hash, builds the model
from it: no scikit-learn and no skops are imported, and the numbers are the same. A compiled
form that is missing, stale, unreadable or inconsistent is passed over: the artefact is loaded.

skops is imported when a model file is written or read, not with this module (``sio``, the
module's name for ``skops.io``, is looked up then): importing ``skops.io`` imports every
estimator of scikit-learn (its default trusted types), seconds that a command which only
names the default model's path need not spend.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import threading
import zipfile
from pathlib import Path

import numpy as np

from .._shared.files import sha256_bytes, sha256_of, write_atomically
from .._shared.resources import data_dir
from .._shared.text import shown
from ..errors import ModelError
from . import compiled
from ._skops_schema import stable_zip
from .card import card_markdown
from .estimator import KINDS, OUTCOMES, RiskModel


def _skops():
    """``skops.io``, imported on first use."""
    import skops.io

    return skops.io


def __getattr__(name: str) -> object:
    """``sio``: ``skops.io`` (imported on first use)."""
    if name == "sio":
        return _skops()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


FORMAT = "assessment-risk-model/1"
# Limits: a model file past them is refused before skops reads it (the packaged model is
# 0.2 MB, 1.3 MB unpacked).
MAX_MODEL_BYTES = 100 * 2**20
MAX_MODEL_UNPACKED_BYTES = 500 * 2**20
TRUSTED_TYPES = frozenset(
    {
        "builtins.slice",
        "numpy.dtype",
        "numpy.ndarray",
        "numpy.float64",
        "numpy.int64",
        "numpy.bool_",
        "numpy.random._mt19937.MT19937",
        "numpy.random._generator.Generator",
        "numpy.random._pcg64.PCG64",
        "numpy.random.mtrand.RandomState",
        "sklearn.compose._column_transformer.ColumnTransformer",
        "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
        "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn._loss.loss.HalfBinomialLoss",
        "sklearn._loss.link.LogitLink",
        "sklearn._loss.link.Interval",
        "sklearn._loss._loss.CyHalfBinomialLoss",
        "sklearn.impute._base.SimpleImputer",
        "sklearn.impute._base.MissingIndicator",
        "sklearn.linear_model._logistic.LogisticRegression",
        "sklearn.pipeline.Pipeline",
        "sklearn.preprocessing._encoders.OneHotEncoder",
        "sklearn.preprocessing._data.StandardScaler",
    }
)
_FIELDS = (
    "kind",
    "target",
    "numeric",
    "categorical",
    "slope",
    "intercept",
    "directions",
    "column_means",
    "reference",
    "card",
)


def default_model_path() -> Path:
    return data_dir("rules") / "model" / "default_model.skops"


def compiled_path(path: Path) -> Path:
    """Where the compiled form of the artefact at ``path`` is kept."""
    return path.with_suffix(".compiled.npz")


def save_model(model: RiskModel, path: str | Path) -> str:
    """Write the artefact and its model card; return the artefact's SHA-256. A model that
    :func:`load_model` would refuse (e.g. a calibration that is not finite) is not written."""
    path = Path(path)
    problem = model.problem()
    if problem:
        raise ModelError("the model is not usable", where=str(path), got=problem)
    fitted = with_pipeline(model)
    payload = {
        "format": FORMAT,
        "pipeline": fitted.pipeline,
        **{name: _same_or_own(model, fitted, name) for name in _FIELDS if name != "card"},
        "card": json.dumps(_own_card(model.card), sort_keys=True),
    }
    data = stable_zip(_skops().dumps(payload))
    write_atomically(path, lambda temporary: temporary.write_bytes(data))
    digest = file_hash(path)
    write_compiled(model, path, digest)
    card = {
        **_own_card(model.card),
        "artefact": {"file": path.name, "sha256": digest, "format": FORMAT},
    }
    card_json = json.dumps(card, indent=1, ensure_ascii=False) + "\n"
    for suffix, text in ((".card.json", card_json), (".card.md", card_markdown(card))):
        write_atomically(path.with_suffix(suffix), lambda t, x=text: t.write_text(x, "utf-8"))
    return digest


def load_model(path: str | Path | None = None) -> RiskModel:
    """Load an artefact written by :func:`save_model`, trusting only ``TRUSTED_TYPES``.

    Anything else is refused with one :class:`ModelError` naming the file and the reason: a
    missing, empty, oversized or damaged file, another kind of file, untrusted types, an
    archive that is not an assessment risk model, parts of the wrong type, a non-finite
    calibration or coefficient, or a pipeline that cannot score a row.

    The file is read once; an artefact of the same bytes as one loaded before in this process
    is not loaded again (:func:`_loaded`). Each call returns its own :class:`RiskModel`, so a
    caller that changes one changes no other."""
    path = Path(path) if path else default_model_path()
    data = _artefact_bytes(path)
    digest = sha256_bytes(data)
    return _own_copy(_loaded(data, digest, path))


def _loaded(data: bytes, digest: str, path: Path) -> RiskModel:
    """The model of these bytes, loaded and checked on first sight; at most ``_KEPT`` kept.
    The archive is read and its entries' CRCs checked on first sight; its unpacked size is
    held to the limit every time (the limits are settings)."""
    with _LOCK:
        kept = _LOADED.pop(digest, None)
    if kept is None:
        unpacked = _checked_archive(data, path)
        model = _compiled_model(data, digest, path) or _checked_model(data, digest, path)
    else:
        model, unpacked = kept
        _check_unpacked(unpacked, path)
    with _LOCK:
        _LOADED[digest] = (model, unpacked)
        while len(_LOADED) > _KEPT:
            _LOADED.pop(next(iter(_LOADED)))
    return model


_LOADED: dict[str, tuple[RiskModel, int]] = {}  # by the artefact's SHA-256, oldest first
_KEPT = 4
_LOCK = threading.Lock()


def _checked_archive(data: bytes, path: Path) -> int:
    """The unpacked size of the intact, bounded skops archive ``data`` (else a ModelError)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(entry.file_size for entry in archive.infolist())
            _check_unpacked(unpacked, path)
            if "schema.json" not in archive.namelist():
                raise _unreadable(path, "a zip archive without schema.json (not a skops file)")
            damaged = archive.testzip()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as error:
        raise _unreadable(path, f"not a zip archive or a truncated one ({error})") from None
    if damaged:
        raise _unreadable(path, f"a damaged entry {damaged!r}")
    return unpacked


def _check_unpacked(unpacked: int, path: Path) -> None:
    if unpacked > MAX_MODEL_UNPACKED_BYTES:
        limit = shown(MAX_MODEL_UNPACKED_BYTES)
        raise _unreadable(path, f"{shown(unpacked, unit='bytes')} unpacked, over {limit}")


def _unreadable(path: Path, problem: str) -> ModelError:
    return ModelError(
        "not a readable model artefact",
        where=str(path),
        expected="a skops zip archive written by `assess train`",
        got=problem,
        hint=_HINT,
    )


def _checked_model(data: bytes, digest: str, path: Path) -> RiskModel:
    values = _checked_parts(_payload(data, path), path)
    values["card"] |= {"sha256": digest}
    model = RiskModel(**values)
    problem = model.problem()
    if problem:
        raise ModelError("the model is not usable", where=str(path), got=problem, hint=_HINT)
    return model


def _same_or_own(model: RiskModel, fitted: RiskModel, name: str) -> object:
    """``fitted``'s part where ``model``'s equals it (the objects the artefact shares, e.g.
    the feature lists the pipeline holds, which skops stores once: the same bytes), else
    ``model``'s."""
    own, read = getattr(model, name), getattr(fitted, name)
    return read if read is not own and read == own else own


def with_pipeline(model: RiskModel) -> RiskModel:
    """The model with its fitted pipeline: for one loaded from its compiled form, the model
    of the artefact it was loaded beside (read now: scikit-learn and skops are imported)."""
    if model.pipeline is not None or "artefact" not in model.derived:
        return model
    data, path = model.derived["artefact"][1]
    return _checked_model(data, sha256_bytes(data), path)


def write_compiled(model: RiskModel, path: Path, digest: str) -> None:
    """Write the compiled form of the gbm ``model`` beside its artefact at ``path`` (whose
    SHA-256 is ``digest``); for a logistic model, remove one left from an earlier model."""
    target = compiled_path(path)
    if model.kind != "gbm":
        target.unlink(missing_ok=True)
        return
    parts = {name: getattr(model, name) for name in _FIELDS if name != "card"}
    parts["card"] = json.dumps(_own_card(model.card), sort_keys=True)
    arrays = compiled.to_arrays(model.compiled_form()) | {
        _STAMP: np.array(digest),
        _PARTS: np.array(json.dumps(parts)),  # in the order of the artefact
    }
    data = _npz_bytes(arrays)
    write_atomically(target, lambda temporary: temporary.write_bytes(data))


_STAMP, _PARTS = "artefact_sha256", "parts"


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """``arrays`` as an ``.npz`` archive (``numpy.load`` reads it) with fixed timestamps, so
    the same model gives the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, array in sorted(arrays.items()):
            entry = io.BytesIO()
            np.lib.format.write_array(entry, np.asarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entry.getvalue())
    return buffer.getvalue()


def _compiled_model(data: bytes, digest: str, path: Path) -> RiskModel | None:
    """The model of the artefact ``data`` at ``path`` built from its compiled form, or None
    when there is none stamped with ``digest`` or it does not pass the checks the artefact's
    parts pass. The artefact's bytes are kept with it (:func:`with_pipeline`)."""
    arrays = _compiled_arrays(compiled_path(path))
    if arrays is None or str(arrays.get(_STAMP)) != digest:
        return None
    try:
        values = _checked_parts({"pipeline": None, **json.loads(str(arrays[_PARTS]))}, path)
        form = compiled.from_arrays(arrays)
    except (ModelError, KeyError, TypeError, ValueError, RecursionError):
        return None
    values["card"] |= {"sha256": digest}
    derived = {"compiled": (None, form), "artefact": (None, (data, path))}
    model = RiskModel(**values, derived=derived)
    layout = (list(form.numeric), [name for name, _ in form.levels])
    fits = model.kind == "gbm" and layout == (model.numeric, model.categorical)
    return model if fits and not model.problem() else None


def _compiled_arrays(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of the ``.npz`` file at ``path`` (no pickled objects), or None."""
    try:
        if not path.is_file() or path.stat().st_size > MAX_MODEL_BYTES:
            return None
        with zipfile.ZipFile(path) as archive:
            if sum(entry.file_size for entry in archive.infolist()) > MAX_MODEL_UNPACKED_BYTES:
                return None
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None


def _own_copy(model: RiskModel) -> RiskModel:
    """A copy whose fields the caller may replace, and whose card, directions, means and
    reference it may edit; the fitted pipeline (with the feature lists it holds), what is
    worked out from it once (``derived``: the feature map, the trees laid out for the walk)
    and the neutral values stay shared, read-only."""
    editable = ("directions", "column_means", "reference", "card")
    return dataclasses.replace(model, **copy.deepcopy({n: getattr(model, n) for n in editable}))


_HINT = "train one with `assess train`; do not load files of unknown origin"


def _artefact_bytes(path: Path) -> bytes:
    """The bytes of a bounded, non-empty file at ``path``, read once."""
    if not path.is_file():
        what = "not a file" if path.exists() else "no such model file"
        raise ModelError(what, where=str(path), expected="a .skops model artefact", hint=_HINT)
    size = path.stat().st_size
    if size > MAX_MODEL_BYTES:
        raise ModelError(
            "the model file is too large",
            where=str(path),
            expected=f"at most {shown(MAX_MODEL_BYTES, unit='bytes')} (artefact.MAX_MODEL_BYTES)",
            got=shown(size, unit="bytes"),
            hint=_HINT,
        )
    with open(path, "rb") as handle:
        data = handle.read(MAX_MODEL_BYTES + 1)
    if not data:
        raise ModelError("the model file is empty", where=str(path), got="0 bytes", hint=_HINT)
    return data


def _payload(data: bytes, path: Path) -> dict:
    """The archive's content, loaded with the trusted types only: skops checks every type the
    archive names against them before it builds anything (a file it refuses is then read
    again to say why, :func:`_refusal`)."""
    try:
        payload = _skops().loads(data, trusted=sorted(TRUSTED_TYPES))
    except Exception as error:  # skops raises many types for a malformed or untrusted file
        raise _refusal(data, path, error) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        got = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise ModelError(
            "not an assessment risk model",
            where=str(path),
            expected=FORMAT,
            got=_shown_value(got),
            hint=_HINT,
        )
    return payload


def _refusal(data: bytes, path: Path, error: Exception) -> ModelError:
    """Why skops refused the archive: a schema it cannot read, types that are not trusted
    (named), or a part it cannot build (e.g. an array that needs pickle)."""
    try:
        found = set(_skops().get_untrusted_types(data=data))
    except Exception as unreadable:  # skops raises many types for a malformed schema
        got = _error_text(unreadable)
        return ModelError("not a readable model artefact", where=str(path), got=got, hint=_HINT)
    untrusted = sorted(found - TRUSTED_TYPES)
    if untrusted:
        return ModelError(
            "the model file holds types that are not trusted",
            where=str(path),
            expected="only scikit-learn pipeline parts and numpy arrays",
            got=", ".join(untrusted),
            hint="do not load files of unknown origin",
        )
    got = _error_text(error)
    return ModelError("the model file cannot be loaded", where=str(path), got=got, hint=_HINT)


def _error_text(error: BaseException) -> str:
    return _shown_value(f"{type(error).__name__}: {error}", quote=False)


def _shown_value(value: object, quote: bool = True) -> str:
    """A value in one short line: its repr (``quote``) or as :func:`shown` writes it."""
    text = " ".join((repr(value) if quote else shown(value)).split())
    return text if len(text) <= 120 else text[:117] + "..."


def _checked_parts(payload: dict, path: Path) -> dict:
    """The payload's parts for :class:`RiskModel`, each of the type it must have."""
    missing = [name for name in ("pipeline", *_FIELDS) if name not in payload]
    if missing:
        raise ModelError(
            "the model file lacks parts",
            where=str(path),
            expected=", ".join(("pipeline", *_FIELDS)),
            got="no " + ", ".join(missing),
            hint=_HINT,
        )
    values = {name: payload[name] for name in ("pipeline", *_FIELDS)}
    values["card"] = _card(values["card"], path)
    for name, (valid, expected) in _PART_CHECKS.items():
        if not valid(values[name]):
            raise ModelError(
                f"the model's {name} is not valid",
                where=str(path),
                expected=expected,
                got=_shown_value(values[name]),
                hint=_HINT,
            )
    return values


def _card(text: object, path: Path) -> dict:
    """The model card stored in the artefact: JSON text of an object with the known sections."""
    try:
        card = json.loads(text) if isinstance(text, str) else None
    except (ValueError, RecursionError):
        card = None
    problem = _card_problem(card)
    if problem:
        raise ModelError(
            "the model card is not valid",
            where=str(path),
            expected="JSON text of an object with the sections `assess train` writes",
            got=problem if card is not None else _shown_value(text),
            hint=_HINT,
        )
    return card


_CARD_SECTIONS = {
    "kind": str,
    "target": str,
    "trained_on": str,
    "features": list,
    "metrics": dict,
    "class_balance": dict,
    "training_data": dict,
    "calibration": dict,
    "split": dict,
}


def _card_problem(card: object) -> str:
    if not isinstance(card, dict):
        return "not an object"
    wrong = [
        f"{name} is {type(card[name]).__name__}"
        for name, kind in _CARD_SECTIONS.items()
        if name in card and not isinstance(card[name], kind)
    ]
    metrics = card.get("metrics") if isinstance(card.get("metrics"), dict) else {}
    wrong += [
        f"metrics.{part} is {type(metrics[part]).__name__}"
        for part in ("holdout", "cross_validation")
        if metrics.get(part) is not None and not isinstance(metrics[part], dict)
    ]
    if "outcomes" in card and card["outcomes"] not in OUTCOMES:
        wrong.append(f"outcomes is {_shown_value(card['outcomes'])}, not {' or '.join(OUTCOMES)}")
    return "; ".join(wrong)


def _is_names(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(name, str) and name for name in value)


def _is_finite(value: object) -> bool:
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool | np.bool_)
        and bool(np.isfinite(value))
    )


def _is_directions(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(name, str) and step in (-1, 0, 1) and not isinstance(step, bool)
        for name, step in value.items()
    )


_PART_CHECKS = {
    "kind": (lambda value: value in KINDS, " or ".join(KINDS)),
    "target": (lambda value: isinstance(value, str) and bool(value), "a column name"),
    "numeric": (_is_names, "a list of column names"),
    "categorical": (_is_names, "a list of column names"),
    "slope": (_is_finite, "a finite calibration slope"),
    "intercept": (_is_finite, "a finite calibration intercept"),
    "directions": (_is_directions, "a mapping of feature names to -1, 0 or 1"),
    "column_means": (
        lambda value: isinstance(value, list) and all(_is_finite(v) for v in value),
        "a list of finite numbers",
    ),
    "reference": (lambda value: isinstance(value, dict), "a mapping of features to shares"),
}


def _own_card(card: dict) -> dict:
    """The card as trained (without the hash that loading adds)."""
    return {key: value for key, value in card.items() if key != "sha256"}


def file_hash(path: Path) -> str:
    """The artefact's SHA-256, which identifies the model in every result."""
    return sha256_of(path)
