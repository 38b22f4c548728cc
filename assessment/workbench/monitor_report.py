"""A monitoring comparison (:mod:`assessment.workbench.monitor`) as text, an Excel workbook
and a short PDF, each leading with what moved out of the stable band (worst first), or with
"no change" when nothing moved at all.

* :func:`monitor_lines`: the printed lines: what moved, the sources and band counts, then the
  tables, worst first (with identical inputs, "no change" and nothing more);
* :func:`write_monitor_workbook`: sheets Summary, Rules and Fields, band cells filled as the
  verdicts are (stable green, watch amber, act red, not compared grey);
* :func:`write_monitor_pdf`: what moved, the headline, bar charts of PSI per field and of the
  largest shift per rule on value axes with the band limits marked, coloured by band, the
  pass rate's definition, then the tables; in the memo's look
  (:mod:`assessment.reports.pdf.style`), worded by the ``monitor`` section of
  ``templates/report/<lang>.yaml``, fields by their labels and codes in words
  (:class:`assessment.reports.fields.Wording`); the same comparison gives the same bytes.

What moved and a field's largest move read alike in the text and the PDF: one wording
(:func:`moved_table`, :func:`bin_move`), in English or the PDF's language.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from reportlab.platypus import Spacer

from .._shared.excel import Table, write_workbook
from .._shared.text import shown
from ..criteria.pass_rate import SHARES
from ..model.drift import NOT_COMPARED, load_bands
from ..reports.fields import Wording
from ..reports.numbers import for_people
from ..reports.pdf.flowables import Grid, axis_bars, worded_grid, worded_section, write_story
from ..reports.pdf.style import Look, fill
from ..reports.workbook import VERDICT_FILLS
from .monitor import Monitoring, largest_shifts

__all__ = ["monitor_lines", "summary_table", "write_monitor_pdf", "write_monitor_workbook"]

# A band shown as the verdict it resembles: the workbook's fills, the PDF style's colours.
BAND_AS_VERDICT = {
    "stable": "pass",
    "watch": "insufficient",
    "act": "fail",
    NOT_COMPARED: "not_applicable",
}
BARS_PER_CHART = 40
PERCENT_COLUMNS = ("_pass_rate", "_share")
LIMITS = {"shift": "pass_rate_shift_pp", "psi": "psi"}  # placeholder -> bands.csv measure

_section = partial(worded_section, group="monitor")
_grid = partial(worded_grid, group="monitor")


def summary_table(monitoring: Monitoring) -> pd.DataFrame:
    """The Summary sheet: the two sources, band counts, then the population measures."""
    sources = monitoring.sources
    rows = [
        {
            "measure": "source",
            "baseline": sources.get("baseline"),
            "current": sources.get("current"),
        }
    ]
    for table, counts in monitoring.band_counts().items():
        for name, count in counts.items():
            rows.append({"measure": f"{table} {name}", "current": count})
    head = pd.DataFrame(rows, columns=monitoring.population.columns)
    return pd.concat([head.astype(object), monitoring.population.astype(object)], ignore_index=True)


# Text ------------------------------------------------------------------------------------


def monitor_lines(monitoring: Monitoring) -> list[str]:
    """The comparison as printed lines: what moved out of the stable band, then the sources
    and band counts, then rules, fields and population, each worst first; with identical
    inputs the template's "no change" and nothing more."""
    wording = Wording("en")
    words = wording.words
    if monitoring.unchanged():
        return [words["monitor"]["no_change"]]
    sources = monitoring.sources
    projects = monitoring.population.iloc[0]
    head = [
        f"baseline: {sources.get('baseline', '-')} ({projects['baseline']:.0f} projects)",
        f"current:  {sources.get('current', '-')} ({projects['current']:.0f} projects)",
        _counts_line(monitoring),
    ]
    return [
        *_moved_lines(monitoring, wording),
        "",
        *head,
        "",
        "Rules: pass rate, fail and cannot-be-decided shares, baseline -> current",
        _shown(_rules_text(monitoring.rules)),
        words["pass_rate"]["definition"],
        "",
        "Fields: population stability index on the baseline's deciles (numbers) or levels",
        _shown(_fields_text(monitoring.fields, wording)),
        "",
        "Population",
        _shown(_population_text(monitoring.population.iloc[1:])),
    ]


