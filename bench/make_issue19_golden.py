"""Write issue 19's golden files again from the engine before issue 19 (commit 4e70352).

The tests of issue 19 that compare today's engine with the one before the speed work read what
that engine gave from ``tests/golden/``, written by this script, instead of running it in each
test run (it took a quarter of the suite's time). Each part runs 4e70352's engine from its own
files (``baseline.py``: ``git archive``, a process of its own) on the inputs the test gives
today's engine, and writes:

- ``stages``: ``tests/golden/issue19/stages/`` (``tests/test_same_frames_issue19.py``), every
  table of reading, indicators and rules for the sample inputs, with the inputs' digests;
- ``predict``: ``tests/golden/issue19/predict/`` (``tests/test_model_speed_issue19.py``), the
  risk model's predictions for a candidate list and random rows;
- ``outputs``: ``tests/golden/issue19_outputs.json.xz`` (``tests/test_same_outputs_issue19.py``),
  the files and printed output of ``assess screen`` and ``assess score`` in both languages.

Usage: ``python bench/make_issue19_golden.py [stages] [predict] [outputs] [--baseline REV]``
(all three by default). Write them only from 4e70352: they are the "before" today's engine must
give; ``git diff --stat tests/golden`` then shows what moved.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from baseline import BEFORE_ISSUE_19, ROOT, commit_of

sys.path.insert(0, str(ROOT / "tests"))
PARTS = ("stages", "predict", "outputs")


def write(part: str, revision: str) -> None:
    if part == "outputs":
        from test_same_outputs_issue19 import write_golden

        write_golden(revision)
        return
    if part == "stages":
        from test_same_frames_issue19 import write_golden
    else:
        from test_model_speed_issue19 import write_golden
    with tempfile.TemporaryDirectory() as folder:
        write_golden(revision, Path(folder))
    print(f"wrote the golden files of {part} from {revision}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("parts", nargs="*", choices=PARTS, default=list(PARTS))
    parser.add_argument("--baseline", default=BEFORE_ISSUE_19, help="the revision (4e70352)")
    args = parser.parse_args()
    revision = commit_of(args.baseline)
    for part in args.parts or PARTS:
        write(part, revision)


if __name__ == "__main__":
    main()
