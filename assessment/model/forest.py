"""The gbm's trees walked for all rows at once: path attribution and feature effects.

A fitted tree is a small binary tree of splits: ``x[column] <= threshold`` goes left, a
missing value goes the side the split learned. Rather than one call per tree, every tree is
walked for every row with array operations:

1. each distinct split of the forest is decided for all rows at once (:func:`_decisions`: one
   comparison per split and row, column by column);
2. each tree is laid out as a complete binary tree (heap order: slot ``s`` has the children
   ``2s+1`` and ``2s+2``; a leaf above the deepest level stands for every position below it),
   and its decisions are packed into one word per row, bit ``s`` set where the row goes right
   at slot ``s`` (:func:`_words`);
3. the leaf position follows from the word in ``depth`` bit operations (:func:`_positions`).

Every leaf position carries its leaf's path attribution (Saabas: along the path from the
root, the change of the count-weighted mean leaf value at each split goes to the split's
feature), so a row's contributions are look-ups summed tree after tree, in the order the trees
were grown, as the walk one tree at a time summed them: the same numbers.

A feature's effect had it taken other values (:func:`feature_effects`) changes only the bits
of the splits on its column: those are set per value, the others stay the row's own, and only
the trees that split on the feature are walked, once per distinct set of bits.

The node arrays are scikit-learn's ``TreePredictor.nodes``, read in :mod:`._sklearn_trees`;
trees with native categorical splits, or deeper than :data:`MAX_DEPTH`, are refused there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_DEPTH = 6  # the bits of a tree's 2**depth - 1 slots fit a 64-bit word
ROWS_PER_BLOCK = 2048  # rows walked together: the block's arrays stay in the CPU's caches
_WORDS = {16: np.uint16, 32: np.uint32, 64: np.uint64}


@dataclass(frozen=True)
class Forest:
    """The trees laid out for the walk (made once per model by :func:`forest`)."""

    width: int  # input columns of the trees (the transformed columns)
    depth: int  # levels of the deepest tree
    split_column: np.ndarray  # per distinct split: its column, + width where missing goes left
    split_threshold: np.ndarray  # per distinct split: go left at or below
    by_column: tuple  # (column, the splits on it) for every column with a split
    slots: np.ndarray  # (trees, 2**depth - 1): the split at each slot; len(splits) for none
    leaf_paths: np.ndarray  # (features, trees * 2**depth): the attribution at each position
    moved: np.ndarray  # (trees, features): True where the tree's paths move the feature
    base: float  # the raw score before the first tree plus every tree's root mean
    baseline: float  # the raw score before the first tree
    leaf_values: np.ndarray  # (trees, 2**depth): the leaf value at each position

    @property
    def word(self) -> type:
        return next(kind for bits, kind in _WORDS.items() if bits >= 2**self.depth - 1)

    @property
    def leaves_per_tree(self) -> int:
        return 2**self.depth


def forest(nodes: list[np.ndarray], baseline: float, width: int, mapping: np.ndarray) -> Forest:
    """The walk's layout of the trees ``nodes`` (scikit-learn's node arrays, in the order the
    trees were grown) on ``width`` columns; ``mapping`` is the 0/1 matrix from columns to
    features, ``baseline`` the raw score before the first tree."""
    depth = max(int(tree["depth"].max()) for tree in nodes)
    splits, inverse = np.unique(
        np.concatenate([_splits(t, width) for t in nodes]), return_inverse=True
    )
    ends = np.cumsum([int((~t["is_leaf"].astype(bool)).sum()) for t in nodes])
    slots, leaf_paths, leaf_values, moved, total = [], [], [], [], baseline
    for tree, ids in zip(nodes, np.split(inverse, ends[:-1]), strict=True):
        at_slot, at_position = _heap(tree, depth)
        node_split = np.full(len(tree), len(splits))
        node_split[~tree["is_leaf"].astype(bool)] = ids
        slots.append(np.where(at_slot >= 0, node_split[at_slot], len(splits)))
        paths, root = _tree_paths(tree, width)
        paths = paths @ mapping  # per feature, not per transformed column
        leaf_paths.append(paths[at_position])
        leaf_values.append(tree["value"].astype(np.float64)[at_position])
        moved.append(np.abs(paths).sum(axis=0) != 0)
        total += root  # tree after tree: the sum of the walk one tree at a time
    return Forest(
        width=width,
        depth=depth,
        split_column=splits["column"],
        split_threshold=splits["threshold"],
        by_column=_by_column(splits["column"]),
        slots=np.array(slots),
        leaf_paths=np.ascontiguousarray(np.concatenate(leaf_paths).T),
        moved=np.array(moved),
        base=float(total),
        baseline=float(baseline),
        leaf_values=np.array(leaf_values),
    )


def from_parts(parts: dict[str, np.ndarray]) -> Forest:
    """The layout from its arrays (every field but ``by_column``, which is worked out)."""
    column = np.asarray(parts["split_column"], dtype=np.intp)
    return Forest(
        width=int(parts["width"]),
        depth=int(parts["depth"]),
        split_column=column,
        split_threshold=np.asarray(parts["split_threshold"], dtype=np.float64),
        by_column=_by_column(column),
        slots=np.asarray(parts["slots"], dtype=np.intp),
        leaf_paths=np.ascontiguousarray(parts["leaf_paths"], dtype=np.float64),
        moved=np.asarray(parts["moved"], dtype=bool),
        base=float(parts["base"]),
        baseline=float(parts["baseline"]),
        leaf_values=np.asarray(parts["leaf_values"], dtype=np.float64),
    )


def layout_problem(walk: Forest) -> str:
    """What does not fit together in ``walk`` (arrays of other shapes, a split on a column
    it lacks, numbers that are not finite), or ""."""
    trees, features = walk.moved.shape
    positions = 2**walk.depth if 0 < walk.depth <= MAX_DEPTH else -1
    shapes = {
        "slots": (walk.slots.shape, (trees, positions - 1)),
        "leaf_values": (walk.leaf_values.shape, (trees, positions)),
        "leaf_paths": (walk.leaf_paths.shape, (features, trees * positions)),
        "split_threshold": (walk.split_threshold.shape, walk.split_column.shape),
    }
    wrong = [
        f"{name} is {got}, not {wanted}" for name, (got, wanted) in shapes.items() if got != wanted
    ]
    if wrong:
        return "; ".join(wrong)
    if ((walk.slots < 0) | (walk.slots > len(walk.split_column))).any() or (
        (walk.split_column < 0) | (walk.split_column >= 2 * walk.width)
    ).any():
        return "a split or slot points past the columns or splits"
    numbers = (walk.leaf_values, walk.leaf_paths, np.array([walk.base, walk.baseline]))
    return "" if all(np.isfinite(part).all() for part in numbers) else "a number is not finite"


def raw_scores(walk: Forest, x: np.ndarray) -> np.ndarray:
    """The raw score of each row of ``x``: the baseline, then each tree's leaf value added
    tree after tree, as scikit-learn's ``decision_function`` adds them (the same bits)."""
    found = np.empty(len(x))
    every = np.arange(len(walk.slots))
    for start in range(0, len(x), ROWS_PER_BLOCK):
        block = x[start : start + ROWS_PER_BLOCK]
        index = _leaf_index(walk, every, _words(walk, _decisions(walk, block), every))
        total = np.full(len(block), walk.baseline)
        for value in walk.leaf_values.ravel().take(index):  # tree after tree
            total += value
        found[start : start + len(block)] = total
    return found