def _moved_lines(monitoring: Monitoring, wording: Wording) -> list[str]:
    """The moved-out-of-the-stable-band table, worst first, headed by its title."""
    words = wording.words["monitor"]
    table = moved_table(monitoring.moved(), wording)
    if table.empty:
        return [words["nothing_moved"]]
    table.columns = [words["columns"][column] for column in table.columns]
    return [words["sections"]["moved"], *table.to_string(index=False).splitlines()]


def moved_table(moved: pd.DataFrame, wording: Wording) -> pd.DataFrame:
    """What moved (:meth:`Monitoring.moved`) as text in the words of ``wording``: band,
    kind, what (a field by its label), from -> to (a field's largest move,
    :func:`bin_move`) and the change."""
    words = wording.words["monitor"]
    rows = [
        {
            "band": words["bands"].get(row["band"], row["band"]),
            "kind": words["moved"]["kinds"][row["table"]],
            "what": _what(row, wording),
            "move": _move(row, wording),
            "change": _change(row, words["moved"]),
        }
        for row in moved.to_dict("records")
    ]
    return pd.DataFrame(rows, columns=["band", "kind", "what", "move", "change"])


def _what(row: dict, wording: Wording) -> str:
    words = wording.words
    what = words["monitor"]["moved"]["what"]
    if row["table"] == "rules":
        verdict = {share: verdict for verdict, share in SHARES.items()}[row["measure"]]
        return fill(what, name=row["name"], measure=words["pass_rate"]["shares"][verdict])
    if row["table"] == "fields":
        distribution = words["monitor"]["moved"]["distribution"]
        return fill(what, name=wording.label(row["name"]), measure=distribution)
    return str(words["monitor"]["measures"].get(row["name"], row["name"]))


def _move(row: dict, wording: Wording) -> str:
    if row["table"] == "fields":
        return bin_move(wording, row["name"], row["detail"], row["baseline"], row["current"])
    move = wording.words["monitor"]["moved"]["move"]
    return fill(move, before=_pct(row["baseline"]), after=_pct(row["current"]))


def bin_move(wording: Wording, name: str, bin_: object, before: object, after: object) -> str:
    """A field's largest move in the words of ``wording``: its bin (a category's code in the
    field's words, ``missing`` in the template's), the share before and after; "no change"
    when no bin moved."""
    words = wording.words["monitor"]
    if not isinstance(bin_, str) or not bin_:
        return str(words["moved"]["no_move"])
    shown_bin = words["bins"].get(bin_) or wording.words_of(name).get(bin_, bin_)
    return fill(words["moved"]["bin_move"], bin=shown_bin, before=_pct(before), after=_pct(after))


def _change(row: dict, phrases: dict) -> str:
    if row["table"] == "fields":
        return fill(phrases["psi"], psi=shown(row["shift"], "{:.3f}"))
    return fill(phrases["shift"], shift=_pp(row["shift"]))


def _counts_line(monitoring: Monitoring) -> str:
    parts = [
        f"{table} " + ", ".join(f"{n} {band}" for band, n in counts.items())
        for table, counts in monitoring.band_counts().items()
    ]
    return f"worst band: {monitoring.worst_band()}; " + "; ".join(parts)


def _shown(frame: pd.DataFrame) -> str:
    return frame.to_string(index=False) if len(frame) else "  (none)"


def _rules_text(rules: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rule": rules["rule_id"],
            "pass baseline": rules["baseline_pass_rate"].map(_pct),
            "pass current": rules["current_pass_rate"].map(_pct),
            "shift pp": rules["shift_pp"].map(_pp),
            "z": rules["z"].map(lambda v: shown(v, "{:+.2f}")),
            "fail": _moves(rules, "fail_share"),
            "insufficient": _moves(rules, "insufficient_share"),
            "band": rules["band"],
            "note": rules["note"].fillna(""),
        }
    )


