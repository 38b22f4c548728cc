"""Assess applications for financial support of computing-infrastructure projects.

The public API (pinned by ``tests/test_public_api.py``)::

    read_applications(paths, as_of=...) -> Applications (projects, yearly, problems)
    write_template(path, lang="en")
    add_indicators(projects, yearly, as_of) -> projects with indicator columns
    load_rules(path) -> RuleSet
    evaluate_rules(frame, rules, as_of) -> Evaluation (verdicts, programme results)
    load_model(path) -> RiskModel
    score_applications(paths, as_of=...) -> Scored (all of the above in order;
        scored.to_frame(): one row per project)
    screen_inputs(paths, Settings(as_of=...)) -> Screening (ranked results, rejected inputs)

``as_of`` is a date, a datetime, a pandas Timestamp or an ISO string (``"2025-06-30"``).
``score_applications`` uses the packaged risk model unless given ``model=`` (a model, an
artefact path, or ``None`` for the rules alone). Errors are :class:`AssessmentError` and its
subclasses (see :mod:`assessment.errors`). The ``dask`` screening engine needs the
``[dask]`` extra: ``pip install 'assessment[dask]'``.

Data flows one way: ingest -> indicators -> rules -> model -> decision -> report.
"""

import typing as _typing
from importlib import import_module as _import_module

if _typing.TYPE_CHECKING:
    from .criteria.evaluate import Evaluation, evaluate_rules
    from .criteria.indicators import add_indicators, yearly_indicators
    from .criteria.rules import RuleSet, load_rules
    from .errors import (
        AssessmentError,
        DictionaryError,
        InputError,
        ModelError,
        OutputError,
        RuleError,
    )
    from .intake.dictionary import load_dictionary
    from .intake.read import Applications, read_applications
    from .intake.template import write_template
    from .model.estimator import RiskModel
    from .model.persist import load_model
    from .pipeline import Scored, score_applications
    from .screening.batch import screen_inputs, screen_to_folder
    from .screening.records import Screening, Settings

# Loaded on first use (PEP 562), so that ``import assessment`` and ``python -m assessment``
# start without pandas and scikit-learn, and Ctrl-C while they load is handled by the CLI.
_HOMES = {
    "load_dictionary": "intake.dictionary",
    "AssessmentError": "errors",
    "DictionaryError": "errors",
    "InputError": "errors",
    "ModelError": "errors",
    "OutputError": "errors",
    "RuleError": "errors",
    "Evaluation": "criteria.evaluate",
    "evaluate_rules": "criteria.evaluate",
    "add_indicators": "criteria.indicators",
    "yearly_indicators": "criteria.indicators",
    "Applications": "intake.read",
    "read_applications": "intake.read",
    "RiskModel": "model.estimator",
    "load_model": "model.persist",
    "RuleSet": "criteria.rules",
    "load_rules": "criteria.rules",
    "Scored": "pipeline",
    "score_applications": "pipeline",
    "Screening": "screening.records",
    "Settings": "screening.records",
    "screen_inputs": "screening.batch",
    "screen_to_folder": "screening.batch",
    "write_template": "intake.template",
}


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'assessment' has no attribute {name!r}")
    value = getattr(_import_module(f".{_HOMES[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """What is here (loaded or not): the public names, submodules loaded so far, dunders."""
    return sorted(set(globals()) | set(__all__))


__version__ = "0.1.0"

__all__ = [
    "Applications",
    "AssessmentError",
    "DictionaryError",
    "Evaluation",
    "InputError",
    "ModelError",
    "OutputError",
    "RiskModel",
    "RuleError",
    "RuleSet",
    "Scored",
    "Screening",
    "Settings",
    "__version__",
    "add_indicators",
    "evaluate_rules",
    "load_dictionary",
    "load_model",
    "load_rules",
    "read_applications",
    "score_applications",
    "screen_inputs",
    "screen_to_folder",
    "write_template",
    "yearly_indicators",
]
