"""The private internals of other libraries that the engine reads (scikit-learn's trees,
reportlab's ``Table._drawCell``, skops' schema layout), each behind one module: they are as
expected on the installed versions, what they give equals a public-API computation, a change
fails with the library and version named, and the modules' ranges are pyproject.toml's pins."""

from __future__ import annotations

import importlib.metadata
import io
import json
import tomllib
import zipfile

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from helpers import ROOT
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from pypdf import PdfReader
from reportlab.lib import colors
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Table
from reportlab.platypus.tables import CellStyle
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from trained import history, trained

from assessment.errors import AssessmentError, ModelError
from assessment.model import _sklearn_trees, _skops_schema
from assessment.model.estimator import prepare
from assessment.reports.pdf import _reportlab_table


def _version(name: str) -> str:
    return importlib.metadata.version(name)


@pytest.mark.parametrize(
    ("library", "module"),
    [
        ("scikit-learn", _sklearn_trees),
        ("reportlab", _reportlab_table),
        ("skops", _skops_schema),
    ],
)
def test_each_module_states_the_pin_of_pyproject_and_the_installed_version_meets_it(
    library, module
):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    pins = {Requirement(line).name: Requirement(line) for line in project["dependencies"]}
    assert pins[library].specifier == SpecifierSet(module.SUPPORTED)
    assert pins[library].specifier.contains(_version(library)), (
        f"{library} {_version(library)} is installed, outside the pinned {module.SUPPORTED}"
    )


# scikit-learn: the trees read from _predictors, _baseline_prediction and _bin_mapper


@pytest.fixture(scope="module")
def small_gbm():
    """A small gbm on numbers (some missing) and a one-hot category."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=600),
            "b": np.where(rng.random(600) < 0.1, np.nan, rng.normal(size=600)),
            "c": rng.choice(["x", "y", "z"], size=600).astype(object),
        }
    )
    logit = frame["a"] - np.nan_to_num(frame["b"]) + (frame["c"] == "x")
    y = (rng.random(600) < 1 / (1 + np.exp(-logit))).astype(int)
    pipeline = Pipeline(
        [
            (
                "prepare",
                ColumnTransformer(
                    [("num", "passthrough", ["a", "b"]), ("cat", OneHotEncoder(), ["c"])]
                ),
            ),
            ("model", HistGradientBoostingClassifier(max_iter=12, max_depth=3, random_state=0)),
        ]
    ).fit(frame, y)
    return pipeline, np.ascontiguousarray(pipeline[0].transform(frame), dtype=np.float64)


def test_the_tree_internals_are_there(small_gbm):
    pipeline, _ = small_gbm
    _sklearn_trees.check(pipeline[-1])
    assert len(_sklearn_trees.trees(pipeline[-1])) == 12


def test_each_tree_read_privately_gives_the_public_staged_scores(small_gbm):
    pipeline, x = small_gbm
    model = pipeline[-1]
    categories = _sklearn_trees.known_categories(model)
    total = np.full(len(x), _sklearn_trees.baseline(model))
    staged = model.staged_decision_function(x)  # public: the score after each tree
    for tree, after in zip(_sklearn_trees.trees(model), staged, strict=True):
        finder = _sklearn_trees.leaf_finder(tree)
        leaves = _sklearn_trees.leaves(finder, x, categories, 1)
        assert tree.nodes["is_leaf"][leaves].all()
        total += tree.nodes["value"][leaves]
        assert np.allclose(total, np.ravel(after), atol=1e-12)
    assert np.allclose(total, model.decision_function(x), atol=1e-12)


def test_the_path_attribution_adds_up_to_the_public_decision_function():
    rows = history(3000)
    model = trained("gbm")  # train_model(rows, "defaulted", kind="gbm"), shared
    contributions, base = model.contributions(rows)
    prepared = prepare(rows, model.numeric, model.categorical)
    public = model.slope * model.pipeline.decision_function(prepared) + model.intercept
    assert np.allclose(contributions.sum(axis=1) + base, public, atol=1e-9)


def test_a_changed_tree_layout_is_refused_naming_scikit_learn(small_gbm, monkeypatch):
    model = small_gbm[0][-1]
    monkeypatch.delattr(model, "_predictors")
    with pytest.raises(ModelError) as caught:
        _sklearn_trees.trees(model)
    message = str(caught.value)
    assert f"scikit-learn {_version('scikit-learn')}" in message
    assert "_predictors" in message and _sklearn_trees.SUPPORTED in message


# reportlab: Table._drawCell


def _table_page(table_class: type) -> bytes:
    """A one-page PDF of a small table of ``table_class`` with shared cell styles."""
    style = CellStyle("cells")
    style.fontname, style.fontsize, style.leading = "Helvetica", 9, 10.8
    style.color, style.valign = colors.black, "TOP"
    cells = [["name", "value"], ["PUE", "1.25\nmeasured"], ["", "x"]]
    table = table_class(cells, colWidths=[80, 80], cellStyles=[[style] * 2] * 3)
    output = io.BytesIO()
    page = Canvas(output, pagesize=(200, 200), invariant=1)
    table.wrapOn(page, 200, 200)
    table.drawOn(page, 10, 100)
    page.showPage()
    page.save()
    return output.getvalue()


def _words_at(pdf: bytes) -> list[tuple[str, float, float]]:
    """The words of the PDF's page with their positions."""
    found = []

    def visit(text, _cm, tm, _font, _size) -> None:
        if text.strip():
            found.append((text.strip(), round(tm[4], 2), round(tm[5], 2)))

    PdfReader(io.BytesIO(pdf)).pages[0].extract_text(visitor_text=visit)
    return sorted(found)