def _moves(rules: pd.DataFrame, share: str) -> list[str]:
    """``baseline -> current`` of a share of each rule's verdicts."""
    pairs = zip(rules[f"baseline_{share}"], rules[f"current_{share}"], strict=True)
    return [
        "-" if pd.isna(before) and pd.isna(after) else f"{_pct(before)} -> {_pct(after)}"
        for before, after in pairs
    ]


def _fields_text(fields: pd.DataFrame, wording: Wording) -> pd.DataFrame:
    rows = fields.to_dict("records")
    return pd.DataFrame(
        {
            "field": fields["field"],
            "kind": fields["kind"],
            "psi": fields["psi"].map(lambda v: shown(v, "{:.4f}")),
            "band": fields["band"],
            "largest move": [_largest_move(wording, row) for row in rows],
            "note": fields["note"].fillna(""),
        },
        index=fields.index,
    )


def _largest_move(wording: Wording, row: dict) -> str:
    """A field's largest move (:func:`bin_move`); nothing for a field not compared."""
    if row["band"] == NOT_COMPARED:
        return ""
    before, after = row.get("largest_baseline_share"), row.get("largest_current_share")
    return bin_move(wording, row["field"], row.get("largest_bin"), before, after)


def _population_text(population: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "measure": population["measure"],
            "baseline": population["baseline"].map(_pct),
            "current": population["current"].map(_pct),
            "shift pp": population["shift_pp"].map(_pp),
            "band": population["band"],
            "note": population["note"].fillna(""),
        }
    )


def _pct(value: object) -> str:
    return for_people(value, "fraction")


def _pp(value: object) -> str:
    return shown(value, "{:+.1f}")


# Workbook --------------------------------------------------------------------------------


def write_monitor_workbook(monitoring: Monitoring, path: str | Path) -> Path:
    """Write the sheets Summary, Rules and Fields to ``path`` through a temporary file: band
    cells filled by band; rates as percentages, shifts and PSI as decimals."""
    summary = summary_table(monitoring)
    tables = {
        "Summary": _formatted(summary, row_formats=_rate_rows(summary)),
        "Rules": _formatted(monitoring.rules),
        "Fields": _formatted(monitoring.fields),
    }
    return write_workbook(path, tables)


def _formatted(frame: pd.DataFrame, row_formats: dict | None = None) -> Table:
    fills = {band: VERDICT_FILLS[verdict] for band, verdict in BAND_AS_VERDICT.items()}
    formats = {c: f for c in frame.columns if (f := _number_format(str(c)))}
    return Table(frame, {"band": fills}, formats, row_formats or {})


def _rate_rows(summary: pd.DataFrame) -> dict[int, str]:
    """Shares and rates of the Summary sheet (its first column names them) as percentages."""
    names = summary.iloc[:, 0].astype(str) if len(summary.columns) else pd.Series(dtype=str)
    rates = names.str.startswith("share ") | names.str.endswith(" rate")
    return dict.fromkeys(np.flatnonzero(rates.to_numpy()).tolist(), "0.0%")


def _number_format(column: str) -> str | None:
    if column.endswith(PERCENT_COLUMNS):
        return "0.0%"
    if column.endswith("_pp") or column == "z":
        return "+0.0;-0.0;0.0"
    return "0.0000" if column == "psi" else None


# PDF -------------------------------------------------------------------------------------


