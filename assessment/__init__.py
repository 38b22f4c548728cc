"""Assess applications for financial support of computing-infrastructure projects.

The public API (pinned by ``tests/test_public_api.py``)::

    read_applications(paths) -> (projects, yearly, problems)
    write_template(path, lang="en")

Data flows one way: ingest -> indicators -> rules -> model -> decision -> report.
"""

from .dictionary import load_dictionary
from .errors import AssessmentError, DictionaryError, InputError
from .ingest import Applications, read_applications
from .template import write_template

__version__ = "0.1.0"

__all__ = [
    "Applications",
    "AssessmentError",
    "DictionaryError",
    "InputError",
    "__version__",
    "load_dictionary",
    "read_applications",
    "write_template",
]
