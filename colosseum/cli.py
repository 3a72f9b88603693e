"""Console entry points: `colosseum` (the Hydra runner) and `colosseum-compare`."""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from . import paths

#: What `colosseum` with no arguments runs: a small default benchmark (configs/experiment/quick.yaml).
DEFAULT_ARGS = ["+experiment=quick"]
#: Overrides that only change how a run is done, not what it computes: `colosseum` given only these runs the
#: default benchmark with them (`colosseum dry_run=true`, `colosseum run_name=x timeout_s=60`).
SETTINGS = ("run_name", "run_dir", "rerun", "timeout_s", "memory_gb", "isolation", "plugin_dirs",
            "threads_per_cell", "dry_run")


COMMANDS = (("colosseum-check RUN_DIR [--fix]", "is a run complete and clean; move corrupt files aside"),
            ("colosseum-report RUN_DIR", "the report: leaderboard, where, how sure, calibration (HTML, markdown, CSV)"),
            ("colosseum-compare RUN_A RUN_B", "run against run, cells aligned by identity (--match/--ignore)"),
            ("colosseum-tune OVERRIDES", "every method at its best setting chosen on dev seeds, scored on test seeds"),
            ("colosseum-preview NAME --out F.png", "a dataset's cloud coloured by its true curvature"),
            ("colosseum-contract", "the public contract checked on every dataset, method and denoiser"))


def help_text() -> str:
    """`colosseum --help`: what it runs by default, how to choose, the groups' choices and the other commands."""
    groups = []
    for group in ("dataset", "method", "denoise", "experiment", "condition", "corruption"):
        names = sorted(p.stem for p in (paths.CONFIGS / group).glob("*.yaml"))
        groups.append(f"  {group}: {', '.join(names)}")
    commands = "\n".join(f"  {c:<38} {what}" for c, what in COMMANDS)
    return f"""usage: colosseum [-m] [OVERRIDE ...]

Runs cells (dataset x method x seed) in isolated workers and scores the sign of scalar curvature.
With no overrides, or with settings only (run_name=..., dry_run=true, timeout_s=...), it runs the default
benchmark {' '.join(DEFAULT_ARGS)} (configs/experiment/quick.yaml) with those settings.

examples:
  colosseum                                     the default benchmark (results/quick)
  colosseum dry_run=true                        its plan, nothing computed
  colosseum dataset=saddle method=sritharan     one cell
  colosseum -m dataset=sphere_cap,saddle method=sritharan,oracle seed=0,1
  colosseum +experiment=hard                    a preset battery (configs/experiment/)

config groups (group=choice):
{chr(10).join(groups)}
settings: seed, run_name, run_dir, rerun (none|failed|all), timeout_s, memory_gb, isolation, plugin_dirs,
  threads_per_cell, smooth_t, dry_run; parameters as dataset.<p>=..., method.<p>=... (configs/*/<name>.yaml)

other commands:
{commands}

exit status: 0 all cells ok or skipped, 1 a cell failed or was refused, 2 an invalid sweep (nothing computed),
130 interrupted. Hydra's own options: colosseum --hydra-help."""


def _only_settings(args: list[str]) -> bool:
    """Whether every argument sets a run setting or a Hydra option (no dataset, method, preset or sweep)."""
    keys = [a.partition("=")[0].lstrip("+~") for a in args if not a.startswith("-")]
    flags = [a for a in args if a.startswith("-")]
    return not flags and all(k in SETTINGS or (k.startswith("hydra.") and "launcher" not in k) for k in keys)