def contributions(walk: Forest, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``x`` (the transformed inputs, float64): the path attribution per feature
    (raw log-odds, shape rows x features) and the base value."""
    found = np.zeros((walk.leaf_paths.shape[0], len(x)))
    every = np.arange(len(walk.slots))
    for start in range(0, len(x), ROWS_PER_BLOCK):
        block = x[start : start + ROWS_PER_BLOCK]
        index = _leaf_index(walk, every, _words(walk, _decisions(walk, block), every))
        for feature in np.flatnonzero(walk.moved.any(axis=0)):
            chosen = walk.leaf_paths[feature].take(index[walk.moved[:, feature]])
            found[feature, start : start + len(block)] = _in_order(chosen)
    return found.T, np.full(len(x), walk.base)


def feature_effects(
    walk: Forest, x: np.ndarray, feature: int, column: int, values: np.ndarray
) -> np.ndarray:
    """The attribution of ``feature`` (raw log-odds) had its one column ``column`` held each
    of ``values``: one row per value, one column per row of ``x``."""
    values = np.asarray(values, dtype=np.float64)
    trees = np.flatnonzero(walk.moved[:, feature])
    found = np.zeros((len(values), len(x)))
    if not len(trees):
        return found
    owner, bits, pairs = _value_words(walk, trees, column, values)
    keep = ~_column_mask(walk, trees, column)[owner]
    for start in range(0, len(x), ROWS_PER_BLOCK):
        block = x[start : start + ROWS_PER_BLOCK]
        words = _words(walk, _decisions(walk, block), trees)[owner] & keep[:, None]
        index = _leaf_index(walk, trees[owner], words | bits[:, None])
        chosen = walk.leaf_paths[feature].take(index)[pairs]  # (trees, values, rows)
        found[:, start : start + len(block)] = _in_order(chosen)
    return found


def _in_order(values: np.ndarray) -> np.ndarray:
    """``values`` summed along the first axis one after the other, from 0.0, as the walk one
    tree at a time added them (``np.sum`` may add in pairs: other last bits)."""
    total = np.zeros(values.shape[1:])
    for value in values:  # one tree after another: a few hundred additions of whole rows
        total += value
    return total


# --- the walk -------------------------------------------------------------------------------


def _decisions(walk: Forest, x: np.ndarray) -> np.ndarray:
    """(splits + 1, rows): True where the row goes right at the split; the last row, for the
    slots without a split, is all False."""
    columns = np.ascontiguousarray(x.T)
    missing = np.isnan(columns)
    right = np.zeros((len(walk.split_column) + 1, len(x)), dtype=bool)
    for column, splits in walk.by_column:
        thresholds = walk.split_threshold[splits][:, None]
        if column < walk.width:  # a missing value goes right
            right[splits] = (columns[column] > thresholds) | missing[column]
        else:  # a missing value goes left
            values = columns[column - walk.width]
            right[splits] = np.where(missing[column - walk.width], -np.inf, values) > thresholds
    return right


def _words(walk: Forest, right: np.ndarray, trees: np.ndarray) -> np.ndarray:
    """(trees, rows): each tree's decisions for each row, bit ``s`` for slot ``s``."""
    slots = walk.slots[trees]
    words = np.zeros((len(trees), right.shape[1]), dtype=walk.word)
    for slot in range(slots.shape[1]):
        words |= right[slots[:, slot]].astype(walk.word) << slot
    return words


def _positions(walk: Forest, words: np.ndarray) -> np.ndarray:
    """The leaf position (0 .. 2**depth - 1) each word leads to: from the root, go to the
    right child where the bit of the slot reached is set."""
    reached = np.zeros_like(words)
    for level in range(walk.depth):
        bit = (words >> (reached + (2**level - 1))) & 1
        reached = (reached << 1) | bit
    return reached


def _leaf_index(walk: Forest, trees: np.ndarray, words: np.ndarray) -> np.ndarray:
    """Columns of ``walk.leaf_paths``: the leaf each word of each tree of ``trees`` reaches."""
    return _positions(walk, words).astype(np.intp) + (trees * walk.leaves_per_tree)[:, None]


def _column_mask(walk: Forest, trees: np.ndarray, column: int) -> np.ndarray:
    """Per tree, the bits of the slots that split on ``column``."""
    on_column = walk.split_column % walk.width == column
    at_slot = np.append(on_column, False)[walk.slots[trees]]
    return (at_slot.astype(walk.word) << np.arange(at_slot.shape[1], dtype=walk.word)).sum(
        axis=1, dtype=walk.word
    )


def _value_words(walk: Forest, trees: np.ndarray, column: int, values: np.ndarray) -> tuple:
    """For ``column`` held at each of ``values``: the distinct (tree, bits of its splits on
    the column) pairs, as the tree's position in ``trees`` and the bits, and per tree and
    value the pair it uses (trees x values)."""
    thresholds = np.append(walk.split_threshold, np.nan)[walk.slots[trees]]  # (trees, slots)
    missing_left = np.append(walk.split_column >= walk.width, False)[walk.slots[trees]]
    on_column = _column_mask(walk, trees, column)
    slot_bits = np.arange(thresholds.shape[1], dtype=walk.word)
    right = ~(values[:, None, None] <= thresholds) & ~(
        np.isnan(values)[:, None, None] & missing_left
    )
    bits = (right.astype(walk.word) << slot_bits).sum(axis=2, dtype=walk.word) & on_column
    pairs = np.stack([np.broadcast_to(np.arange(len(trees)), bits.shape), bits.astype(np.int64)])
    distinct, inverse = np.unique(pairs.reshape(2, -1).T, axis=0, return_inverse=True)
    return distinct[:, 0], distinct[:, 1].astype(walk.word), inverse.reshape(bits.shape).T


# --- the layout -----------------------------------------------------------------------------

_SPLIT = np.dtype([("column", np.intp), ("threshold", np.float64)])


def _splits(tree: np.ndarray, width: int) -> np.ndarray:
    """The split of each node that is not a leaf: its column (+ ``width`` where a missing
    value goes left) and its threshold."""
    inner = tree[~tree["is_leaf"].astype(bool)]
    keys = np.empty(len(inner), dtype=_SPLIT)
    keys["column"] = inner["feature_idx"] + width * inner["missing_go_to_left"].astype(np.intp)
    keys["threshold"] = inner["num_threshold"]
    return keys


def _by_column(columns: np.ndarray) -> tuple:
    """(column, the indices of its splits) for each column that has a split."""
    return tuple((int(c), np.flatnonzero(columns == c)) for c in np.unique(columns))


def _heap(tree: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """The tree as a complete binary tree of ``depth`` levels: the node at each slot (-1
    below a leaf) and the leaf at each of the 2**depth positions."""
    slots = np.full(2**depth - 1, -1)
    leaves = np.zeros(2**depth, dtype=np.intp)
    pending = [(0, 0, 0)]  # node, slot, level
    while pending:
        node, slot, level = pending.pop()
        if tree["is_leaf"][node]:
            first = (slot - (2**level - 1)) << (depth - level)
            leaves[first : first + 2 ** (depth - level)] = node
            continue
        slots[slot] = node
        pending.append((int(tree["left"][node]), 2 * slot + 1, level + 1))
        pending.append((int(tree["right"][node]), 2 * slot + 2, level + 1))
    return slots, leaves


def _tree_paths(nodes: np.ndarray, width: int) -> tuple[np.ndarray, float]:
    """Per node: the contributions per column accumulated from the root; and the root's
    mean."""
    means = _node_means(nodes)
    paths = np.zeros((len(nodes), width))
    for index in range(len(nodes)):
        if not nodes["is_leaf"][index]:
            for child in (nodes["left"][index], nodes["right"][index]):
                paths[child] = paths[index]
                paths[child, nodes["feature_idx"][index]] += means[child] - means[index]
    return paths, float(means[0])


def _node_means(nodes: np.ndarray) -> np.ndarray:
    """Count-weighted mean leaf value under every node (children come after their parent)."""
    means = nodes["value"].astype(float).copy()
    counts = nodes["count"].astype(float)
    for index in range(len(nodes) - 1, -1, -1):
        if not nodes["is_leaf"][index]:
            left, right = nodes["left"][index], nodes["right"][index]
            means[index] = (means[left] * counts[left] + means[right] * counts[right]) / (
                counts[left] + counts[right]
            )
    return means
