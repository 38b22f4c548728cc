"""Every ``assess`` command that reads an input, given every file of the hostile corpus
(``tests/corpus/make_corpus.py``) where its input goes: each ends in a result or a clear error
(exit 0, 1 or 2), never an internal error, a traceback or a hang."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import fields

import pytest
from conftest import ROOT

from assessment.cli import main

sys.path.insert(0, str(ROOT / "tests" / "corpus"))
from make_corpus import make_corpus  # noqa: E402

MODEL = str(ROOT / "rules" / "model" / "default_model.skops")
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
        "sweep", "GRN-GB40879-LIMIT", "--from", "1.2", "--to", "1.5", "--steps", "2",
        "--portfolio", f, *DATE,
    ],
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
    assert code in (0, 2)
    if command == "score":
        scored = {p["project_id"] for p in json.loads(out)["projects"]}
        assert {"GOOD-1", "MERGED-1", "UNI-1", "CP-1", "DUP-1"} <= scored


def test_security_md_states_the_corpus_size_and_every_limit(corpus):
    from assessment.limits import ENV_PREFIX, Limits, env_name

    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    names, _ = corpus
    assert f"committed binaries): {len(names)} files" in text
    for item in fields(Limits):
        assert f"`{env_name(item.name)}`" in text and env_name(item.name).startswith(ENV_PREFIX)
