"""Report templates: the wording per language and the page style, as YAML data.

``templates/report/<lang>.yaml`` holds the words of each language, ``style.yaml`` the page and
type styles, ``workbook.yaml`` the workbook's formats. A templates folder given by the user is
searched first, file by file, then the packaged one. A user's file must hold every key the
packaged file of the same name holds (extra keys are ignored), so a template written for an
older engine fails with the missing keys named, not half-way through a report.

Nothing here draws: reading the words needs no PDF library, so printing results stays light.
"""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from pathlib import Path

import yaml

from .._shared.resources import data_dir
from .._shared.strict_yaml import MAX_YAML_BYTES, parse_yaml
from ..errors import AssessmentError

LANGS = ("en", "zh")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def find_template(name: str, templates: str | Path | None = None) -> Path:
    """``name`` in the user's templates folder if it is there, else the packaged one; a
    templates folder that does not exist is refused (a mistyped path is not silently ignored)."""
    if templates and not Path(templates).is_dir():
        raise AssessmentError(
            "the templates folder does not exist",
            where=str(templates),
            expected="a folder holding report/<file> to use instead of the packaged one",
            hint="check the path given to --templates",
        )
    for folder in ([Path(templates)] if templates else []) + [data_dir("templates")]:
        for candidate in (folder / "report" / name, folder / name):
            if candidate.is_file():
                return candidate
    raise AssessmentError(
        f"report template {name!r} not found",
        where=str(templates or data_dir("templates")),
        expected=f"report/{name} in the templates folder or the packaged one",
        hint="reinstall the package, or copy the file from the packaged templates/report/",
    )


def load_template(name: str, templates: str | Path | None = None) -> dict:
    """A YAML template, checked against the packaged file of the same name."""
    path = find_template(name, templates)
    found = _yaml(path)
    packaged = find_template(name)
    if path != packaged:
        missing = missing_keys(_yaml(packaged), found)
        if missing:
            raise AssessmentError(
                f"report template lacks {len(missing)} key(s): {', '.join(missing)}",
                where=str(path),
                expected=f"every key of the packaged {packaged.name}",
                hint=f"copy the missing keys from {packaged}",
            )
    return found


def missing_keys(reference: dict, found: object, prefix: str = "") -> list[str]:
    """Dotted names of the keys of ``reference`` (recursively) that ``found`` lacks."""
    if not isinstance(found, dict):
        return [prefix.rstrip(".") or "(the whole file)"]
    missing = []
    for key, value in reference.items():
        if key not in found:
            missing.append(f"{prefix}{key}")
        elif isinstance(value, dict):
            missing += missing_keys(value, found[key], f"{prefix}{key}.")
    return missing


def _yaml(path: Path) -> dict:
    """A report template, read strictly (:mod:`assessment._shared.strict_yaml`): a user's file is of
    unknown origin. Parsed once while the file is unchanged (a screen asks for its words several
    times: 0.1 s a parse); each caller gets its own copy."""
    state = path.stat()
    return copy.deepcopy(_parsed(str(path), state.st_mtime_ns, state.st_size))


@lru_cache(maxsize=16)
def _parsed(name: str, _mtime_ns: int, _size: int) -> dict:
    path = Path(name)
    if path.stat().st_size > MAX_YAML_BYTES:
        raise AssessmentError(
            "report template is too large",
            where=str(path),
            expected=f"at most {MAX_YAML_BYTES:,} bytes",
            got=f"{path.stat().st_size:,} bytes",
        )
    try:
        found = parse_yaml(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as error:
        raise AssessmentError(
            "report template is not valid YAML",
            where=str(path),
            got=(str(error).splitlines() or [type(error).__name__])[0],
            hint="check the indentation and quoting near the line named",
        ) from None
    if not isinstance(found, dict):
        raise AssessmentError(
            "report template is not a mapping of keys",
            where=str(path),
            expected="key: value lines",
            got=type(found).__name__,
        )
    return found


def fill(phrase: str, **facts: object) -> str:
    """``phrase`` with each ``{name}`` replaced by ``facts[name]`` (unknown names kept)."""
    return _PLACEHOLDER.sub(lambda m: str(facts.get(m.group(1), m.group(0))), phrase)
