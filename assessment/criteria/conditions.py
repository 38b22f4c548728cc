"""The condition language of rule tables, parsed by hand and compiled to vectorised numpy.

Grammar (nothing is ``eval``-ed)::

    expr     := term ("or" term)*
    term     := factor ("and" factor)*
    factor   := "not" factor | "(" expr ")" | test
    test     := NAME op literal | NAME ("in" | "not_in") "(" literal ("," literal)* ")"
              | NAME "between" "(" literal "," literal ")" | NAME ("is_blank" | "not_blank")
    op       := "<" | "<=" | ">" | ">=" | "==" | "!="
    literal  := number | number "%" | "true" | "false" | code | "quoted text"

Evaluation is three-valued: each node gives ``(truth, known)`` boolean arrays; a test on a
missing value is unknown, and ``and``/``or``/``not`` follow Kleene logic.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

COMPARISONS = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_TOKEN = re.compile(
    r"""\s*(?:
    (?P<number>[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?%?)
  | (?P<string>"[^"]*"|'[^']*')
  | (?P<op><=|>=|==|!=|<|>)
  | (?P<punct>[(),])
  | (?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)
  )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "not_in", "between", "is_blank", "not_blank"}
MAX_DEPTH = 50  # brackets and 'not's nested in one condition; deeper is refused


class ConditionError(ValueError):
    """A condition that does not parse: what was expected, at which character."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at character {position + 1})")
        self.position = position


@dataclass(frozen=True)
class Comparison:
    """One comparison of a column with literals: ``op`` is a comparison, ``in``, ``not_in``,
    ``between``, ``is_blank`` or ``not_blank``."""

    name: str
    op: str
    literals: tuple[object, ...] = ()


@dataclass(frozen=True)
class Logic:
    op: str  # "and", "or", "not"
    parts: tuple[object, ...]


def parse(text: str) -> Comparison | Logic | None:
    """The syntax tree of a condition; None for a blank condition (always true)."""
    tokens = _tokenize(text)
    if not tokens:
        return None
    parser = _Parser(tokens)
    tree = parser.expr()
    if parser.peek() is not None:
        kind, value, position = parser.peek()
        raise ConditionError(f"unexpected {value!r}; expected 'and', 'or' or the end", position)
    return tree


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ConditionError(f"unexpected character {text[position:].strip()[:1]!r}", position)
        kind = match.lastgroup
        value, start = match.group(kind), match.start(kind)
        if kind == "name" and value.lower() in _KEYWORDS:
            kind, value = "keyword", value.lower()
        tokens.append((kind, value, start))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str, int]]) -> None:
        self.tokens, self.index, self.depth = tokens, 0, 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self, kind: str, value: str | None = None, expected: str = "") -> str:
        token = self.peek()
        if token is None or token[0] != kind or (value is not None and token[1] != value):
            where = token[2] if token else sum(len(t[1]) + 1 for t in self.tokens)
            got = repr(token[1]) if token else "the end"
            raise ConditionError(f"expected {expected or value or kind}; got {got}", where)
        self.index += 1
        return token[1]

    def accept(self, kind: str, value: str) -> bool:
        token = self.peek()
        if token and token[0] == kind and token[1] == value:
            self.index += 1
            return True
        return False

    def expr(self) -> Comparison | Logic:
        parts = [self.term()]
        while self.accept("keyword", "or"):
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else Logic("or", tuple(parts))

    def term(self) -> Comparison | Logic:
        parts = [self.factor()]
        while self.accept("keyword", "and"):
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else Logic("and", tuple(parts))

    def factor(self) -> Comparison | Logic:
        token = self.peek()
        if self.accept("keyword", "not"):
            return Logic("not", (self.nested(token, self.factor),))
        if self.accept("punct", "("):
            inner = self.nested(token, self.expr)
            self.take("punct", ")")
            return inner
        return self.comparison()

    def nested(self, token: tuple[str, str, int], part):
        """``part()`` one level deeper; past ``MAX_DEPTH`` levels the condition is refused."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ConditionError(f"nested deeper than {MAX_DEPTH} levels", token[2])
        found = part()
        self.depth -= 1
        return found

    def comparison(self) -> Comparison:
        name = self.take("name", expected="a field or indicator name")
        token = self.peek()
        if token and token[0] == "op":
            self.index += 1
            return Comparison(name, token[1], (self.literal(),))
        keyword = self.take(
            "keyword",
            expected="a comparison (== != < <= > >= in not_in between is_blank not_blank)",
        )
        if keyword in ("is_blank", "not_blank"):
            return Comparison(name, keyword)
        if keyword in ("in", "not_in", "between"):
            return Comparison(name, keyword, self.literal_list(2 if keyword == "between" else 0))
        raise ConditionError(f"{keyword!r} cannot follow a name", self.tokens[self.index - 1][2])

    def literal_list(self, exactly: int) -> tuple[object, ...]:
        self.take("punct", "(")
        items = [self.literal()]
        while self.accept("punct", ","):
            items.append(self.literal())
        self.take("punct", ")")
        if exactly and len(items) != exactly:
            raise ConditionError(f"expected {exactly} values in brackets", self.tokens[-1][2])
        return tuple(items)

    def literal(self) -> object:
        token = self.peek()
        if token is None or token[0] not in ("number", "string", "name"):
            self.take("number", expected="a value")
        self.index += 1
        kind, value, _ = token
        return literal_value(kind, value)


