"""Fuzz the input readers: any bytes, as a workbook or a CSV list, must end in projects or in
problem rows naming the file, never in another exception, a hang or a crash of the process.

Each input is turned into a file (see :func:`build_input`): raw bytes as ``.xlsx`` or
``.csv``, or a seed workbook / CSV list with the fuzzer's bytes spliced into its sheet XML or
text, so that most inputs get past the zip container into the XML checks and python-calamine.
The file goes through :func:`assessment.intake.read.read_applications` with low
:class:`~assessment.intake.limits.Limits`, so that every run stays small.

Usage (bounded runs)::

    pip install -e '.[fuzz]'                       # atheris (compiles on some platforms)
    python bench/fuzz_readers.py -runs=20000        # coverage-guided, with atheris
    python bench/fuzz_readers.py -max_total_time=300 crashes/
    python bench/fuzz_readers.py --plain --runs 2000 --seed 7   # no atheris: random mutations

Without atheris installed the plain mode is used (random byte flips, truncations and
splices of the seeds). A failure prints the exception and writes the input to
``fuzz-failure-<n>.<suffix>`` (atheris: ``crash-<hash>``) to reproduce with
``assess check FILE``. A Rust panic that aborts the process is a failure too (atheris reports
the signal and keeps the input).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import random
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "corpus"))
sys.path.insert(0, str(ROOT / "tests"))

from assessment.intake.limits import Limits  # noqa: E402
from assessment.intake.read import read_applications  # noqa: E402

AS_OF = dt.date(2025, 6, 30)
LIMITS = {
    "ASSESS_MAX_FILE_BYTES": "4000000",
    "ASSESS_MAX_UNZIPPED_BYTES": "16000000",
    "ASSESS_MAX_ROWS": "20000",
    "ASSESS_MAX_COLUMNS": "512",
    "ASSESS_MAX_CELLS": "1000000",
    "ASSESS_MAX_SECONDS": "10",
}
SUFFIXES = (".xlsx", ".csv", ".xlsx", ".csv")


def seeds(folder: Path) -> tuple[bytes, bytes, bytes]:
    """A candidate-list workbook, its first sheet's XML, and the same list as CSV."""
    from make_corpus import project, write_csv, write_list

    book = write_list(folder / "seed.xlsx", [project("FUZZ-1"), project("FUZZ-2")])
    text = write_csv(folder / "seed.csv", [project("FUZZ-1"), project("FUZZ-2")])
    with zipfile.ZipFile(book) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    return book.read_bytes(), sheet, text.read_bytes()


