"""Screening's Settings use the packaged model by default, as ``assess screen`` and
``score_applications`` do; ``model=None`` screens with the rules alone."""

from __future__ import annotations

import pickle

from helpers import ROOT

from assessment.model.persist import default_model_path
from assessment.screening.batch import screen_inputs
from assessment.screening.records import Settings

SAMPLE = ROOT / "sample_projects" / "01_guizhou_guian_hyperscale.xlsx"


def test_the_default_is_the_packaged_model_and_none_is_the_rules_alone():
    assert Settings(as_of="2025-06-30").model == str(default_model_path())
    assert Settings(as_of="2025-06-30", model=None).model is None
    assert Settings(as_of="2025-06-30", model=default_model_path()).model == str(
        default_model_path()
    )
    settings = Settings(as_of="2025-06-30")
    assert pickle.loads(pickle.dumps(settings)) == settings  # as a Dask worker gets it


def test_screening_by_default_predicts_a_pd_and_with_none_does_not():
    with_model = screen_inputs([SAMPLE], Settings(as_of="2025-06-30"), jobs=1).results
    rules_alone = screen_inputs([SAMPLE], Settings(as_of="2025-06-30", model=None), jobs=1)
    assert 0 < with_model["pd"].iloc[0] < 1
    assert "pd" not in rules_alone.results or rules_alone.results["pd"].isna().all()
