"""Assess applications for financial support of computing-infrastructure projects.

The public API (pinned by ``tests/test_public_api.py``)::

    read_applications(paths) -> (projects, yearly, problems)
    write_template(path, lang="en")
    add_indicators(projects, yearly, as_of) -> projects with indicator columns
    load_rules(path) -> RuleSet
    evaluate_rules(frame, rules, as_of) -> Evaluation (verdicts, programme results)
    score_applications(paths, as_of=...) -> Scored (all of the above in order)

Data flows one way: ingest -> indicators -> rules -> model -> decision -> report.
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .criteria.evaluate import Evaluation, evaluate_rules
    from .criteria.indicators import add_indicators, yearly_indicators
    from .criteria.rules import RuleSet, load_rules
    from .errors import AssessmentError, DictionaryError, InputError, RuleError
    from .intake.dictionary import load_dictionary
    from .intake.read import Applications, read_applications
    from .intake.template import write_template
    from .pipeline import Scored, score_applications

# Loaded on first use (PEP 562), so that ``import assessment`` and ``python -m assessment``
# start without pandas and scikit-learn, and Ctrl-C while they load is handled by the CLI.
_HOMES = {
    "load_dictionary": "intake.dictionary",
    "AssessmentError": "errors",
    "DictionaryError": "errors",
    "InputError": "errors",
    "RuleError": "errors",
    "Evaluation": "criteria.evaluate",
    "evaluate_rules": "criteria.evaluate",
    "add_indicators": "criteria.indicators",
    "yearly_indicators": "criteria.indicators",
    "Applications": "intake.read",
    "read_applications": "intake.read",
    "RuleSet": "criteria.rules",
    "load_rules": "criteria.rules",
    "Scored": "pipeline",
    "score_applications": "pipeline",
    "write_template": "intake.template",
}


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'assessment' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__version__ = "0.1.0"

__all__ = [
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
