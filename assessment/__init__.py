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
    from .dictionary import load_dictionary
    from .errors import AssessmentError, DictionaryError, InputError, RuleError
    from .evaluate import Evaluation, evaluate_rules
    from .indicators import add_indicators, yearly_indicators
    from .ingest import Applications, read_applications
    from .rules import RuleSet, load_rules
    from .scoring import Scored, score_applications
    from .template import write_template

# Loaded on first use (PEP 562), so that ``import assessment`` and ``python -m assessment``
# start without pandas and scikit-learn, and Ctrl-C while they load is handled by the CLI.
_HOMES = {
    "load_dictionary": "dictionary",
    "AssessmentError": "errors",
    "DictionaryError": "errors",
    "InputError": "errors",
    "RuleError": "errors",
    "Evaluation": "evaluate",
    "evaluate_rules": "evaluate",
    "add_indicators": "indicators",
    "yearly_indicators": "indicators",
    "Applications": "ingest",
    "read_applications": "ingest",
    "RuleSet": "rules",
    "load_rules": "rules",
    "Scored": "scoring",
    "score_applications": "scoring",
    "write_template": "template",
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
