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

from .._shared.excel import Formats, column_range, write_book
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
HEAD = {"bold": True, "font_color": "#FFFFFF", "bg_color": "#1F4E78", "pattern": 1}
SECTION = {"bg_color": "#D9E1F2", "pattern": 1}
INPUT = {"bg_color": "#FFF2CC", "pattern": 1}
GREY = {"font_color": "#808080", "font_size": 9}


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

    def draw(book, formats: Formats) -> None:
        names = SHEETS[lang]
        guide, project, years = (book.add_worksheet(name) for name in names[:3])
        lists = _write_lists(book.add_worksheet(names[3]), dictionary, lang)
        _write_guide(guide, lang, formats)
        _write_project(project, dictionary, lang, lists, values or {}, units or {}, formats)
        _write_yearly(years, dictionary, lang, yearly or {}, units or {}, formats)
        project.activate()

    return write_book(path, draw)


def _write_guide(sheet, lang: str, formats: Formats) -> None:
    for row, line in enumerate(GUIDE[lang]):
        sheet.write_string(row, 0, line, formats(bold=row == 0, font_size=14 if row == 0 else 11))
    sheet.set_column(0, 0, 110)


def _write_lists(sheet, dictionary: Dictionary, lang: str) -> dict[str, str]:
    """One column per dropdown (the sheet hidden); returns list name -> absolute range."""
    sheet.hide()
    columns: dict[str, list[str]] = {"bool": list(YES_NO[lang])}
    label = "label_zh" if lang == "zh" else "label_en"
    for field in dictionary.fields.values():
        if field.type == "choice":
            columns[field.choices] = [row[label] for row in dictionary.choice_rows(field.choices)]
        if field.unit and field.unit != "fraction":
            columns[f"unit:{field.unit}"] = [u.name for u in dictionary.units_of(field.unit)]
    ranges = {}
    for index, (name, items) in enumerate(columns.items()):
        sheet.write_string(0, index, name)
        for row, item in enumerate(items, start=1):
            sheet.write_string(row, index, item)
        ranges[name] = column_range(sheet.name, index, 1, len(items))
    return ranges


def _write_project(
    sheet,
    dictionary: Dictionary,
    lang: str,
    lists: dict[str, str],
    values: Mapping[str, object],
    units: Mapping[str, str],
    formats: Formats,
) -> None:
    _header(sheet, HEADERS[lang], formats)
    for column, width in enumerate((34, 22, 14, 70, 30, 26)):
        sheet.set_column(column, column, width)
    row, section = 1, None
    for field in dictionary.scalar_fields():
        if field.section != section:
            section = field.section
            _section_row(sheet, row, SECTIONS[section][lang == "zh"], formats)
            row += 1
        value = values.get(field.name)
        _field_row(sheet, row, field, lang, lists, value, units, dictionary, formats)
        row += 1
    sheet.freeze_panes(1, 1)


def _header(sheet, titles: tuple[str, ...], formats: Formats) -> None:
    for column, title in enumerate(titles):
        sheet.write_string(0, column, title, formats(**HEAD))


def _section_row(sheet, row: int, title: str, formats: Formats) -> None:
    sheet.write_string(row, 0, title, formats(bold=True, **SECTION))
    for column in range(1, 6):
        sheet.write_blank(row, column, None, formats(**SECTION))


