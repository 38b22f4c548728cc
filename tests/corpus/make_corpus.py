"""Write the hostile-file corpus into a folder: each file with the outcome expected of it.

Run ``python tests/corpus/make_corpus.py DIR`` to look at the files; the tests
(``tests/test_hostile_files.py``) write them into a temporary folder. Nothing is committed
as a binary: every file is made here, the zip bombs by repeating one flushed deflate block
(so a 1 GiB part costs about 1 MB and a fraction of a second).

``make_corpus(folder)`` returns ``{file name: expected}`` where ``expected`` is
``("scored", [project ids])`` or ``("rejected", "words of the reason")``.
"""

from __future__ import annotations

import io
import os
import re
import struct
import sys
import zipfile
import zlib
from pathlib import Path

import openpyxl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from helpers import FULL_PROJECT  # noqa: E402

GIB = 1 << 30
FIELDS = list(FULL_PROJECT)


def project(project_id: str, **changes: object) -> list[object]:
    values = {**FULL_PROJECT, "project_id": project_id, **changes}
    return [values[name] for name in FIELDS]


def write_list(path: Path, rows: list[list[object]], **sheet_options: object) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Candidates"
    sheet.append(FIELDS)
    for row in rows:
        sheet.append(row)
    for name, value in sheet_options.items():
        setattr(sheet, name, value)
    book.save(path)
    return path


def write_csv(path: Path, rows: list[list[object]], encoding: str = "utf-8") -> Path:
    lines = [",".join(FIELDS)] + [",".join(map(str, row)) for row in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def rewrite_sheet(source: Path, target: Path, change) -> Path:
    """A copy of a workbook with its first sheet's XML changed by ``change(bytes)``."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = old.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = change(data)
            new.writestr(info.filename, data)
    return target


def with_parts(source: Path, target: Path, parts: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info.filename, parts.pop(info.filename, old.read(info.filename)))
        for name, data in parts.items():
            new.writestr(name, data)
    return target


def bomb(source: Path, target: Path, unzipped: int, part: str = "xl/media/padding.xml") -> Path:
    """The workbook ``source`` with an extra part of ``unzipped`` zero bytes, deflated by
    repeating one fully flushed block (identical compressed bytes each time)."""
    block = 1 << 20
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    once = packer.compress(bytes(block)) + packer.flush(zlib.Z_FULL_FLUSH)
    count = unzipped // block
    crc = 0
    zeros = bytes(block)
    for _ in range(count):
        crc = zlib.crc32(zeros, crc)
    body = once * count + packer.flush(zlib.Z_FINISH)
    entries = []
    with zipfile.ZipFile(source) as old:
        for info in old.infolist():
            data = old.read(info.filename)
            deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
            packed = deflate.compress(data) + deflate.flush()
            entries.append((info.filename, packed, zlib.crc32(data), len(data)))
    entries.append((part, body, crc, count * block))
    target.write_bytes(_zip(entries))
    return target


def _zip(entries: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip archive of already deflated parts (name, deflated bytes, crc, size)."""
    out, central = io.BytesIO(), io.BytesIO()
    for name, packed, crc, size in entries:
        offset = out.tell()
        raw = name.encode()
        out.write(
            struct.pack(
                "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(packed), size, len(raw), 0
            )
            + raw
            + packed
        )
        central.write(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                8,
                0,
                0,
                crc,
                len(packed),
                size,
                len(raw),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + raw
        )
    start, directory = out.tell(), central.getvalue()
    out.write(directory)
    out.write(
        struct.pack(
            "<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(directory), start, 0
        )
    )
    return out.getvalue()


def _dimension(ref: bytes):
    return lambda xml: re.sub(
        rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="' + ref + b'"/>', xml
    )


def _far_cell(xml: bytes) -> bytes:
    corner = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    return _dimension(b"A1:XFD1048576")(xml).replace(b"</sheetData>", corner + b"</sheetData>")


LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]>"
)
XXE = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def _doctype(declaration: bytes, entity: bytes):
    def change(xml: bytes) -> bytes:
        xml = re.sub(rb"^<\?xml[^>]*\?>", b"", xml)
        return declaration + xml.replace(b"<t>GOOD-1</t>", b"<t>" + entity + b"</t>", 1)

    return change


def _formulas(xml: bytes) -> bytes:
    """pue_design as #DIV/0!, pue as a formula without a cached value, wue as the cached
    value of an external link (openpyxl writes inline strings and plain numbers)."""
    pue_design = FIELDS.index("pue_design")
    pue = FIELDS.index("pue")
    wue = FIELDS.index("wue_l_per_kwh")
    cells = {
        pue_design: b'<c r="{ref}" t="e"><f>1/0</f><v>#DIV/0!</v></c>',
        pue: b'<c r="{ref}"><f>B2*2</f></c>',
        wue: b'<c r="{ref}"><f>[1]Sheet1!A1</f><v>1.1</v></c>',
    }
    for column, cell in cells.items():
        ref = openpyxl.utils.get_column_letter(column + 1).encode() + b"2"
        xml = re.sub(
            rb'<c r="' + ref + rb'"[^>]*?(?:/>|>.*?</c>)', cell.replace(b"{ref}", ref), xml
        )
    return xml


def _hidden_only(source: Path, target: Path) -> Path:
    with zipfile.ZipFile(source) as old:
        book = old.read("xl/workbook.xml")
    book = book.replace(b'state="visible"', b'state="hidden"')
    return with_parts(source, target, {"xl/workbook.xml": book})


def _encrypted(source: Path, target: Path) -> Path:
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    with open(source, "rb") as handle:
        OOXMLFile(handle).encrypt("secret", out)
    target.write_bytes(out.getvalue())
    return target


