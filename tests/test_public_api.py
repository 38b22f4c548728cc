"""The public surface is small and pinned: a change to it is a deliberate change here."""

import assessment


def test_public_api_is_pinned():
    assert assessment.__all__ == [
        "Applications",
        "AssessmentError",
        "DictionaryError",
        "Evaluation",
        "InputError",
        "RuleError",
        "RuleSet",
        "Scored",
        "__version__",
        "add_indicators",
        "evaluate_rules",
        "load_dictionary",
        "load_rules",
        "read_applications",
        "score_applications",
        "write_template",
        "yearly_indicators",
    ]
    for name in assessment.__all__:
        assert hasattr(assessment, name), name


def test_read_applications_unpacks_into_three_frames(tmp_path):
    projects, yearly, problems = assessment.read_applications([tmp_path])
    assert list(yearly.columns) == ["project_id", "year", "series", "value"]
    assert projects.index.name == "project_id" and projects.empty and problems.empty