def literal_value(kind: str, value: str) -> object:
    """A token's value: numbers (``85%`` -> 0.85), booleans, codes and quoted text."""
    if kind == "number":
        return float(value[:-1]) / 100 if value.endswith("%") else float(value)
    if kind == "string":
        return value[1:-1]
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def names(tree: Comparison | Logic | None) -> list[Comparison]:
    """Every test in a tree, in order (for validation against known fields)."""
    if tree is None:
        return []
    if isinstance(tree, Comparison):
        return [tree]
    return [test for part in tree.parts for test in names(part)]


Truth = tuple[np.ndarray, np.ndarray]


class Columns:
    """The columns of a frame as the tests read them, each worked out once: where it has a
    value, and its values (numbers as floats, the rest as objects). Many rules test the
    same columns: one per frame serves them all."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._known: dict[str, np.ndarray] = {}
        self._values: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.frame)

    def known(self, name: str) -> np.ndarray:
        if name not in self._known:
            self._read(name)
        return self._known[name]

    def values(self, name: str) -> np.ndarray:
        if name not in self._values:
            self._read(name)
        return self._values[name]

    def _read(self, name: str) -> None:
        """Both arrays of one column, from one look at the frame."""
        values = np.array(_plain(self.frame[name]))  # missing: NaN, or None for objects
        known = ~np.isnan(values) if values.dtype == float else ~pd.isna(values)
        self._values[name], self._known[name] = _frozen(values), _frozen(known)


def _frozen(array: np.ndarray) -> np.ndarray:
    """``array`` made read-only: a shared array no caller may change in place."""
    array.flags.writeable = False
    return array


def evaluate(tree: Comparison | Logic | None, frame: pd.DataFrame | Columns) -> Truth:
    """``(truth, known)`` arrays for every row of ``frame`` (or of its :class:`Columns`)."""
    if tree is None:
        ones = np.ones(len(frame), dtype=bool)
        return ones, ones
    columns = frame if isinstance(frame, Columns) else Columns(frame)
    if isinstance(tree, Comparison):
        return test_columns(tree, columns)
    values = [evaluate(part, columns) for part in tree.parts]
    if tree.op == "not":
        truth, known = values[0]
        return ~truth & known, known
    combine = _and if tree.op == "and" else _or
    result = values[0]
    for other in values[1:]:
        result = combine(result, other)
    return result


def _and(a: Truth, b: Truth) -> Truth:
    (ta, ka), (tb, kb) = a, b
    return ta & tb, (ka & kb) | (ka & ~ta) | (kb & ~tb)


def _or(a: Truth, b: Truth) -> Truth:
    (ta, ka), (tb, kb) = a, b
    return ta | tb, (ka & kb) | ta | tb


def evaluate_test(test: Comparison, column: pd.Series) -> Truth:
    """One test on one column; a missing value is unknown except for the blank tests."""
    return test_columns(test, Columns(column.to_frame(test.name)))


def test_columns(test: Comparison, columns: Columns) -> Truth:
    """One test on its column of ``columns`` (see :func:`evaluate_test`)."""
    known = columns.known(test.name)
    if test.op in ("is_blank", "not_blank"):
        truth = ~known if test.op == "is_blank" else known
        return truth, np.ones(len(known), dtype=bool)
    truth = _truth(test, columns.values(test.name)) & known
    return truth, known


def _truth(test: Comparison, values: np.ndarray) -> np.ndarray:
    if test.op in ("in", "not_in"):
        inside = _isin(values, test.literals)
        return inside if test.op == "in" else ~inside
    with np.errstate(invalid="ignore"):
        if test.op == "between":
            low, high = test.literals
            return np.asarray((values >= low) & (values <= high), dtype=bool)
        return np.asarray(COMPARISONS[test.op](values, test.literals[0]), dtype=bool)


def _isin(values: np.ndarray, literals: tuple[object, ...]) -> np.ndarray:
    """Whether each value equals one of ``literals`` (as ``Series.isin``: ``1 == 1.0 ==
    True``): a few literals are compared one by one, many looked up at once."""
    if len(literals) > _FEW_LITERALS:
        return pd.Series(values).isin(literals).to_numpy(dtype=bool)
    inside = np.zeros(len(values), dtype=bool)
    for literal in literals:
        inside |= np.asarray(values == literal, dtype=bool)
    return inside


_FEW_LITERALS = 8


def _plain(column: pd.Series) -> np.ndarray:
    """Numbers as float arrays (NaN for missing), everything else as objects."""
    if column.dtype.kind in "iufc":  # numbers (booleans are kind "b")
        return column.to_numpy(dtype=float, na_value=np.nan)
    return column.to_numpy(dtype=object, na_value=None)
