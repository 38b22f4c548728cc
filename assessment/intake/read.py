"""Read any number of application workbooks and candidate lists into three tables.

``read_applications(paths)`` returns ``(projects, yearly, problems)``:

* ``projects``: one row per project, indexed by ``project_id``, one typed column per field of
  the dictionary (base units: CNY, MW, MWh, fractions, dates), plus ``source_file``,
  ``source_sheet`` and ``source_row`` (the list row; blank for an official workbook);
* ``yearly``: ``project_id, year, series, value`` for the yearly series;
* ``problems``: one row per problem, ``file, sheet, cell, project_id, field, year, value,
  message, expected, severity, hint`` (``message`` says what is wrong).

The result also keeps where each value was read, so a report can cite its input cell:

* ``addresses``: per source file (the string in ``projects.source_file``), a dict from key (a
  field such as ``pue_design`` or a yearly ``series@year`` such as ``revenue_cny@2023``) to
  ``(sheet, cell)``; for an official workbook the cell is a full address (``"C14"``), for a
  candidate list it is the column letter (``"D"``) and the row is the project's ``source_row``;
* ``source_cell(project_id, key)``: that address as text, ``"项目信息!C14"`` or
  ``"Candidates!D27"``, or ``""`` when the key was not read from a cell of that project's input
  (an indicator, a field the input lacks, an unknown project). A blank cell keeps its address.

Nothing is dropped silently: every input file and every non-empty list row is either in
``projects`` or named in ``problems`` (a row without ``project_id`` and the second of two rows
with one ``project_id`` appear only there).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from functools import lru_cache
from itertools import repeat
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import InputError
from .cells import as_of_date, is_na
from .dictionary import Dictionary, load_dictionary
from .layouts import Extract, FormRecord, ListTable, extract, problem
from .normalize import Batch, form_batch, list_batch, normalize_batch
from .validate import validate_batch
from .workbooks import find_inputs, read_sheets

PROBLEM_COLUMNS = [
    "file",
    "sheet",
    "cell",
    "project_id",
    "field",
    "year",
    "value",
    "message",
    "expected",
    "severity",
    "hint",
]
YEARLY_COLUMNS = ["project_id", "year", "series", "value"]
SOURCE_COLUMNS = ["source_file", "source_sheet", "source_row"]
PARALLEL_FROM_FILES = 200
MAX_JOBS = 8

Address = tuple[str, str]


@dataclass(frozen=True)
class Applications:
    """The result of :func:`read_applications`; unpacks as ``projects, yearly, problems``."""

    projects: pd.DataFrame
    yearly: pd.DataFrame
    problems: pd.DataFrame
    addresses: dict[str, dict[str, Address]] = dataclass_field(default_factory=dict)

    def __iter__(self) -> Iterator[pd.DataFrame]:
        return iter((self.projects, self.yearly, self.problems))

    @property
    def has_errors(self) -> bool:
        return bool((self.problems["severity"] == "error").any())

    def source_cell(self, project_id: str, key: str) -> str:
        """``"Sheet!C14"``: the input cell of ``key`` (a field or ``series@year``) for one
        project, or ``""`` when the project is unknown or the key was not read from a cell."""
        return self.cell_finder(project_id)(key)

    def cell_finder(self, project_id: str) -> Callable[[str], str]:
        """:meth:`source_cell` of one project as a function of the key, for many keys: the
        project's file, sheet and row are looked up once."""
        if project_id not in self.projects.index:
            return lambda key: ""
        file, sheet, row = (self.projects.at[project_id, c] for c in SOURCE_COLUMNS)
        table = self.addresses.get(file, {})
        row = None if pd.isna(row) else int(row)

        def find(key: str) -> str:
            found = table.get(key)
            return "" if found is None else _cell_text(found, sheet, row)

        return find


