"""Folder walks leave out what a ``.assessignore`` file lists; a path named explicitly is
always read (``sample_projects/broken/`` is left out of ``sample_projects/`` this way)."""

from __future__ import annotations

from helpers import AS_OF, ROOT, write_rows

from assessment import read_applications
from assessment.intake.workbooks import find_inputs

SAMPLES = ROOT / "sample_projects"


def _list(path, project_id):
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_rows(path, [["Project ID", "PUE"], [project_id, 1.3]])


def _tree(root):
    """A folder with a listed folder, a name pattern, a nested anchored pattern and a file
    that is named like a listed folder."""
    (root / ".assessignore").write_text(
        "# the inputs broken on purpose\n\n  broken/  \ndraft_*.xlsx\n", encoding="utf-8"
    )
    (root / "sub").mkdir()
    (root / "sub" / ".assessignore").write_text("old/*.xlsx\n", encoding="utf-8")
    for relative, project_id in {
        "good.xlsx": "G-1",
        "broken/bad.xlsx": "B-1",
        "broken/deeper/bad2.xlsx": "B-2",
        "sub/draft_one.xlsx": "D-1",  # a root pattern without "/" matches at any depth
        "sub/old/stale.xlsx": "S-1",  # anchored at sub/
        "sub/old/keep/kept.xlsx": "K-1",  # old/*.xlsx does not reach one folder deeper
        "old/not_under_sub.xlsx": "K-2",  # sub's pattern does not apply above sub
        "also/broken.xlsx": "K-3",  # "broken/" matches folders only
    }.items():
        _list(root / relative, project_id)
    return root


def _names(paths, root):
    return sorted(path.relative_to(root).as_posix() for path in paths)


def test_a_walk_leaves_out_what_the_ignore_files_list(tmp_path):
    root = _tree(tmp_path)
    assert _names(find_inputs([root]), root) == [
        "also/broken.xlsx",
        "good.xlsx",
        "old/not_under_sub.xlsx",
        "sub/old/keep/kept.xlsx",
    ]
    projects, _, problems = read_applications([root], as_of=AS_OF)
    assert sorted(projects.index) == ["G-1", "K-1", "K-2", "K-3"]
    assert set(problems["project_id"]) == {"G-1", "K-1", "K-2", "K-3"}  # programme fields


def test_named_paths_are_read_whatever_the_ignore_files_say(tmp_path):
    root = _tree(tmp_path)
    named = [root / "broken", root / "sub" / "draft_one.xlsx", root / "sub" / "old"]
    assert _names(find_inputs(named), root) == [
        "broken/bad.xlsx",
        "broken/deeper/bad2.xlsx",
        "sub/draft_one.xlsx",
        "sub/old/keep/kept.xlsx",
        "sub/old/stale.xlsx",
    ]
    projects, _, _ = read_applications([root, *named], as_of=AS_OF)
    assert {"B-1", "B-2", "D-1", "S-1", "G-1"} <= set(projects.index)


def test_the_samples_walk_leaves_broken_out_and_naming_it_reads_it():
    assert (SAMPLES / ".assessignore").read_text(encoding="utf-8").splitlines()[-1] == "broken/"
    walked = _names(find_inputs([SAMPLES]), SAMPLES)
    assert walked and not [name for name in walked if "broken" in name]
    assert _names(find_inputs([SAMPLES / "broken"]), SAMPLES) == [
        "broken/12_broken_pue_and_equity.xlsx",
        "broken/13_broken_future_date_and_share.xlsx",
        "broken/14_broken_cluster_not_in_hub.xlsx",
        "broken/15_broken_missing_name_bad_province.xlsx",
        "broken/candidate_rows_with_errors.xlsx",
    ]
