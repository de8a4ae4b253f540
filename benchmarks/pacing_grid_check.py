"""The grid's no-loss check: predictive's occupancy per cell against benchmarks/results/pacing-grid.md.

    .venv/bin/python benchmarks/pacing.py --pacers predictive --no-groups --operators 3,5 --json new.json
    .venv/bin/python benchmarks/pacing_grid_check.py new.json [--against benchmarks/results/pacing-grid.md]

Reads the predictive column of the recorded table (occupancy is its first figure) and the runs of one or
more ``--json`` files of ``benchmarks/pacing.py``; prints, for every cell run, the occupancy then and now,
the difference in points, and whether it loses more than 0.5 points (the target), then the cells of 50
and 100 operators that gain.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.pacing import Cell, run_key, summarize

ROOT = Path(__file__).resolve().parents[1]
GRID = ROOT / "benchmarks" / "results" / "pacing-grid.md"
MOST_LOST = 0.5             # points of occupancy a cell may lose


def recorded(path: Path, pacer: str = "predictive") -> dict[Cell, float]:
    """Occupancy (%) per cell of the recorded table, for one policy's column."""
    out: dict[Cell, float] = {}
    column = None
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[:3] == ["ops", "answer", "talk s"]:
            column = cells.index(pacer)
            continue
        if column is None or len(cells) <= column or not cells[0].isdigit():
            continue
        talk, _, shape = cells[2].partition(" ")
        cell = (int(cells[0]), float(cells[1]), float(talk), "exponential" if shape.startswith("exp") else "lognormal")
        out[cell] = float(cells[column].split("/")[0])
    return out


def compare(before: dict[Cell, float], runs: list[dict[str, object]]) -> list[str]:
    unique = {run_key(r): r for r in runs if r["pacer"] == "predictive"}
    summary = summarize(list(unique.values()))
    lines = []
    for (cell, _), figures in sorted(summary.items()):
        if cell not in before:
            continue
        now = 100 * figures["occupancy"]
        diff = now - before[cell]
        talk = f"{cell[2]:.0f}" + (" exp" if cell[3] == "exponential" else "")
        lines.append(f"{cell[0]} ops, answer {cell[1]}, talk {talk}: {before[cell]:.1f} -> {now:.2f} % "
                     f"({diff:+.2f} points, {figures['seeds']} seeds, worst-seed "
                     f"abandonment {100 * figures['abandon_worst']:.2f} %): "
                     f"{'NO, loses more than 0.5' if diff < -MOST_LOST else 'yes'}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="+", help="--json files of benchmarks/pacing.py")
    parser.add_argument("--against", type=Path, default=GRID)
    args = parser.parse_args()
    runs = [row for f in args.runs for row in json.loads(f.read_text())["runs"]]
    lines = compare(recorded(args.against), runs)
    print("\n".join(lines))
    lost = sum("NO" in line for line in lines)
    print(f"cells losing more than {MOST_LOST} points: {lost} of {len(lines)}")
    large = [line for line in lines if line.split(" ops")[0] in ("50", "100")]
    if large:
        gain = sum("(+" in line and "(+0.0" not in line for line in large)
        print(f"cells of 50 and 100 operators that gain: {gain} of {len(large)}")


if __name__ == "__main__":
    main()
