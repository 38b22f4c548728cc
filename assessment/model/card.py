"""The model card's wording: ``templates/model/card.yaml`` (notes, row patterns, phrases) and
``templates/model/card.md`` (the Markdown page), filled with ``str.format_map`` (no code is
read from them). Only the packaged templates are read, and only numbers and text are handed
to them."""

from __future__ import annotations

import functools

from .._shared.resources import data_dir
from .._shared.strict_yaml import parse_yaml


@functools.cache
def wording() -> dict:
    """The card's wording (``templates/model/card.yaml``), read once."""
    text = (data_dir("templates") / "model" / "card.yaml").read_text("utf-8")
    return parse_yaml(text)


def notes(kind: str) -> dict[str, str]:
    """The notes a card of a ``kind`` model carries: missing values, reasons, calibration."""
    words = wording()
    return {
        "missing_values": words["missing_values"][kind],
        "reasons": words["reasons"][kind],
        "calibration_method": words["calibration_method"],
    }


def card_markdown(card: dict) -> str:
    """The model card as Markdown for people (``templates/model/card.md``)."""
    page = (data_dir("templates") / "model" / "card.md").read_text("utf-8")
    return page.format_map(_facts(card, wording()))


def _facts(card: dict, words: dict) -> dict:
    balance, data = card["class_balance"], card["training_data"]
    return {
        "kind": card["kind"],
        "artefact_file": card["artefact"]["file"],
        "artefact_sha256": card["artefact"]["sha256"],
        "target": card["target"],
        "trained_on": card["trained_on"],
        "outcomes": words["outcomes"][
            card.get("outcomes") if card.get("outcomes") in ("real", "synthetic") else "unstated"
        ],
        "data_rows": data["rows"],
        "data_columns": data["columns"],
        "data_sha256": data["sha256"],
        **{k: balance[k] for k in ("defaults", "rows", "default_rate", "train_rows", "test_rows")},
        "metric_rows": "\n".join(_metric_rows(card["metrics"], words)),
        "feature_rows": "\n".join(_feature_rows(card, words)),
        "missing_values": card["missing_values"],
        "reasons": card["reasons"],
        "calibration_method": card["calibration"]["method"],
        "decile_rows": "\n".join(_decile_rows(card["calibration"], words)),
        "libraries": words["library_separator"].join(
            words["library"].format_map({"name": k, "version": v})
            for k, v in card["libraries"].items()
        ),
    }


def _metric_rows(metrics: dict, words: dict) -> list[str]:
    holdout, cv = metrics["holdout"], metrics["cross_validation"]
    return [
        words["metric_row"].format_map(
            {
                "name": name,
                "holdout": words["no_holdout"]
                if holdout is None
                else words["holdout_value"].format_map({"value": holdout[name]}),
                "cross_validation": cv[name],
            }
        )
        for name in cv
    ]


def _feature_rows(card: dict, words: dict) -> list[str]:
    directions = words["directions"]
    return [
        words["feature_row"].format_map(
            {
                "feature": feature,
                "kind": words["feature_kinds"][
                    "numeric" if feature in card["numeric"] else "categorical"
                ],
                "direction": directions.get(
                    _direction_key(card["directions"].get(feature)), directions["unknown"]
                ),
            }
        )
        for feature in card["features"]
    ]


def _decile_rows(calibration: dict, words: dict) -> list[str]:
    deciles = calibration["holdout_deciles"] or calibration["cross_validation_deciles"]
    return [words["decile_row"].format_map(decile) for decile in deciles]


def _direction_key(step: object) -> str:
    """``"1"`` or ``"-1"`` for a known direction, as ``card.yaml``'s ``directions`` names it."""
    return str(int(step)) if isinstance(step, int | float) and step in (-1, 1) else "unknown"