def build_input(data: bytes, seed: tuple[bytes, bytes, bytes]) -> tuple[str, bytes]:
    """The suffix and bytes of the file to read: the first byte picks raw or spliced."""
    if len(data) < 3:
        return ".csv", data
    kind, where, rest = data[0] % 4, int.from_bytes(data[1:3], "little"), data[3:]
    book, sheet, text = seed
    if kind == 2:
        at = where % (len(sheet) + 1)
        return ".xlsx", _with_sheet(book, sheet[:at] + rest + sheet[at + len(rest) // 2 :])
    if kind == 3:
        at = where % (len(text) + 1)
        return ".csv", text[:at] + rest + text[at:]
    return SUFFIXES[kind], rest


def _with_sheet(book: bytes, sheet: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(book)) as old, zipfile.ZipFile(out, "w") as new:
        for info in old.infolist():
            name = info.filename
            new.writestr(name, sheet if name == "xl/worksheets/sheet1.xml" else old.read(name))
    return out.getvalue()


def check_one(data: bytes, seed: tuple[bytes, bytes, bytes], folder: Path) -> None:
    """Read one input; anything but projects and problem rows raises."""
    suffix, content = build_input(data, seed)
    path = folder / f"input{suffix}"
    path.write_bytes(content)
    applications = read_applications([path], as_of=AS_OF, jobs=1)
    accounted = set(applications.projects["source_file"]) | set(applications.problems["file"])
    if str(path) not in accounted:
        raise AssertionError(f"the input was lost: neither a project nor a problem ({suffix})")


def _mutate(rng: random.Random, data: bytes) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        choice = rng.random()
        if choice < 0.4 and data:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif choice < 0.6 and data:
            del data[rng.randrange(len(data)) :]
        elif choice < 0.8:
            at = rng.randrange(len(data) + 1)
            data[at:at] = rng.choice(_SPLICES)
        else:
            at = rng.randrange(len(data) + 1)
            data[at:at] = rng.randbytes(rng.randint(1, 64))
    return bytes(data)


_SPLICES = (
    b'<c r="XFD1048576"><v>1</v></c>',
    b'<row r="1048576">',
    b'<c r="A2" t="e"><v>#DIV/0!</v></c>',
    b"<f>[1]Sheet1!A1</f>",
    b"<!DOCTYPE x [<!ENTITY a 'b'>]>",
    b'<dimension ref="A1:XFD1048576"/>',
    b"\r",
    b'"',
    b"\x00",
    "数据中心".encode("gbk"),
    "Zürich".encode("cp1252"),
)


def plain(runs: int, seed_number: int) -> int:
    """Random mutations of the seeds, ``runs`` times; the number of failures."""
    rng = random.Random(seed_number)
    failures = 0
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        seed = seeds(folder)
        starts = _starts(seed)
        for run in range(runs):
            data = _mutate(rng, rng.choice(starts))
            try:
                check_one(data, seed, folder)
            except Exception as error:  # noqa: BLE001 - every escaping exception is a finding
                failures += 1
                suffix = build_input(data, seed)[0]
                Path(f"fuzz-failure-{run}{suffix}").write_bytes(build_input(data, seed)[1])
                print(f"run {run}: {type(error).__name__}: {error}", file=sys.stderr)
    return failures


def with_atheris(argv: list[str]) -> None:
    import atheris

    folder = Path(tempfile.mkdtemp(prefix="fuzz-readers-"))
    seed = seeds(folder)
    if not any(Path(arg).is_dir() for arg in argv[1:] if not arg.startswith("-")):
        start = folder / "corpus"  # the seeds, as inputs of each kind
        start.mkdir()
        for number, data in enumerate(_starts(seed)):
            (start / f"seed-{number}").write_bytes(data)
        argv = [*argv, str(start)]
    atheris.instrument_all()  # coverage of the engine and its Python dependencies
    atheris.Setup(argv, lambda data: check_one(data, seed, folder))
    atheris.Fuzz()


def _starts(seed: tuple[bytes, bytes, bytes]) -> list[bytes]:
    """Inputs that :func:`build_input` turns into the seeds: raw workbook and CSV, and each
    spliced with a little."""
    starts = [bytes([k]) + b"\x00\x00" + base for k, base in enumerate((seed[0], seed[2]))]
    return starts + [bytes([2, 0, 1]) + b"<row>", bytes([3, 5, 0]) + b"x,y\n"]


def main() -> int:
    import os

    os.environ.update(LIMITS)
    Limits.from_env()  # the limits above are valid
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plain", action="store_true", help="random mutations, no atheris")
    parser.add_argument("--runs", type=int, default=2000, help="plain mode: inputs to try")
    parser.add_argument("--seed", type=int, default=0, help="plain mode: random seed")
    known, rest = parser.parse_known_args()
    try:
        import atheris  # noqa: F401
    except ImportError:
        known.plain = True
        print("atheris is not installed: plain random mutations", file=sys.stderr)
    if known.plain:
        failures = plain(known.runs, known.seed)
        print(f"{known.runs} inputs, {failures} failure(s)")
        return 1 if failures else 0
    with_atheris([sys.argv[0], *rest])
    return 0


if __name__ == "__main__":
    sys.exit(main())