def read_applications(
    paths: str | Path | Iterable[str | Path],
    *,
    as_of: dt.date | None = None,
    dictionary: Dictionary | None = None,
    jobs: int | None = None,
    missing_warnings: bool = True,
) -> Applications:
    """Read files and folders (recursively) of ``.xlsx``, ``.xlsm``, ``.ods`` and ``.csv``, and
    ``.parquet`` candidate lists named as files (folders may hold other Parquet data).

    ``as_of`` is the assessment date used by date checks (default: today). ``jobs`` is the
    number of processes that read files when there are many (default: the CPU count, at most
    8; 1 reads in this process). ``missing_warnings=False`` leaves out the warnings for
    missing optional fields (missing required fields are still errors).
    """
    dictionary = dictionary or load_dictionary()
    as_of = as_of_date(as_of, default=dt.date.today())
    paths = [paths] if isinstance(paths, str | Path) else list(paths)
    forms, lists, problems = _extract_all(paths, dictionary, jobs)
    return assemble_applications(
        forms, lists, problems, dictionary, as_of, paths, missing_warnings=missing_warnings
    )


def assemble_applications(
    forms: list[FormRecord],
    lists: list[ListTable],
    problems: list[dict],
    dictionary: Dictionary,
    as_of: dt.date,
    paths: Sequence[str | Path] = (),
    *,
    missing_warnings: bool = True,
) -> Applications:
    """The second half of :func:`read_applications`: normalize and validate extracted forms
    and lists, drop rows without a usable ``project_id``, and report every file found under
    ``paths`` that gave neither a project nor a problem (after ``problems``, the ones found
    while extracting)."""
    problems = list(problems)
    frames = []
    batches = [(form_batch(forms), _form_notes(forms))] if forms else []
    batches += [(list_batch(t), t.notes) for t in lists]
    for batch, notes in batches:
        typed, found = normalize_batch(batch, dictionary)
        typed, checked = validate_batch(typed, batch, dictionary, as_of, missing_warnings)
        problems += noted_problems(batch, notes, found + checked)
        frames.append(_with_sources(typed, batch))
    wide = _combine(frames, dictionary)
    wide, duplicates = _drop_unusable(wide)
    problems += duplicates
    problems += _unaccounted(paths, dictionary, wide, problems)
    return Applications(
        _projects(wide, dictionary),
        _yearly(wide, dictionary),
        _problem_frame(problems),
        _addresses(forms, lists),
    )


NOTE_PROBLEMS = {
    "error": (
        "formula error {detail}",
        "a value (the cell's formula gives an Excel error)",
        "correct the formula or the cells it uses, then save the file again",
    ),
    "uncached": (
        "formula without a cached value",
        "a value stored with the formula",
        "open and save the file in Excel (it stores the value of each formula)",
    ),
    "external": (
        "the cached value of an external link is used",
        "a value of this workbook",
        "the value came from another workbook when this one was last saved; check it or "
        "paste it as a value",
    ),
}


def _form_notes(forms: list[FormRecord]) -> dict[tuple[int, str], tuple[str, str]]:
    return {(i, key): note for i, form in enumerate(forms) for key, note in form.notes.items()}


def noted_problems(
    batch: Batch, notes: dict[tuple[int, str], tuple[str, str]], problems: list[dict]
) -> list[dict]:
    """The problems of a batch with each noted cell reported as what it is: an Excel error
    or an uncached formula replaces the problems of its cell (such as "missing") and keeps
    their severity (a warning when there were none); an external link's value is a warning."""
    if not notes:
        return problems
    found = {}
    for (position, key), (kind, detail) in notes.items():
        what, expected, hint = NOTE_PROBLEMS[kind]
        value = detail if kind == "error" else f"={detail}"
        found[batch.where(position, key)] = batch.problem(
            position,
            key,
            what.format(detail=detail),
            value=value,
            expected=expected,
            hint=hint,
            severity="warning",
        )
    kept = []
    for row in problems:
        note = found.get((row["file"], row["sheet"], row["cell"]))
        if note is None or note["message"] == NOTE_PROBLEMS["external"][0]:
            kept.append(row)
        elif row["severity"] == "error":
            note["severity"] = "error"
    return kept + list(found.values())


