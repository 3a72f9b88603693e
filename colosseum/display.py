"""Rendering tables for people: rich tables on the terminal and plain markdown for files."""
from __future__ import annotations

import math
import sys

import pandas as pd
from rich.console import Console
from rich.table import Table

_console = Console(width=None if sys.stdout.isatty() else 200)


def _fmt(v) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "–"
        return f"{v:.3f}" if abs(v) < 1000 else f"{v:.3g}"
    return str(v)


def rich_table(df: pd.DataFrame, title: str = "") -> Table:
    table = Table(title=title or None, header_style="bold")
    for col in df.columns:
        table.add_column(str(col), justify="right" if pd.api.types.is_numeric_dtype(df[col]) else "left")
    for row in df.itertuples(index=False):
        table.add_row(*[_fmt(v) for v in row])
    return table


def print_table(df: pd.DataFrame, title: str = "") -> None:
    _console.print(rich_table(df, title))


def print_leaderboard(lb: pd.DataFrame, title: str = "Leaderboard") -> None:
    """Best balanced sign accuracy first; what each column means is printed underneath."""
    lb = lb.sort_values("balanced_sign_accuracy", ascending=False, na_position="last")
    cols = [c for c in ("dataset", "method", "cells", "failed", "skipped", "points", "positive_share",
                        "majority", "sign_accuracy", "balanced_sign_accuracy", "auroc", "pearson",
                        "spearman", "coverage", "runtime_s") if c in lb.columns]
    print_table(lb[cols].rename(columns={"balanced_sign_accuracy": "balanced_acc", "sign_accuracy": "sign_acc",
                                         "positive_share": "pos_share"}), title)
    _console.print("balanced_acc: mean of per-sign recalls (0.5 = no sign information); majority: what "
                   "always guessing the majority sign scores; failed cells count as abstentions.",
                   style="dim")


def to_markdown(df: pd.DataFrame) -> str:
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    sep = "| " + " | ".join("---" for _ in df.columns) + " |"
    body = ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body]) + "\n"
