"""Write the official application workbook from the field dictionary.

The workbook is generated, never hand-drawn: a guide sheet, a project sheet (label, value,
unit, help, the label in the other language, and the field key), a yearly sheet (years as rows,
one column per series) and a hidden sheet of dropdown lists. Enumerated fields get dropdowns,
numbers get formats and range validation, every value cell shows its help as an input hint.

``write_template(path, lang, values=..., yearly=...)`` also fills it in, which is how the sample
projects are made.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from .._shared.files import write_atomically
from .cells import FORMULA_STARTS
from .dictionary import Dictionary, Field, load_dictionary

SHEETS = {
    "en": ("Guide", "Project", "Yearly", "Lists"),
    "zh": ("填报说明", "项目信息", "年度数据", "下拉列表"),
}
HEADERS = {
    "en": ("Field", "Value", "Unit", "Help", "字段", "Key"),
    "zh": ("字段", "数值", "单位", "填报说明", "Field", "Key"),
}
YEAR_HEADER = {"en": "Year", "zh": "年份"}
YES_NO = {"en": ("Yes", "No"), "zh": ("是", "否")}
SECTIONS = {
    "identity": ("Identity and siting", "基本信息与选址"),
    "scale": ("Scale", "规模"),
    "energy": ("Energy and environment", "能源与环境"),
    "finance": ("Finance", "财务"),
    "reit": ("REIT and compliance", "REITs与合规"),
    "green_finance": ("Green Loan Principles evidence", "绿色贷款原则佐证"),
}
GUIDE = {
    "en": [
        "Application for financial support of a computing-infrastructure project",
        "Fill one workbook per project: the Project sheet (one value per row) and the Yearly "
        "sheet (one row per calendar year).",
        "Units: keep the unit shown or pick another from the Unit dropdown (e.g. 万元, 亿元, "
        "kW, GWh); the engine converts. Shares accept 85% or 0.85.",
        "Leave a value blank when it is not known; never type a placeholder such as 0.",
        "Column F holds the field key the engine reads; do not change it.",
    ],
    "zh": [
        "计算基础设施项目融资支持申请表",
        "每个项目填写一个工作簿：项目信息表（每行一项）和年度数据表（每个自然年一行）。",
        "单位：保留所示单位，或在单位下拉列表中选择其他单位（如万元、亿元、千瓦、吉瓦时），"
        "系统自动换算。比例可填写85%或0.85。",
        "未知数据请留空，不要填写0等占位值。",
        "F列为系统读取的字段代码，请勿修改。",
    ],
}
NUMBER_FORMATS = {
    "CNY": "#,##0",
    "MWh": "#,##0",
    "MW": "#,##0.00",
    "fraction": "0.0%",
    "years": "0.0",
    "racks": "#,##0",
    "": "0.00",
}
_HEAD_FILL = PatternFill("solid", fgColor="1F4E78")
_SECTION_FILL = PatternFill("solid", fgColor="D9E1F2")
_INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
_GREY = Font(color="808080", size=9)


def write_template(
    path: str | Path,
    lang: str = "en",
    *,
    values: Mapping[str, object] | None = None,
    yearly: Mapping[str, Mapping[int, float]] | None = None,
    units: Mapping[str, str] | None = None,
    dictionary: Dictionary | None = None,
) -> Path:
    """Write the application workbook; optionally filled with ``values`` (field -> value in
    the unit written for it: the base unit unless ``units`` names another), and ``yearly``
    (series -> {year: value})."""
    if lang not in SHEETS:
        raise ValueError(f"the 'lang' parameter must be 'en' or 'zh'; got {lang!r} instead")
    dictionary = dictionary or load_dictionary()
    book = Workbook()
    guide = book.active
    _write_guide(guide, lang)
    lists = _write_lists(book.create_sheet(SHEETS[lang][3]), dictionary, lang)
    project = book.create_sheet(SHEETS[lang][1], 1)
    _write_project(project, dictionary, lang, lists, values or {}, units or {})
    _write_yearly(
        book.create_sheet(SHEETS[lang][2], 2), dictionary, lang, yearly or {}, units or {}
    )
    book.active = 1
    return write_atomically(path, book.save)


def _write_guide(sheet: Worksheet, lang: str) -> None:
    sheet.title = SHEETS[lang][0]
    for row, line in enumerate(GUIDE[lang], start=1):
        sheet.cell(row, 1, line).font = Font(bold=row == 1, size=14 if row == 1 else 11)
    sheet.column_dimensions["A"].width = 110


def _write_lists(sheet: Worksheet, dictionary: Dictionary, lang: str) -> dict[str, str]:
    """One column per dropdown; returns list name -> absolute range formula."""
    sheet.sheet_state = "hidden"
    columns: dict[str, list[str]] = {"bool": list(YES_NO[lang])}
    label = "label_zh" if lang == "zh" else "label_en"
    for field in dictionary.fields.values():
        if field.type == "choice":
            columns[field.choices] = [row[label] for row in dictionary.choice_rows(field.choices)]
        if field.unit and field.unit != "fraction":
            columns[f"unit:{field.unit}"] = [u.name for u in dictionary.units_of(field.unit)]
    ranges = {}
    for index, (name, items) in enumerate(columns.items(), start=1):
        letter = get_column_letter(index)
        sheet.cell(1, index, name)
        for row, item in enumerate(items, start=2):
            sheet.cell(row, index, item)
        ranges[name] = f"{quote_sheetname(sheet.title)}!${letter}$2:${letter}${len(items) + 1}"
    return ranges


def _write_project(
    sheet: Worksheet,
    dictionary: Dictionary,
    lang: str,
    lists: dict[str, str],
    values: Mapping[str, object],
    units: Mapping[str, str],
) -> None:
    _header(sheet, HEADERS[lang])
    for letter, width in zip("ABCDEF", (34, 22, 14, 70, 30, 26), strict=True):
        sheet.column_dimensions[letter].width = width
    row, section = 2, None
    for field in dictionary.scalar_fields():
        if field.section != section:
            section = field.section
            _section_row(sheet, row, SECTIONS[section][lang == "zh"])
            row += 1
        _field_row(sheet, row, field, lang, lists, values.get(field.name), units, dictionary)
        row += 1
    sheet.freeze_panes = "B2"


def _header(sheet: Worksheet, titles: tuple[str, ...]) -> None:
    for col, title in enumerate(titles, start=1):
        cell = sheet.cell(1, col, title)
        cell.font, cell.fill = Font(bold=True, color="FFFFFF"), _HEAD_FILL


def _section_row(sheet: Worksheet, row: int, title: str) -> None:
    for col in range(1, 7):
        sheet.cell(row, col).fill = _SECTION_FILL
    sheet.cell(row, 1, title).font = Font(bold=True)


def _field_row(
    sheet: Worksheet,
    row: int,
    field: Field,
    lang: str,
    lists: dict[str, str],
    value: object,
    units: Mapping[str, str],
    dictionary: Dictionary,
) -> None:
    other = "en" if lang == "zh" else "zh"
    required = " *" if field.required else ""
    sheet.cell(row, 1, field.label(lang) + required)
    unit = units.get(field.name, field.unit)
    sheet.cell(row, 3, unit if field.unit else None)
    sheet.cell(row, 4, field.help(lang)).alignment = Alignment(wrap_text=True)
    sheet.cell(row, 5, field.label(other)).font = _GREY
    sheet.cell(row, 6, field.name).font = _GREY
    cell = sheet.cell(row, 2, _display(value, field, lang, dictionary))
    if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
        cell.data_type = "s"  # text, never a formula
    cell.fill = _INPUT_FILL
    _format_value(cell, field, unit)
    _validate(sheet, f"B{row}", field, lang, lists)
    if field.unit and field.unit != "fraction":
        _add_validation(
            sheet,
            DataValidation(type="list", formula1=lists[f"unit:{field.unit}"], errorStyle="warning"),
            f"C{row}",
        )


def _display(value: object, field: Field, lang: str, dictionary: Dictionary) -> object:
    if value is None:
        return None
    if field.type == "choice":
        row = next((r for r in dictionary.choice_rows(field.choices) if r["code"] == value), None)
        return row["label_zh" if lang == "zh" else "label_en"] if row else value
    if field.type == "bool" and isinstance(value, bool):
        return YES_NO[lang][0 if value else 1]
    if field.type == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value


def _format_value(cell, field: Field, unit: str) -> None:
    if field.type == "date":
        cell.number_format = "yyyy-mm-dd"
    elif field.type == "fraction":
        cell.number_format = "0.0%" if unit == "fraction" else "0.0"
    elif field.type in ("number", "integer"):
        cell.number_format = (
            NUMBER_FORMATS.get(unit, "#,##0.00") if unit == field.unit else "#,##0.00"
        )
    elif field.type == "text":
        cell.number_format = "@"


def _validate(sheet: Worksheet, ref: str, field: Field, lang: str, lists: dict[str, str]) -> None:
    prompt = field.help(lang)[:250]
    title = field.label(lang)[:32]
    if field.type == "choice":
        rule = DataValidation(type="list", formula1=lists[field.choices], errorStyle="warning")
    elif field.type == "bool":
        rule = DataValidation(type="list", formula1=lists["bool"], errorStyle="warning")
    elif field.type == "date":
        rule = DataValidation(
            type="date",
            operator="greaterThan",
            formula1="1",
            allow_blank=True,
            errorStyle="warning",
        )
    elif (
        field.type in ("number", "integer", "fraction")
        and field.min is not None
        and field.unit in ("", "fraction")
    ):
        rule = DataValidation(
            type="whole" if field.type == "integer" else "decimal",
            operator="between",
            formula1=str(field.min),
            formula2=str(field.max),
            errorStyle="warning",
        )
    else:
        rule = DataValidation(allow_blank=True)
    rule.promptTitle, rule.prompt, rule.showInputMessage = title, prompt, True
    rule.showErrorMessage = True
    _add_validation(sheet, rule, ref)


def _add_validation(sheet: Worksheet, rule: DataValidation, ref: str) -> None:
    sheet.add_data_validation(rule)
    rule.add(ref)


def _write_yearly(
    sheet: Worksheet,
    dictionary: Dictionary,
    lang: str,
    yearly: Mapping[str, Mapping[int, float]],
    units: Mapping[str, str],
) -> None:
    series = dictionary.series_fields()
    titles = [YEAR_HEADER[lang]] + [
        f"{f.label(lang)} ({units.get(f.name, f.unit)})" for f in series
    ]
    _header(sheet, tuple(titles))
    for col in range(2, len(series) + 2):
        sheet.column_dimensions[get_column_letter(col)].width = 28
    years = sorted({year for values in yearly.values() for year in values})
    for row, year in enumerate(years, start=2):
        sheet.cell(row, 1, year)
        for col, field in enumerate(series, start=2):
            sheet.cell(row, col, yearly.get(field.name, {}).get(year)).number_format = "#,##0"
    rule = DataValidation(
        type="whole", operator="between", formula1="1990", formula2="2100", errorStyle="warning"
    )
    _add_validation(sheet, rule, "A2:A60")
    sheet.freeze_panes = "B2"
