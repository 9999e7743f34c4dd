"""What every benchmark suite shows: progress (stderr), a table (stdout), JSON and a PNG.

Progress goes to stderr so that stdout holds only the results (``… > table.txt`` works).
The plot needs matplotlib (the ``bench`` extra); without it the suite says so and skips
only the plot.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO


class Progress:
    """One line per step on stderr: ``[ 3/36  0:04] what is happening``."""

    def __init__(self, total: int = 0, stream: TextIO | None = None) -> None:
        self.total = total
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.monotonic()

    def note(self, text: str) -> None:
        """A line that is not a counted step (compiling, versions, warnings)."""
        print(f"[{self._clock()}] {text}", file=self.stream, flush=True)

    def step(self, text: str) -> None:
        self.done += 1
        width = len(str(self.total or self.done))
        counter = f"{self.done:>{width}}/{self.total}" if self.total else f"{self.done}"
        print(f"[{counter} {self._clock()}] {text}", file=self.stream, flush=True)

    def _clock(self) -> str:
        seconds = int(time.monotonic() - self.started)
        return f"{seconds // 60}:{seconds % 60:02d}"


def format_number(value: float | None, digits: int = 3) -> str:
    """Thousands separators and ~3 significant digits: 4,812 / 365,120 / 2.41 / 0.912."""
    if value is None or value != value:  # None or NaN
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:,.1f}"
    return f"{value:.{digits - 1}f}" if abs(value) >= 1 else f"{value:.{digits}f}"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool] | None = None) -> str:
    """A plain-text table; ``right[i]`` right-aligns column i (numbers)."""
    right = list(right) if right is not None else [False] * len(headers)
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).rjust(w) if right[i] else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def default_out_dir() -> Path:
    """``benchmarks/results`` of the source checkout when running from one, else of the cwd."""
    checkout = Path(__file__).resolve().parents[3]
    if (checkout / "benchmarks").is_dir() and (checkout / "pyproject.toml").is_file():
        return checkout / "benchmarks" / "results"
    return Path.cwd() / "benchmarks" / "results"


def write_json(path: Path, data: Mapping[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)  # a reader never sees half a file
    return path


def plot_bars(
    path: Path,
    title: str,
    panels: Sequence[tuple[str, Mapping[str, Sequence[float]]]],
    colors: Mapping[str, str] | None = None,
) -> str | None:
    """One bar panel per metric: median per contender, whiskers from min to max.

    ``panels`` is ``[(axis label, {contender: [values per repetition]}), …]``.
    Returns None when written, else why not (matplotlib missing).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only; never open a window or need a display
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError as exc:
        return f"matplotlib is not installed ({exc}); pip install 'asyncssl[bench]' for the plot"
    import statistics

    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.2), squeeze=False)
    for ax, (label, series) in zip(axes[0], panels, strict=True):
        names = [n for n, v in series.items() if v]
        medians = [statistics.median(series[n]) for n in names]
        low = [m - min(series[n]) for m, n in zip(medians, names, strict=True)]
        high = [max(series[n]) - m for m, n in zip(medians, names, strict=True)]
        bar_colors = [(colors or {}).get(n, "tab:gray") for n in names]
        ax.bar(names, medians, yerr=[low, high], capsize=4, color=bar_colors)
        ax.set_title(label, fontsize=10)
        ax.tick_params(axis="x", labelrotation=20)
        ax.grid(axis="y", alpha=0.3)
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        for x, (m, n) in enumerate(zip(medians, names, strict=True)):  # above the whisker, where it stays legible
            ax.annotate(format_number(m), (x, max(series[n])), ha="center", va="bottom", fontsize=8,
                        xytext=(0, 3), textcoords="offset points")
        ax.margins(y=0.12)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return None


def load_average() -> float | None:
    """The 1-minute load average: other work on the machine is what makes spreads wide."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def parse_names(text: str, allowed: Sequence[str], what: str, aliases: Mapping[str, str] | None = None) -> list[str]:
    """A comma-separated --only/--tests argument, checked against `allowed` (argparse type)."""
    import argparse

    aliases = aliases or {}
    names = [aliases.get(n.strip(), n.strip().lower()) for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown {what}: {', '.join(unknown)} (choose from {', '.join(allowed)})")
    return names
