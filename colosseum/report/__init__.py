"""Reports of a run: `colosseum-report RUN_DIR [--out DIR]` writes one page (HTML and markdown) with its
plots and the CSV behind every table and panel.

stats.py computes the numbers (leaderboards with intervals, ranking blocks, rank tests), plots.py draws
them, page.py lays out the page, writer.py reads the run and writes everything.
"""
from .writer import build, main

__all__ = ["build", "main"]
