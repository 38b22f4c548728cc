"""Every ``assess`` command that reads an input, given every file of the hostile corpus
(``tests/corpus/make_corpus.py``) where its input goes: each ends in a result or a clear error
(exit 0, 1 or 2), never an internal error, a traceback or a hang."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import fields

import pytest
from helpers import ROOT

from assessment.cli import main

sys.path.insert(0, str(ROOT / "tests" / "corpus"))
from make_corpus import make_corpus  # noqa: E402

MODEL = str(ROOT / "rules" / "model" / "default_model.skops")
RULES = str(ROOT / "rules")
GOOD = str(ROOT / "sample_projects" / "03_shenzhen_edge_site.xlsx")
DATE = ["--as-of", "2025-06-30"]
PER_FILE = {
    "check": lambda f, out: ["check", f, *DATE],
    "predict": lambda f, out: ["predict", MODEL, f],
    "train": lambda f, out: ["train", f, "--target", "defaulted", "-o", str(out / "m.skops")],
    "backtest": lambda f, out: ["backtest", f, "--target", "defaulted", "--no-model"],
    "monitor": lambda f, out: ["monitor", f, f],
    "score --model": lambda f, out: ["score", GOOD, *DATE, "--model", f],
    "score --rules": lambda f, out: ["score", GOOD, *DATE, "--no-model", "--rules", f],
}
# Commands that take folders get the whole corpus at once: the good files are scored while the
# bad ones are reported beside them.
WHOLE_FOLDER = {
    "score": lambda f, out: ["score", f, *DATE, "--format", "json"],
    "screen": lambda f, out: ["screen", f, "-o", str(out), *DATE, "--no-model"],
    "sweep": lambda f, out: [
        "sweep", "CMP-GB40879-LIMIT", "--from", "1.2", "--to", "1.5", "--steps", "2",
        "--portfolio", f, *DATE,
    ],
    "check": lambda f, out: ["check", f, *DATE, "--format", "json"],
    "rules diff": lambda f, out: ["rules", "diff", RULES, RULES, "--portfolio", f, *DATE],
}  # fmt: skip


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    return sorted(make_corpus(folder)), folder


def _answers(argv: list[str], capsys) -> tuple[int, str]:
    started = time.monotonic()
    code = main(argv)
    out, err = capsys.readouterr()
    assert code in (0, 1, 2), f"{argv}: exit {code}: {err[-500:]}"
    assert "internal error" not in err and "Traceback" not in err, argv
    assert code == 0 or (err + out).strip(), f"{argv}: exit {code} without a word"
    assert time.monotonic() - started < 20, f"{argv} took too long"
    return code, out


@pytest.fixture(autouse=True)
def _low_row_limit(monkeypatch):
    monkeypatch.setenv("ASSESS_MAX_ROWS", "500000")  # the million-row list is past it


@pytest.mark.parametrize("command", sorted(PER_FILE))
def test_every_corpus_file_gets_an_answer_from_every_command(command, corpus, tmp_path, capsys):
    names, folder = corpus
    for index, name in enumerate(names):
        _answers(PER_FILE[command](str(folder / name), tmp_path / f"out{index}"), capsys)


@pytest.mark.parametrize("command", sorted(WHOLE_FOLDER))
def test_the_whole_corpus_at_once_scores_the_good_files(command, corpus, tmp_path, capsys):
    _, folder = corpus
    code, out = _answers(WHOLE_FOLDER[command](str(folder), tmp_path / "out"), capsys)
    assert code == 2, "the corpus holds inputs with errors: listed, and the exit code says so"
    if command in ("score", "check"):
        scored = {p["project_id"] for p in json.loads(out)["projects"]}  # stdout: only JSON
        assert {"GOOD-1", "MERGED-1", "UNI-1", "CP-1", "DUP-1"} <= scored


def test_security_md_states_the_corpus_size_and_every_limit(corpus):
    from assessment.intake.limits import ENV_PREFIX, Limits, env_name

    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    names, _ = corpus
    assert f"committed binaries): {len(names)} files" in text
    for item in fields(Limits):
        assert f"`{env_name(item.name)}`" in text and env_name(item.name).startswith(ENV_PREFIX)


HISTORY = ROOT / "sample_projects" / "history" / "loan_history.parquet"


@pytest.fixture(scope="module")
def odd_tables(tmp_path_factory):
    import pandas as pd

    folder = tmp_path_factory.mktemp("tables")
    history = pd.read_parquet(HISTORY)
    history.head(0).to_csv(folder / "header_only.csv", index=False)
    text = history.head(30).astype(object)
    text.loc[3, "racks"] = "abc"
    text.to_csv(folder / "text_in_numbers.csv", index=False)
    few = history.head(20).assign(defaulted=0)
    few.loc[0, "defaulted"] = 1
    few.to_csv(folder / "one_default.csv", index=False)
    (folder / "no_features.txt").write_text("# nothing\n", encoding="utf-8")
    (folder / "twice.txt").write_text("racks\nracks\n", encoding="utf-8")
    history[["racks", "defaulted"]].to_csv(folder / "one_feature.csv", index=False)
    return folder


TRAIN = ["train", str(HISTORY), "--target", "defaulted"]
ODD_TABLE_RUNS = {
    "predict header only": (["predict", MODEL, "{d}/header_only.csv"], "the table has no rows"),
    "drift header only": (["drift", MODEL, "{d}/header_only.csv"], "the table has no rows"),
    "backtest text": (
        ["backtest", "{d}/text_in_numbers.csv", "--target", "defaulted", "--no-model"],
        "text where the history needs numbers",
    ),
    "train holdout 0": ([*TRAIN, "--holdout", "0"], "the hold-out share is out of range"),
    "train holdout nan": ([*TRAIN, "--holdout", "nan"], "the hold-out share is out of range"),
    "train holdout 0.999": ([*TRAIN, "--holdout", "0.999"], "too few loans of one outcome"),
    "train no features": ([*TRAIN, "--features", "{d}/no_features.txt"], "no feature to train"),
    "train twice": ([*TRAIN, "--features", "{d}/twice.txt"], "features named twice"),
    "train one default": (
        ["train", "{d}/one_default.csv", "--target", "defaulted"],
        "too few loans of one outcome in the history",
    ),
}


@pytest.mark.parametrize("run", sorted(ODD_TABLE_RUNS))
def test_odd_tables_and_options_of_the_model_commands_are_one_line(
    run, odd_tables, tmp_path, capsys
):
    argv, message = ODD_TABLE_RUNS[run]
    argv = [a.format(d=odd_tables) for a in argv]
    if argv[0] == "train":
        argv += ["-o", str(tmp_path / "m.skops")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_text_in_a_number_column_is_missing_for_predict_and_a_small_model_predicts(
    odd_tables, tmp_path, capsys
):
    assert main(["predict", MODEL, str(odd_tables / "text_in_numbers.csv")]) == 0
    model = str(tmp_path / "one.skops")
    data = str(odd_tables / "one_feature.csv")
    assert main(["train", data, "--target", "defaulted", "-o", model, "--kind", "logistic"]) == 0
    assert main(["predict", model, data, "-o", str(tmp_path / "p.csv")]) == 0
    assert "internal error" not in capsys.readouterr().err