def write_monitor_pdf(
    monitoring: Monitoring,
    path: str | Path,
    lang: str = "en",
    templates: str | Path | None = None,
) -> Path:
    """Write the comparison (A4) in ``lang`` to ``path`` through a temporary file beside it:
    what moved out of the stable band first (or "no change"), then the sources and band
    counts, the charts and the tables; the wording is the ``monitor`` section of
    ``templates/report/<lang>.yaml`` (a ``templates`` folder is searched first)."""
    look, wording = Look(lang, templates), Wording(lang, templates)
    words = look.words["monitor"]
    story = [look.para(words["title"], "title", True, look.colour["heading"])]
    if monitoring.unchanged():  # nothing moved: say so and nothing more, as the text does
        story += [look.para(words["no_change"], bold=True)]
        return write_story(look, story, path, words["title"], words["author"])
    story += _section(look, "moved", _moved(look, wording, monitoring))
    story += [Spacer(1, 6), *(look.para(line) for line in _headline(look, monitoring))]
    story += _section(look, "psi", _psi_chart(look, wording, monitoring))
    definition = [Spacer(1, 3), look.para(look.words["pass_rate"]["definition"])]
    story += _section(look, "shifts", _shift_charts(look, monitoring) + definition)
    fields = _fields_grid(look, wording, monitoring.fields)
    story += _section(look, "fields", [fields.build(look)])
    story += _section(look, "rules", [_rules_grid(look, wording, monitoring.rules).build(look)])
    population = _population_grid(look, wording, monitoring.population.iloc[1:])
    story += _section(look, "population", [population.build(look)])
    return write_story(look, story, path, words["title"], words["author"])


def _moved(look: Look, wording: Wording, monitoring: Monitoring) -> list:
    """What moved out of the stable band, worst first, the band cell on its colour."""
    table = moved_table(monitoring.moved(), wording)
    if table.empty:
        return [look.para(look.words["monitor"]["nothing_moved"])]
    grid = _grid(look, list(table.columns), [50, 60, 190, 151, 60])
    for row, band in zip(table.itertuples(index=False), monitoring.moved()["band"], strict=True):
        grid.add(list(row), fill=_fill(look, 0, band))
    return [grid.build(look)]


def _headline(look: Look, monitoring: Monitoring) -> list[str]:
    """The two sources with their projects, the worst band and band counts, the limits."""
    words, sources = look.words["monitor"], monitoring.sources
    projects = monitoring.population.iloc[0]
    lines = [
        fill(words[side], source=sources.get(side, "-"), projects=f"{projects[side]:.0f}")
        for side in ("baseline", "current")
    ]
    worst = _band(look, monitoring.worst_band())
    lines.append(fill(words["worst"], band=worst, counts=_counts(look, monitoring)))
    limits = {key: _limits(look, measure) for key, measure in LIMITS.items()}
    return [*lines, fill(words["bands_note"], **limits)]


def _counts(look: Look, monitoring: Monitoring) -> str:
    words = look.words["monitor"]
    separators = words["separators"]
    parts = []
    for table, counts in monitoring.band_counts().items():
        shown = [fill(words["count"], n=n, band=_band(look, b)) for b, n in counts.items()]
        name = words["tables"].get(table, table)
        parts.append(fill(words["table_counts"], table=name, counts=separators["list"].join(shown)))
    return separators["group"].join(parts)


def _limits(look: Look, measure: str) -> str:
    """``stable below 0.1, watch below 0.25, act above`` in the look's words."""
    words = look.words["monitor"]
    rows = load_bands(measure).to_dict("records")
    limits = [
        fill(words["limit"], band=_band(look, row["band"]), below=shown(row["below"]))
        for row in rows[:-1]
    ]
    last = fill(words["limit_last"], band=_band(look, rows[-1]["band"]))
    return words["separators"]["list"].join([*limits, last])


def _band(look: Look, band: object) -> str:
    return str(look.words["monitor"]["bands"].get(band, band))


def _psi_chart(look: Look, wording: Wording, monitoring: Monitoring) -> list:
    """PSI per field (by its label), coloured by band, on an axis with the band limits
    marked."""
    fields = monitoring.fields[monitoring.fields["band"] != NOT_COMPARED]
    items = [
        (wording.label(row.field), float(row.psi), BAND_AS_VERDICT[row.band])
        for row in fields.itertuples(index=False)
    ]
    if not items:
        return []
    words = look.words["monitor"]["axes"]
    titles = (words["psi"], words["fields"])
    return [axis_bars(items, look, titles=titles, limits=_limit_lines(look, "psi"), shown="{:.3f}")]


