"""Save and load risk models with skops: never pickle, and only an explicit list of trusted
types is ever loaded. A file that holds anything else is refused with the types it holds.

The artefact is one ``.skops`` file; beside it ``<name>.card.json`` and ``<name>.card.md`` hold
the model card. The artefact's SHA-256 identifies the model version in every result.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

import skops.io as sio

from ._resources import data_dir
from .errors import ModelError
from .model import RiskModel

FORMAT = "assessment-risk-model/1"
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


def save_model(model: RiskModel, path: str | Path) -> str:
    """Write the artefact and its model card; return the artefact's SHA-256."""
    path = Path(path)
    payload = {
        "format": FORMAT,
        "pipeline": model.pipeline,
        **{name: getattr(model, name) for name in _FIELDS if name != "card"},
        "card": json.dumps(_own_card(model.card), sort_keys=True),
    }
    path.write_bytes(_stable_zip(sio.dumps(payload)))
    digest = file_hash(path)
    card = {
        **_own_card(model.card),
        "artefact": {"file": path.name, "sha256": digest, "format": FORMAT},
    }
    path.with_suffix(".card.json").write_text(
        json.dumps(card, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    path.with_suffix(".card.md").write_text(card_markdown(card), encoding="utf-8")
    return digest


def load_model(path: str | Path | None = None) -> RiskModel:
    """Load an artefact written by :func:`save_model`, trusting only ``TRUSTED_TYPES``."""
    path = Path(path) if path else default_model_path()
    try:
        found = set(sio.get_untrusted_types(file=path))
    except Exception as error:  # skops raises several types for a damaged file
        raise ModelError(
            "not a readable model artefact",
            where=str(path),
            got=f"{type(error).__name__}: {error}",
            hint="train one with `assess train`",
        ) from None
    untrusted = sorted(found - TRUSTED_TYPES)
    if untrusted:
        raise ModelError(
            "the model file holds types that are not trusted",
            where=str(path),
            expected="only scikit-learn pipeline parts and numpy arrays",
            got=", ".join(untrusted),
            hint="do not load files of unknown origin",
        )
    payload = sio.load(path, trusted=sorted(found))
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelError(
            "not an assessment risk model",
            where=str(path),
            expected=FORMAT,
            got=repr(
                payload.get("format") if isinstance(payload, dict) else type(payload).__name__
            ),
        )
    values = {name: payload[name] for name in _FIELDS}
    values["card"] = json.loads(values["card"]) | {"sha256": file_hash(path)}
    return RiskModel(pipeline=payload["pipeline"], **values)


def _own_card(card: dict) -> dict:
    """The card as trained (without the hash that loading adds)."""
    return {key: value for key, value in card.items() if key != "sha256"}


_OBJECT_IDS = re.compile(r'("__id__": )(\d+)|("file": ")(\d+)(\.npy")')


def _stable_zip(data: bytes) -> bytes:
    """The same archive with object ids renumbered in order of appearance and fixed timestamps,
    so that the same model has the same bytes and hash (skops names entries by ``id()``)."""
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
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
        for name in sorted(renamed):
            target.writestr(
                zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)),
                renamed[name],
                compress_type=zipfile.ZIP_DEFLATED,
            )
    return output.getvalue()


def file_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _shown(metrics: dict | None, name: str) -> str:
    return "-" if metrics is None else f"{metrics[name]:.4f}"


def card_markdown(card: dict) -> str:
    """The model card as Markdown for people."""
    holdout, cv = card["metrics"]["holdout"], card["metrics"]["cross_validation"]
    balance, data = card["class_balance"], card["training_data"]
    lines = [
        f"# Risk model card ({card['kind']})",
        "",
        f"- artefact: `{card['artefact']['file']}`, sha256 `{card['artefact']['sha256']}`",
        f"- target: `{card['target']}`; trained on {card['trained_on']}",
        f"- training data: {data['rows']} rows, {data['columns']} columns, sha256 "
        f"`{data['sha256']}`",
        f"- class balance: {balance['defaults']} defaults in {balance['rows']} "
        f"({balance['default_rate']:.2%}); {balance['train_rows']} train / "
        f"{balance['test_rows']} hold-out (stratified)",
        "",
        "| metric | hold-out | 5-fold CV (train part) |",
        "| --- | --- | --- |",
        *[f"| {name} | {_shown(holdout, name)} | {cv[name]:.4f} |" for name in cv],
        "",
        "## Features",
        "",
        "| feature | kind | known direction |",
        "| --- | --- | --- |",
        *[
            f"| `{f}` | {'numeric' if f in card['numeric'] else 'category'} | "
            f"{ {1: 'raises risk', -1: 'lowers risk'}.get(card['directions'].get(f), '-') } |"
            for f in card["features"]
        ],
        "",
        f"Missing values: {card['missing_values']}",
        "",
        f"Reason codes: {card['reasons']}",
        "",
        f"Calibration: {card['calibration']['method']}.",
        "",
        "| decile | count | mean PD | default rate |",
        "| --- | --- | --- | --- |",
        *[
            f"| {d['decile']} | {d['count']} | {d['mean_pd']:.4f} | {d['default_rate']:.4f} |"
            for d in card["calibration"]["holdout_deciles"]
            or card["calibration"]["cross_validation_deciles"]
        ],
        "",
        "Libraries: " + ", ".join(f"{k} {v}" for k, v in card["libraries"].items()),
        "",
    ]
    return "\n".join(lines)