def _field_row(
    sheet,
    row: int,
    field: Field,
    lang: str,
    lists: dict[str, str],
    value: object,
    units: Mapping[str, str],
    dictionary: Dictionary,
    formats: Formats,
) -> None:
    other = "en" if lang == "zh" else "zh"
    required = " *" if field.required else ""
    sheet.write_string(row, 0, field.label(lang) + required)
    unit = units.get(field.name, field.unit)
    if field.unit:
        sheet.write_string(row, 2, unit)
    sheet.write_string(row, 3, field.help(lang), formats(text_wrap=True))
    sheet.write_string(row, 4, field.label(other), formats(**GREY))
    sheet.write_string(row, 5, field.name, formats(**GREY))
    shape = formats(**INPUT, **_number_format(field, unit))
    _write_value(sheet, row, _display(value, field, lang, dictionary), shape)
    sheet.data_validation(row, 1, row, 1, _validation(field, lang, lists))
    if field.unit and field.unit != "fraction":
        choice = {"validate": "list", "source": lists[f"unit:{field.unit}"]}
        sheet.data_validation(row, 2, row, 2, {**choice, "error_type": "warning"})


def _write_value(sheet, row: int, value: object, shape) -> None:
    """The value cell: text always as text (never a formula), dates as dates."""
    if value is None:
        sheet.write_blank(row, 1, None, shape)
    elif isinstance(value, bool):
        sheet.write_boolean(row, 1, value, shape)
    elif isinstance(value, int | float):
        sheet.write_number(row, 1, value, shape)
    elif isinstance(value, dt.date):
        sheet.write_datetime(row, 1, value, shape)
    else:
        sheet.write_string(row, 1, str(value), shape)


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


def _number_format(field: Field, unit: str) -> dict[str, str]:
    if field.type == "date":
        return {"num_format": "yyyy-mm-dd"}
    if field.type == "fraction":
        return {"num_format": "0.0%" if unit == "fraction" else "0.0"}
    if field.type in ("number", "integer"):
        shown = NUMBER_FORMATS.get(unit, "#,##0.00") if unit == field.unit else "#,##0.00"
        return {"num_format": shown}
    return {"num_format": "@"} if field.type == "text" else {}


def _validation(field: Field, lang: str, lists: dict[str, str]) -> dict:
    """The value cell's rule (a dropdown, a date, a range, or none) with its help as the
    input hint; a value outside it warns."""
    hint = {
        "input_title": field.label(lang)[:32],
        "input_message": field.help(lang)[:250],
        "error_type": "warning",
    }
    if field.type in ("choice", "bool"):
        source = lists[field.choices if field.type == "choice" else "bool"]
        return {"validate": "list", "source": source, **hint}
    if field.type == "date":
        return {"validate": "date", "criteria": ">", "value": dt.date(1900, 1, 1), **hint}
    ranged = field.type in ("number", "integer", "fraction") and field.unit in ("", "fraction")
    if ranged and field.min is not None:
        kind = "integer" if field.type == "integer" else "decimal"
        if field.max is None:
            return {"validate": kind, "criteria": ">=", "value": field.min, **hint}
        bounds = {"minimum": field.min, "maximum": field.max}
        return {"validate": kind, "criteria": "between", **bounds, **hint}
    return {"validate": "any", **hint}


def _write_yearly(
    sheet,
    dictionary: Dictionary,
    lang: str,
    yearly: Mapping[str, Mapping[int, float]],
    units: Mapping[str, str],
    formats: Formats,
) -> None:
    series = dictionary.series_fields()
    titles = [YEAR_HEADER[lang]] + [
        f"{f.label(lang)} ({units.get(f.name, f.unit)})" for f in series
    ]
    _header(sheet, tuple(titles), formats)
    sheet.set_column(1, len(series), 28)
    years = sorted({year for values in yearly.values() for year in values})
    amount = formats(num_format="#,##0")
    for row, year in enumerate(years, start=1):
        sheet.write_number(row, 0, year)
        for column, field in enumerate(series, start=1):
            value = yearly.get(field.name, {}).get(year)
            if value is None:
                sheet.write_blank(row, column, None, amount)
            else:
                sheet.write_number(row, column, value, amount)
    rule = {"validate": "integer", "criteria": "between", "minimum": 1990, "maximum": 2100}
    sheet.data_validation(1, 0, 59, 0, {**rule, "error_type": "warning"})
    sheet.freeze_panes(1, 1)