def _precheck(args: list[str]) -> str | None:
    """One line saying why Hydra would refuse these overrides (a misspelt key or group choice, a value its
    grammar rejects), or None. Hydra prints such errors over several lines and exits 1; a sweep that cannot
    even be composed is invalid like any other (exit 2, nothing computed)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException, OverrideParseException
    from omegaconf.errors import OmegaConfBaseException

    multirun = any(a in ("-m", "--multirun") for a in args)
    overrides = [a for a in args if not a.startswith("-")]
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
        sweeps = [o.input_line for o in parsed if o.is_sweep_override()]
        primary = [o.input_line for o in parsed if not o.is_sweep_override()]
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(paths.CONFIGS), version_base="1.3"):
            cfg = compose("config", overrides=primary, return_hydra_config=True)
        if sweeps and not multirun and str(cfg.hydra.get("mode")) != "RunMode.MULTIRUN":
            return f"{sweeps[0]!r} is a sweep (several values): run it with -m"
    except OverrideParseException as exc:
        bad = str(exc).strip().splitlines()[0].split(": ", 1)[-1]
        return (f"invalid override {bad!r}: not in Hydra's override grammar (key=value with plain ASCII; "
                "https://hydra.cc/docs/advanced/override_grammar/basic)")
    except (HydraException, OmegaConfBaseException) as exc:
        text = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
        cause = str(exc.__cause__).strip().splitlines()[0] if exc.__cause__ is not None and str(exc.__cause__) else ""
        if text and text[0].startswith("Could not override"):
            return f"invalid override: {text[0].rstrip('.')}: {cause or ' '.join(text[1:2])}"
        if len(text) > 1 and text[1].startswith("Available options"):
            options = []
            for line in text[2:]:
                if line.endswith(":"):  # the search path follows the options
                    break
                options.append(line)
            return f"invalid override: {text[0].split(': ', 1)[-1]}; {text[1]} {', '.join(options)}"
        return f"invalid override: {text[0] if text else type(exc).__name__}"
    except Exception:  # noqa: BLE001 - anything else is Hydra's to report as it runs
        return None
    finally:
        GlobalHydra.instance().clear()
    return None


def main() -> None:
    """`colosseum [hydra overrides]`: run one cell, or a sweep with -m; no arguments runs the quick preset.

    Exit status: 0 all cells ok (or a dry run), 1 some cell of the sweep failed (now or earlier) or
    the sweep could not finish, 2 an invalid sweep or setting (nothing computed), 130 interrupted."""
    import hydra

    from . import runner

    if any(a in ("--help", "-h") for a in sys.argv[1:]):
        print(help_text())
        return
    if _only_settings(sys.argv[1:]):
        sys.argv[1:1] = DEFAULT_ARGS
    bad = [a for a in sys.argv[1:] if _escapes_config_tree(a)]
    if bad:
        print(f"colosseum: {bad[0]!r}: a preset is a name inside the config tree (configs/experiment/ or a plugin "
              "config folder), not a path", file=sys.stderr)
        sys.exit(2)
    if not any(a in ("--help", "-h", "--hydra-help", "--info", "--cfg", "-c", "--shell-completion", "-sc")
               for a in sys.argv[1:]):
        problem = _precheck(sys.argv[1:])
        if problem:
            print(f"colosseum: {problem}; nothing was computed", file=sys.stderr)
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
        from .progress import REFUSED

        refused, lost = session.counts[REFUSED], session.unfinished
        failed = session.failed - refused - lost
        if failed:
            print(f"colosseum: {failed} cell(s) of this sweep failed (status error or timeout, computed now or "
                  f"earlier); their messages are in the `error` column of results.load('{session.run_dir}'), "
                  "and rerun=failed recomputes them", file=sys.stderr)
        if refused:
            print(f"colosseum: {refused} cell(s) were refused: the code that computed them is not the code the "
                  "sweep planned (a file changed while the sweep ran); nothing was filed for them, and running the "
                  "same command again computes them with the files now on disk", file=sys.stderr)
        if lost:
            print(f"colosseum: {lost} cell(s) of this sweep have no file (refused in another process, or lost); "
                  "running the same command again computes them", file=sys.stderr)
        sys.exit(1)


def _escapes_config_tree(arg: str) -> bool:
    """`+experiment=../../elsewhere` (or any group choice with a path in it) would load a file outside the
    config tree; group choices are names."""
    key, sep, value = arg.partition("=")
    if not sep or key.lstrip("+~").split("@")[0] not in ("experiment", "dataset", "method", "hydra/launcher"):
        return False
    return any(part in ("..", "") for part in value.split("/")) or value.startswith("/") or "\\" in value


def compare_main(argv: list[str] | None = None) -> None:
    """`colosseum-compare RUN_A RUN_B [RUN_C ...] [--metric M ...] [--match K,..|--ignore K,..] [--csv F]
    [--markdown F]`.

    Every further run is compared with the first one (the baseline). Exit 1 when no cell of a run matches."""
    from . import compare, results, store
    from .display import print_table, to_markdown

    ap = argparse.ArgumentParser(prog="colosseum-compare", description=compare.__doc__.splitlines()[0])
    ap.add_argument("runs", type=Path, nargs="+", help="run directories; the first is the baseline (a)")
    ap.add_argument("--metric", action="append", dest="metrics",
                    help=f"metric to compare (repeatable; default {', '.join(compare.DEFAULT_METRICS)})")
    ap.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples (default 1000)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    ap.add_argument("--match", help="align cells on exactly these parameter columns (comma-separated, e.g. "
                    "dataset.noise,method.knn), besides dataset, method, denoiser and seed")
    ap.add_argument("--ignore", help="align cells ignoring these parameter columns (comma-separated); default: "
                    "those whose values the runs do not share")
    ap.add_argument("--csv", type=Path, help="also write the comparison as CSV")
    ap.add_argument("--markdown", type=Path, help="also write the comparison as markdown")
    args = ap.parse_args(argv)
    if len(args.runs) < 2:
        ap.error("give at least two run directories")
    if args.match and args.ignore:
        ap.error("give --match or --ignore, not both")
    match = [k.strip() for k in args.match.split(",") if k.strip()] if args.match else None
    ignore = [k.strip() for k in args.ignore.split(",") if k.strip()] if args.ignore else None
    for run in args.runs:
        if not (run / store.CELLS).is_dir():
            ap.error(f"{run} is not a run directory (no {store.CELLS}/ folder)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frames = [results.load(run) for run in args.runs]
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    base, tables, md, empty = frames[0], [], [], []
    for run, frame in zip(args.runs[1:], frames[1:]):
        try:
            table = compare.compare(base, frame, metrics=tuple(args.metrics or compare.DEFAULT_METRICS),
                                    n_boot=args.n_boot, seed=args.seed, match=match, ignore=ignore)
        except ValueError as exc:
            ap.error(str(exc))
        names = f"{args.runs[0].name} (a) vs {run.name} (b)"
        print(f"{names}: {table.attrs['alignment'].describe()}", file=sys.stderr)
        for side, label in (("only_a", args.runs[0].name), ("only_b", run.name)):
            if table.attrs[side]:
                print(f"only in {label}: " + ", ".join(f"{g} ({n} cells)" for g, n in table.attrs[side].items()),
                      file=sys.stderr)
        if not table.attrs["matched"]:
            empty.append(run.name)
            print(f"colosseum-compare: NOTHING MATCHES between {args.runs[0].name} and {run.name}: no cell of one "
                  f"aligns with a cell of the other ({table.attrs['alignment'].describe()}); choose what to align "
                  "on with --match or --ignore", file=sys.stderr)
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
    if empty:
        sys.exit(1)