def test_the_text_table_writes_the_cells_where_reportlab_would():
    _reportlab_table.check.cache_clear()
    _reportlab_table.check()
    ours, theirs = _table_page(_reportlab_table.TextTable), _table_page(Table)
    assert ours != theirs  # the override ran: one text object instead of one per line
    words = _words_at(ours)
    assert [word for word, _, _ in words] == ["1.25", "PUE", "measured", "name", "value", "x"]
    assert words == _words_at(theirs)


def test_a_changed_draw_cell_is_refused_naming_reportlab(monkeypatch):
    monkeypatch.setattr(Table, "_drawCell", lambda self, value, style, where: None)
    _reportlab_table.check.cache_clear()
    with pytest.raises(AssessmentError) as caught:
        _reportlab_table.TextTable([["a"]])
    message = str(caught.value)
    assert f"reportlab {_version('reportlab')}" in message and "_drawCell" in message
    _reportlab_table.check.cache_clear()


# skops: schema.json read by regex


def _entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {item.filename: archive.read(item) for item in archive.infolist()}


def test_renumbering_makes_the_same_object_the_same_bytes_and_loads_back():
    _skops_schema.check.cache_clear()
    _skops_schema.check()
    shared = np.arange(5.0)
    first = {"a": shared, "b": shared, "c": np.eye(3)}
    second = {"a": shared.copy(), "b": None, "c": np.eye(3)}
    second["b"] = second["a"]
    data = [_skops_schema.stable_zip(sio.dumps(item)) for item in (first, second)]
    assert data[0] == data[1]
    arrays = [name for name in _entries(data[0]) if name != "schema.json"]
    assert len(arrays) == 2 and all(name.removesuffix(".npy").isdigit() for name in arrays)
    loaded = sio.loads(data[0], trusted=sorted(sio.get_untrusted_types(data=data[0])))
    assert np.array_equal(loaded["c"], np.eye(3)) and loaded["a"] is loaded["b"]


def test_a_changed_schema_layout_is_refused_naming_skops(monkeypatch):
    dumps = sio.dumps

    def compact_dumps(obj):  # as if skops wrote schema.json without spaces
        entries = _entries(dumps(obj))
        schema = json.loads(entries["schema.json"])
        entries["schema.json"] = json.dumps(schema, separators=(",", ":")).encode()
        output = io.BytesIO()
        with zipfile.ZipFile(output, "w") as archive:
            for name, body in entries.items():
                archive.writestr(name, body)
        return output.getvalue()

    monkeypatch.setattr(sio, "dumps", compact_dumps)
    _skops_schema.check.cache_clear()
    with pytest.raises(ModelError) as caught:
        _skops_schema.stable_zip(sio.dumps({"a": np.arange(3.0)}))
    message = str(caught.value)
    assert f"skops {_version('skops')}" in message and _skops_schema.SUPPORTED in message
    _skops_schema.check.cache_clear()
