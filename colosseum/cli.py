"""Console entry points: `colosseum` (the Hydra runner) and `colosseum-compare`."""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from . import paths

#: What `colosseum` with no arguments runs: a small default benchmark (configs/experiment/quick.yaml).
DEFAULT_ARGS = ["+experiment=quick"]


def main() -> None:
    """`colosseum [hydra overrides]`: run one cell, or a sweep with -m; no arguments runs the quick preset.

    Exit status: 0 all cells ok (or a dry run), 1 some cell of the sweep failed (now or earlier) or
    the sweep could not finish, 2 an invalid sweep or setting (nothing computed), 130 interrupted."""
    import hydra

    from . import runner

    if len(sys.argv) == 1:
        sys.argv.extend(DEFAULT_ARGS)
    bad = [a for a in sys.argv[1:] if _escapes_config_tree(a)]
    if bad:
        print(f"colosseum: {bad[0]!r}: a preset is a name inside the config tree (configs/experiment/ or a plugin "
              "config folder), not a path", file=sys.stderr)
        sys.exit(2)
    app = hydra.main(config_path=str(paths.CONFIGS), config_name="config", version_base="1.3")(runner.task)
    try:
        app()
    except runner.Abort as exc:
        if exc.message:
            print(f"colosseum: {exc.message}", file=sys.stderr)
        sys.exit(exc.code)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM during a sweep
        print(f"colosseum: interrupted ({exc or 'Ctrl-C'}); finished cells are kept, the same command "
              f"resumes the sweep", file=sys.stderr)
        sys.exit(130)
    finally:
        runner.shutdown()
    session = runner.last_session()
    if session is not None and session.failed:
        print(f"colosseum: {session.failed} cell(s) of this sweep failed (status error or timeout, computed "
              f"now or earlier); their messages are in the `error` column of "
              f"results.load('{session.run_dir}'), and rerun=failed recomputes them", file=sys.stderr)
        sys.exit(1)


def _escapes_config_tree(arg: str) -> bool:
    """`+experiment=../../elsewhere` (or any group choice with a path in it) would load a file outside the
    config tree; group choices are names."""
    key, sep, value = arg.partition("=")
    if not sep or key.lstrip("+~").split("@")[0] not in ("experiment", "dataset", "method", "hydra/launcher"):
        return False
    return any(part in ("..", "") for part in value.split("/")) or value.startswith("/") or "\\" in value


def compare_main(argv: list[str] | None = None) -> None:
    """`colosseum-compare RUN_A RUN_B [RUN_C ...] [--metric M ...] [--csv F] [--markdown F]`.

    Every further run is compared with the first one (the baseline)."""
    from . import compare, results, store
    from .display import print_table, to_markdown

    ap = argparse.ArgumentParser(prog="colosseum-compare", description=compare.__doc__.splitlines()[0])
    ap.add_argument("runs", type=Path, nargs="+", help="run directories; the first is the baseline (a)")
    ap.add_argument("--metric", action="append", dest="metrics",
                    help=f"metric to compare (repeatable; default {', '.join(compare.DEFAULT_METRICS)})")
    ap.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples (default 1000)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    ap.add_argument("--csv", type=Path, help="also write the comparison as CSV")
    ap.add_argument("--markdown", type=Path, help="also write the comparison as markdown")
    args = ap.parse_args(argv)
    if len(args.runs) < 2:
        ap.error("give at least two run directories")
    for run in args.runs:
        if not (run / store.CELLS).is_dir():
            ap.error(f"{run} is not a run directory (no {store.CELLS}/ folder)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frames = [results.load(run) for run in args.runs]
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    base, tables, md = frames[0], [], []
    for run, frame in zip(args.runs[1:], frames[1:]):
        table = compare.compare(base, frame, metrics=tuple(args.metrics or compare.DEFAULT_METRICS),
                                n_boot=args.n_boot, seed=args.seed)
        shown = table.assign(flag=table["significant"].map({True: "*", False: ""})).drop(columns="significant")
        print_table(shown, title=f"{args.runs[0].name} (a) vs {run.name} (b): diff = b - a, "
                                 "95 % bootstrap interval over matched cells; * = interval excludes 0")
        prov = compare.provenance_diff(base, frame)
        if len(prov):
            print_table(prov, title=f"provenance that differs ({args.runs[0].name} vs {run.name})")
        tables.append(table.assign(run_a=args.runs[0].name, run_b=run.name))
        md.append(f"## {args.runs[0].name} vs {run.name}\n\n" + to_markdown(shown)
                  + ("\n" + to_markdown(prov) if len(prov) else ""))
    if args.csv:
        import pandas as pd

        pd.concat(tables, ignore_index=True).to_csv(args.csv, index=False)
    if args.markdown:
        args.markdown.write_text("\n".join(md))