def _cell_text(found: Address, sheet: str, row: int | None) -> str:
    """A form's full address, or a list's column letter with the project's row. When one file
    holds several tables, an address from another table (another sheet, or a form cell for a
    list row) is not this project's, and gives ``""``."""
    where, cell = found
    if row is None:
        return "" if cell.isalpha() else f"{where}!{cell}"
    return f"{where}!{cell}{row}" if where == sheet and cell.isalpha() else ""


def _addresses(forms: list[FormRecord], lists: list[ListTable]) -> dict[str, dict[str, Address]]:
    """Per file, key -> (sheet, cell) of a form or (sheet, column letter) of a list; in a file
    with several tables the first table to name a key keeps it."""
    addresses: dict[str, dict[str, Address]] = {}
    tables = [(f.file, _form_addresses(f)) for f in forms]
    tables += [(t.file, _list_addresses(t)) for t in lists]
    for file, found in tables:
        addresses[file] = {**found, **addresses[file]} if file in addresses else found
    return addresses


def _form_addresses(form: FormRecord) -> dict[str, Address]:
    """The form's own (sheet, cell) tuples, without the yearly column headers that only say
    where a missing series would go."""
    if form.cells.keys() <= form.values.keys():
        return form.cells
    return {key: where for key, where in form.cells.items() if key in form.values}


def _list_addresses(table: ListTable) -> dict[str, Address]:
    return {key: (table.sheet, letter) for key, letter in table.letters.items()}


def _extract_all(
    paths: list, dictionary: Dictionary, jobs: int | None
) -> tuple[list[FormRecord], list[ListTable], list[dict]]:
    forms: list[FormRecord] = []
    lists: list[ListTable] = []
    problems = missing_paths(paths)
    files = find_inputs(p for p in paths if Path(p).exists())
    for found in _extract_files(files, dictionary, jobs):
        forms += found.forms
        lists += found.lists
        problems += found.problems
    return forms, lists, problems


def missing_paths(paths: Iterable[str | Path]) -> list[dict]:
    """One problem row per path that does not exist."""
    return [
        problem(
            "no such file or folder",
            file=str(path),
            expected="an existing file or folder",
            hint="check the path",
        )
        for path in paths
        if not Path(path).exists()
    ]


def _extract_files(files: list[Path], dictionary: Dictionary, jobs: int | None) -> list[Extract]:
    """Read and extract each file; many files are spread over a pool of processes."""
    jobs = jobs or min(os.cpu_count() or 1, MAX_JOBS)
    if jobs == 1 or len(files) < PARALLEL_FROM_FILES:
        return [_extract_file(path, dictionary.folder) for path in files]
    chunk = max(1, len(files) // (jobs * 4))
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(_extract_file, files, repeat(dictionary.folder), chunksize=chunk))


def _extract_file(path: Path, dictionary_folder: Path) -> Extract:
    """One file's raw cells, or the one problem that says why it cannot be read."""
    try:
        sheets = read_sheets(path)
    except InputError as error:
        return Extract(problems=[file_problem(path, error)])
    return extract(str(path), sheets, load_dictionary(str(dictionary_folder)))


def file_problem(path: str | Path, error: InputError) -> dict:
    """The one problem row of a file that cannot be read at all; a place inside the file that
    the error names (``sheet Lists``, ``part xl/worksheets/sheet1.xml``) goes in ``sheet``."""
    inside = error.where.removeprefix(str(path)).removeprefix(", ")
    return problem(
        error.what,
        file=str(path),
        sheet=inside if inside != error.where else "",
        value=error.got,
        expected=error.expected,
        hint=error.hint,
    )