def _shift_charts(look: Look, monitoring: Monitoring) -> list:
    """Per rule the largest shift of its pass rate, fail or insufficient share (the one that
    sets its band), coloured by band, the longest bar first, on an axis with the band limits
    marked."""
    rules = monitoring.rules[monitoring.rules["band"] != NOT_COMPARED]
    largest = largest_shifts(rules)
    words, shares = look.words["monitor"], look.words["pass_rate"]["shares"]
    verdicts = {share: verdict for verdict, share in SHARES.items()}
    items = [
        (
            fill(
                words["shift_label"],
                rule=rule,
                share=shares[verdicts[share]],
                shift=f"{shift:+.1f}",
            ),
            abs(shift),
            BAND_AS_VERDICT[band],
        )
        for rule, band, share, shift in zip(
            rules["rule_id"], rules["band"], largest["share"], largest["shift_pp"], strict=True
        )
        if np.isfinite(shift)
    ]
    items.sort(key=lambda item: -item[1])  # stable: rules of one shift keep the table's order
    titles = (words["axes"]["shift"], words["axes"]["rules"])
    limits = _limit_lines(look, LIMITS["shift"])
    return [
        axis_bars(items[i : i + BARS_PER_CHART], look, titles=titles, limits=limits, shown="{:.1f}")
        for i in range(0, len(items), BARS_PER_CHART)
    ]


def _limit_lines(look: Look, measure: str) -> list[tuple[float, str]]:
    """The band limits of ``measure`` (rules/monitor/bands.csv) as chart lines: at each
    limit, the band that starts there."""
    rows = load_bands(measure).to_dict("records")
    words = look.words["monitor"]
    return [
        (
            float(low["below"]),
            fill(words["limit_line"], band=_band(look, high["band"]), limit=shown(low["below"])),
        )
        for low, high in zip(rows, rows[1:], strict=False)
    ]


def _fields_grid(look: Look, wording: Wording, fields: pd.DataFrame) -> Grid:
    """Per field (by its label): kind, PSI, band, largest move and note, in words."""
    columns = ["field", "kind", "psi", "band", "largest_move", "note"]
    grid = _grid(look, columns, [85, 50, 45, 55, 160, 116])
    kinds = look.words["monitor"]["kinds"]
    for row in _fields_text(fields, wording).itertuples(index=False):
        shown = [kinds.get(row.kind, row.kind), row.psi, _band(look, row.band), row[4]]
        cells = [wording.label(row.field), *shown, _phrase(wording, row.note)]
        grid.add(cells, fill=_fill(look, 3, row.band))
    return grid


def _rules_grid(look: Look, wording: Wording, rules: pd.DataFrame) -> Grid:
    columns = ["rule", "pass_before", "pass_now", "shift_pp", "z", "fail", "insufficient"]
    grid = _grid(look, [*columns, "band", "note"], [104, 40, 40, 34, 30, 72, 72, 43, 76])
    for row in _rules_text(rules).itertuples(index=False):
        cells = [*row[:7], _band(look, row.band), _phrase(wording, row.note)]
        grid.add(cells, fill=_fill(look, 7, row.band))
    return grid


def _population_grid(look: Look, wording: Wording, population: pd.DataFrame) -> Grid:
    columns = ["measure", "baseline", "current", "shift_pp", "band", "note"]
    grid = _grid(look, columns, [150, 60, 60, 50, 55, 136])
    measures = look.words["monitor"]["measures"]
    for row in _population_text(population).itertuples(index=False):
        measure = measures.get(row.measure, row.measure)
        cells = [measure, *row[1:4], _band(look, row.band), _phrase(wording, row.note)]
        grid.add(cells, fill=_fill(look, 4, row.band))
    return grid


def _phrase(wording: Wording, note: object) -> str:
    """A note the comparison wrote, in the words of the template's ``monitor.phrases``."""
    return wording.phrase(note, wording.words["monitor"]["phrases"])


def _fill(look: Look, column: int, band: str) -> tuple[int, object] | None:
    """The band cell's fill: the style's colour of the verdict the band resembles."""
    verdict = BAND_AS_VERDICT.get(band)
    return (column, look.colour[verdict]) if verdict else None