def _merged(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Candidates"
    sheet.append(["Candidate list 2025"] + [None] * (len(FIELDS) - 1))
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=6)
    sheet.append(FIELDS)
    sheet.merge_cells(start_row=2, start_column=2, end_row=2, end_column=3)  # over labels
    sheet.append(project("MERGED-1"))
    book.save(path)
    return path


def make_corpus(folder: Path) -> dict[str, tuple[str, object]]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    good = write_list(folder / "good.xlsx", [project("GOOD-1")])
    expected: dict[str, tuple[str, object]] = {"good.xlsx": ("scored", ["GOOD-1"])}

    def add(name: str, outcome: str, detail: object) -> Path:
        expected[name] = (outcome, detail)
        return folder / name

    add("truncated.xlsx", "rejected", "corrupt").write_bytes(good.read_bytes()[:1500])
    damaged = bytearray(good.read_bytes())
    damaged[len(damaged) // 2 : len(damaged) // 2 + 64] = bytes(64)
    add("corrupt_zip.xlsx", "rejected", "corrupt").write_bytes(bytes(damaged))
    add("renamed_pdf.xlsx", "rejected", "not a spreadsheet").write_bytes(b"%PDF-1.4\n1 0 obj\n")
    _encrypted(good, add("locked.xlsx", "rejected", "password-protected"))
    add("empty.xlsx", "rejected", "the file is empty").write_bytes(b"")
    add("blank.csv", "rejected", "the file is empty").write_bytes(b" \n\n")
    _hidden_only(good, add("hidden_only.xlsx", "rejected", "only hidden sheets"))
    _merged(add("merged.xlsx", "scored", ["MERGED-1"]))
    source = write_list(folder / "formulas-source.tmp", [project("FORMULA-1")])
    rewrite_sheet(source, add("formulas.xlsx", "scored", ["FORMULA-1"]), _formulas)
    source.unlink()
    source = write_list(folder / "external-source.tmp", [project("LINK-1")])
    parts = {"xl/externalLinks/externalLink1.xml": b"<externalLink/>"}
    linked = with_parts(source, folder / "external-linked.tmp", parts)

    def change(xml: bytes) -> bytes:
        no_error = _formulas(xml).replace(b"#DIV/0!", b"1.25").replace(b't="e"', b"")
        return _uncached_to_value(no_error)

    rewrite_sheet(linked, add("external_link.xlsx", "scored", ["LINK-1"]), change)
    source.unlink()
    linked.unlink()
    macro = write_list(folder / "macro-source.tmp", [project("MACRO-1")])
    with_parts(
        macro,
        add("macros.xlsm", "scored", ["MACRO-1"]),
        {"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 Sub AutoOpen()"},
    )
    macro.unlink()
    rewrite_sheet(
        good, add("billion_laughs.xlsx", "rejected", "XML entities"), _doctype(LAUGHS, b"&lol9;")
    )
    rewrite_sheet(good, add("xxe.xlsx", "rejected", "XML entities"), _doctype(XXE, b"&xxe;"))
    bomb(good, add("zip_bomb.xlsx", "rejected", "unzipped bytes limit"), GIB + (1 << 20))
    bomb(good, add("ratio_bomb.xlsx", "rejected", "zip ratio limit"), 64 << 20)
    rewrite_sheet(good, add("far_corner.xlsx", "rejected", "columns limit"), _far_cell)
    rewrite_sheet(
        good, add("far_dimension.xlsx", "rejected", "columns limit"), _dimension(b"A1:XFD1048576")
    )
    rows = b"R,1\n" * 1_000_000  # past a low configured row limit (the tests set one)
    add("million_rows.csv", "rejected", "rows limit").write_bytes(b"project_id,pue\n" + rows)
    names = ["数据中心 🚀 emoji", "مركز البيانات\u202e RTL", "bell\x07 tab\t control"]
    write_csv(
        add("unicode.csv", "scored", ["UNI-1", "UNI-2", "UNI-3"]),
        [project(f"UNI-{i}", project_name=f'"{n}"') for i, n in enumerate(names, start=1)],
    )
    write_csv(
        add("cp1252.csv", "scored", ["CP-1"]),
        [project("CP-1", city="Zürich", sponsor="Société Générale")],
        "cp1252",
    )
    add("undecodable.csv", "rejected", "unknown text encoding").write_bytes(
        b"project_id\nX\x81 \x8d\n"
    )
    broken = f"{','.join(FIELDS)}\r\n" + ",".join(map(str, project("BREAK-1"))).replace(
        "Gui'an", "Gui\ran", 1
    )
    add("line_break.csv", "rejected", "malformed").write_text(broken + "\r\n", newline="")
    write_csv(add("dup_1_within.csv", "scored", ["DUP-1"]), [project("DUP-1"), project("DUP-1")])
    write_csv(add("dup_2_across.csv", "rejected", "duplicate project_id"), [project("DUP-1")])
    if hasattr(os, "mkfifo"):
        os.mkfifo(add("pipe.csv", "rejected", "not a regular file"))
    return expected


def _uncached_to_value(xml: bytes) -> bytes:
    """The formula without a cached value of :func:`_formulas` back as a plain number."""
    pue = openpyxl.utils.get_column_letter(FIELDS.index("pue") + 1).encode() + b"2"
    plain = b'<c r="' + pue + b'" t="n"><v>1.28</v></c>'
    return xml.replace(b'<c r="' + pue + b'"><f>B2*2</f></c>', plain)


if __name__ == "__main__":
    for name, outcome in make_corpus(Path(sys.argv[1])).items():
        print(f"{name}: {outcome}")