def _with_sources(typed: pd.DataFrame, batch: Batch) -> pd.DataFrame:
    sources = pd.DataFrame(
        {
            "source_file": _object_column(batch.files, len(typed)),
            "source_sheet": _object_column(_sheet_of_id(batch), len(typed)),
            "source_row": batch.row_numbers if batch.row_numbers is not None else None,
        },
        index=typed.index,
    )
    sources["source_row"] = sources["source_row"].astype("Int64")
    return pd.concat([typed, sources], axis=1)


def _object_column(values: object, length: int) -> np.ndarray:
    """One value per row (a list) or the same value for every row, as Python objects."""
    column = np.empty(length, dtype=object)
    column[:] = values
    return column


def _sheet_of_id(batch: Batch) -> object:
    if "project_id" in batch.sheets:
        return batch.sheets["project_id"]
    return next(iter(batch.sheets.values()), "")


def _combine(frames: list[pd.DataFrame], dictionary: Dictionary) -> pd.DataFrame:
    """One wide frame: every field of the dictionary (in its order, of its type), the source
    columns, then the ``series@year`` columns found."""
    fields = dictionary.fields.items()
    empty = _empty_wide(tuple((n, _dtype(f.type)) for n, f in fields if f.type != "series"))
    frames = [frame for frame in frames if len(frame)]
    if not frames:
        return empty.copy()
    wide = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    extra = [name for name in wide.columns if name not in empty.columns]
    wide = wide.reindex(columns=[*empty.columns, *extra]).reset_index(drop=True)
    kinds = wide.dtypes
    for name, kind in empty.dtypes.items():
        if kinds[name] != kind:
            wide[name] = wide[name].astype(kind)
    return wide


@lru_cache(maxsize=8)
def _empty_wide(columns: tuple[tuple[str, str], ...]) -> pd.DataFrame:
    """An empty wide frame of these typed columns and the source columns (read-only: callers
    concatenate it or copy it)."""
    empty = pd.DataFrame({name: pd.Series(dtype=kind) for name, kind in columns})
    empty[SOURCE_COLUMNS] = pd.DataFrame(
        {
            "source_file": pd.Series(dtype=object),
            "source_sheet": pd.Series(dtype=object),
            "source_row": pd.Series(dtype="Int64"),
        }
    )
    return empty


def _dtype(kind: str) -> str:
    return {
        "integer": "Int64",
        "bool": "boolean",
        "date": "datetime64[ns]",
        "text": "string",
        "choice": "string",
    }.get(kind, "float64")


def _drop_unusable(wide: pd.DataFrame) -> tuple[pd.DataFrame, list[dict]]:
    """Rows without project_id go (already reported); repeated ids keep the first row."""
    given = (wide["project_id"].notna() & (wide["project_id"] != "")).to_numpy(dtype=bool)
    if not given.all():
        wide = wide[given]
    repeated = wide["project_id"].duplicated(keep=False)
    if not repeated.any():
        return wide, []
    problems = []
    first = wide[repeated].drop_duplicates("project_id").set_index("project_id")
    for _, row in wide[repeated].iterrows():
        origin = first.loc[row["project_id"]]
        problems.append(
            {
                **problem(
                    "duplicate project_id",
                    file=row["source_file"],
                    sheet=row["source_sheet"] or "",
                    cell=_row_cell(row),
                    field="project_id",
                    value=row["project_id"],
                    expected="a project_id used once in the whole input",
                    hint=f"also in {origin['source_file']}"
                    f"{_row_text(origin)}; give each project its own id",
                ),
                "project_id": row["project_id"],
            }
        )
    return wide[~wide["project_id"].duplicated(keep="first")], problems


def of_kept_rows(problems: pd.DataFrame, projects: pd.DataFrame) -> np.ndarray:
    """Whether each problem is of a kept project's own input: its
    file and, for a list, its row; not of another row or file that repeats the id. Count a
    project's problems with this, so that they stay with the file and row they came from."""
    at = projects.index.get_indexer(problems["project_id"].astype(object))
    if not len(projects):
        return np.zeros(len(problems), dtype=bool)
    files = projects["source_file"].to_numpy(dtype=object)[at]
    rows = projects["source_row"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)[at]
    numbers = pd.to_numeric(problems["cell"].astype(str).str.extract(r"(\d+)", expand=False))
    same_row = np.isnan(rows) | (rows == numbers.to_numpy(dtype=float, na_value=np.nan))
    return (at >= 0) & (files == problems["file"].to_numpy(dtype=object)) & same_row


def _row_cell(row: pd.Series) -> str:
    return f"row {row['source_row']}" if pd.notna(row["source_row"]) else ""


def _row_text(row: pd.Series) -> str:
    return f" row {row['source_row']}" if pd.notna(row["source_row"]) else ""


def _unaccounted(
    paths: list, dictionary: Dictionary, wide: pd.DataFrame, problems: list[dict]
) -> list[dict]:
    """A readable file that yielded no project and no error is reported, not lost (a warning,
    such as a guessed encoding, does not account for it)."""
    refused = {p["file"] for p in problems if p.get("severity", "error") == "error"}
    seen = set(wide["source_file"].dropna()) | refused
    existing = [p for p in paths if Path(p).exists()]
    return [
        problem(
            "no application or candidate list found",
            file=str(path),
            expected="an application workbook or a candidate list with a project_id column",
            hint="use `assess template` for the official workbook",
        )
        for path in find_inputs(existing)
        if str(path) not in seen
    ]


def _projects(wide: pd.DataFrame, dictionary: Dictionary) -> pd.DataFrame:
    columns = [n for n, f in dictionary.fields.items() if f.type != "series" and n != "project_id"]
    projects = wide[columns + SOURCE_COLUMNS]
    projects.index = pd.Index(wide["project_id"].array, name="project_id").astype("string")
    return projects


def _yearly(wide: pd.DataFrame, dictionary: Dictionary) -> pd.DataFrame:
    """The given values of the ``series@year`` columns as yearly rows, ordered by project,
    then series as the dictionary lists them, then year."""
    keys = [key for key in wide.columns if "@" in key]
    values = wide[keys].to_numpy(dtype=float).T  # one row per key
    keyed, rows = np.nonzero(~np.isnan(values))  # key by key, rows in order
    if not len(rows):
        return pd.DataFrame(
            {
                c: pd.Series(dtype=t)
                for c, t in zip(
                    YEARLY_COLUMNS, ("string", "int64", "string", "float64"), strict=True
                )
            }
        )
    order = {f.name: i for i, f in enumerate(dictionary.series_fields())}
    names = np.array([key.split("@", 1)[0] for key in keys], dtype=object)
    years = np.array([int(key.split("@", 1)[1]) for key in keys], dtype="int64")
    ranks = np.array([order.get(name, np.nan) for name in names], dtype=float)
    ids = wide["project_id"].astype("string").array
    id_ranks = pd.factorize(ids, sort=True)[0]  # the ids in their sorted order
    at = np.lexsort((years[keyed], ranks[keyed], id_ranks[rows]))  # stable: key by key
    return pd.DataFrame(
        {
            "project_id": ids.take(rows[at]),
            "year": years[keyed][at],
            "series": pd.arrays.ArrowStringArray(pa.array(names[keyed][at], pa.string())),
            "value": values[keyed, rows][at],
        }
    )


def _problem_frame(problems: list[dict]) -> pd.DataFrame:
    """The problems ordered by file (stably), every column text ("" for missing) but the year."""
    ordered = sorted(
        problems, key=lambda found: (is_na(found.get("file")), _text(found.get("file")))
    )
    years = [found.get("year") for found in ordered]
    columns = {
        column: pd.array([_text(found.get(column)) for found in ordered], dtype="str")
        if column != "year"
        else pd.array([None if is_na(year) else year for year in years], dtype="Int64")
        for column in PROBLEM_COLUMNS
    }
    return pd.DataFrame(columns)


def _text(value: object) -> str:
    return "" if is_na(value) else str(value)
