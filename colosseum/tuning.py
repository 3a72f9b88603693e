"""The tuned track: every method at its best setting, chosen on dev seeds and scored on test seeds.

`colosseum-tune <the overrides of a sweep>` (the same overrides as `colosseum`, e.g. `+experiment=hard` or
`dataset=quadric method=a,b seed=0,1`):

1. the sweep's cells are its *test* cells and their seeds the *test seeds*;
2. every setting of each method's search space runs on *dev seeds*: the test seeds + `--dev-offset`
   (default 1000, even, so that the quadric's seed pairs of opposite signs stay pairs), or `--dev-seeds`;
   dev and test seeds must be disjoint. A space is `configs/tune/<method>.yaml` (or a plugin folder's
   `configs/tune/<method>.yaml`): one line per parameter in Hydra's sweep syntax (`knn: 15,30,60`); the
   method's setting in the sweep (its default) always competes too;
3. per method, the setting with the best mean balanced sign accuracy over the dev ranking blocks wins
   (`colosseum.report.stats.block_scores`; ties go to the default); `RUN_DIR/tuning/selected.yaml` records
   it with its dev score, the default's dev score, the space and the dev seeds;
4. the chosen setting and the default run on the test seeds.

The guarantee: no test seed is ever used to choose. Selection reads dev cells only, and the only test
cells are the default's and the chosen setting's. Dev and test cells are ordinary cells in the sweep's
run directory (their identity holds their parameters and seeds): resuming, `colosseum-check` and
`colosseum-compare` work as for any run, and the report shows each method at its default and tuned.
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import paths
from .cells import CellSpec, _canonical

SELECTED = Path("tuning") / "selected.yaml"
DEFAULT_OFFSET = 1000
TIE = 1e-12


def space_file(method: str, plugin_dirs: Sequence[str | Path] = ()) -> Path | None:
    """The search space of a method: configs/tune/<method>.yaml here, else in a plugin folder's configs/."""
    for base in (paths.CONFIGS, *(Path(d) / "configs" for d in plugin_dirs), *(Path(d).parent / "configs"
                                                                             for d in plugin_dirs)):
        f = base / "tune" / f"{method}.yaml"
        if f.is_file():
            return f
    return None


def read_space(path: Path) -> dict[str, list[Any]]:
    """{parameter: values} of a space file: each line `name: v1,v2,...` in Hydra's sweep syntax."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    space: dict[str, list[Any]] = {}
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"{path}:{number}: expected `parameter: v1,v2,...`, got {raw.strip()!r}")
        override = parser.parse_override(f"{key.strip()}={value.strip()}")
        values = list(override.sweep_iterator()) if override.is_sweep_override() else [override.value()]
        space[key.strip()] = values
    return space


def grid(space: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    keys = list(space)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(space[k] for k in keys))]


def _setting_key(setting: Mapping[str, Any]) -> str:
    return json.dumps(_canonical(dict(setting)), sort_keys=True)


@dataclass
class Candidate:
    """One setting of one method group: its parameters and its dev cells."""

    setting: dict[str, Any]
    is_default: bool
    dev: list[CellSpec] = field(default_factory=list)
    score: float = math.nan
    blocks: int = 0


@dataclass
class Group:
    """The test cells of one method at one base setting (usually: a method at its defaults) and its space."""

    method: str
    base: dict[str, Any]
    tests: list[CellSpec]
    space: dict[str, list[Any]]
    candidates: list[Candidate] = field(default_factory=list)
    chosen: Candidate | None = None

    @property
    def name(self) -> str:
        """The method's name, with the parameters its base setting changes from the registered defaults."""
        from . import registry

        defaults = registry.entry(registry.METHOD, self.method).defaults
        changed = {k: v for k, v in self.base.items() if _canonical(defaults.get(k)) != _canonical(v)}
        return self.method if not changed else f"{self.method}({', '.join(f'{k}={v}' for k, v in changed.items())})"


def _respec(spec: CellSpec, method_params: Mapping[str, Any], seed: int) -> CellSpec:
    return CellSpec.create(spec.dataset, spec.dataset_params, spec.method, dict(method_params), seed,
                           denoise=spec.denoise, denoise_params=spec.denoise_params, smooth_t=spec.smooth_t)


def plan_groups(tests: Sequence[CellSpec], dev_seed: Mapping[int, int], plugin_dirs: Sequence[str] = ()) -> list[Group]:
    """Group the test cells by method and base setting, read each method's space and make every candidate's
    dev cells (the test cells' configurations on their dev seeds)."""
    from . import registry

    groups: dict[tuple[str, str], Group] = {}
    for spec in tests:
        key = (spec.method, _setting_key(spec.method_params))
        if key not in groups:
            f = space_file(spec.method, plugin_dirs)
            space = read_space(f) if f is not None else {}
            unknown = set(space) - set(registry.entry(registry.METHOD, spec.method).defaults)
            if unknown:
                raise ValueError(f"{f}: method {spec.method!r} has no parameter(s) {sorted(unknown)}")
            groups[key] = Group(spec.method, dict(spec.method_params), [], space)
        groups[key].tests.append(spec)
    for g in groups.values():
        if not g.space:
            continue
        default = {k: g.base[k] for k in g.space}
        seen: dict[str, Candidate] = {}
        for setting in [default, *grid(g.space)]:
            params = registry.entry(registry.METHOD, g.method).bind({**g.base, **setting})
            typed = {k: params[k] for k in g.space}
            k = _setting_key(typed)
            if k not in seen:
                seen[k] = Candidate(typed, is_default=not seen)
        g.candidates = list(seen.values())
        for cand in g.candidates:
            cand.dev = [_respec(t, {**g.base, **cand.setting}, dev_seed[t.seed]) for t in g.tests]
    return list(groups.values())


def score_dev(groups: Sequence[Group], frame) -> None:
    """Each candidate's mean balanced sign accuracy over its dev ranking blocks; the best wins (ties: default)."""
    from .report import stats

    for g in groups:
        if not g.candidates:
            continue
        for cand in g.candidates:
            keys = {s.key for s in cand.dev}
            blocks = stats.block_scores(frame[frame["cell_key"].isin(keys)])
            cand.blocks = len(blocks)
            cand.score = float(blocks["value"].mean()) if len(blocks) else math.nan
        default = g.candidates[0]
        best = max(g.candidates, key=lambda c: -math.inf if math.isnan(c.score) else c.score)
        tie = math.isnan(best.score) or (not math.isnan(default.score) and default.score >= best.score - TIE)
        g.chosen = default if tie else best


def tuned_tests(groups: Sequence[Group]) -> list[CellSpec]:
    """The test cells: every group's cells at the default, and at the chosen setting where it differs."""
    out: list[CellSpec] = []
    for g in groups:
        out += g.tests
        if g.chosen is not None and not g.chosen.is_default:
            out += [_respec(t, {**g.base, **g.chosen.setting}, t.seed) for t in g.tests]
    return list(dict.fromkeys(out))


def selection(groups: Sequence[Group], dev_seeds: Sequence[int], test_seeds: Sequence[int]) -> dict[str, Any]:
    """What selected.yaml records: per method (group), the chosen setting, its dev score and the space."""
    out: dict[str, Any] = {}
    for g in groups:
        if g.chosen is None:
            continue
        out[g.name] = {
            "method": g.method,
            "setting": _plain(g.chosen.setting),
            "tuned": not g.chosen.is_default,
            "dev_score": _num(g.chosen.score),
            "default_setting": _plain(g.candidates[0].setting),
            "default_dev_score": _num(g.candidates[0].score),
            "dev_blocks": g.chosen.blocks,
            "space": {k: _plain(v) for k, v in g.space.items()},
            "scores": [{"setting": _plain(c.setting), "dev_score": _num(c.score), "dev_blocks": c.blocks}
                       for c in g.candidates],
        }
    return {"protocol": "settings chosen on dev seeds only (best mean balanced sign accuracy over dev ranking "
                        "blocks, ties to the default); test seeds scored the default and the chosen setting only",
            "dev_seeds": sorted(set(int(s) for s in dev_seeds)), "test_seeds": sorted(set(int(s) for s in test_seeds)),
            "methods": out}


def _num(v: float) -> float | None:
    return None if math.isnan(v) else round(float(v), 6)


def _plain(v):
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v.item() if hasattr(v, "item") else v


def _same(stored: Any, value: Any) -> bool:
    """Whether a table's value of a parameter is this setting's (an int column read back as float is)."""
    import numbers

    if isinstance(stored, numbers.Real) and isinstance(value, numbers.Real) and not isinstance(value, bool) \
            and not isinstance(stored, bool):
        return float(stored) == float(value)
    return _canonical(stored) == _canonical(value)


def read_selection(run_dir: str | Path) -> dict[str, Any] | None:
    """The run's selected.yaml, or None when the run was not tuned."""
    import yaml

    f = Path(run_dir) / SELECTED
    return yaml.safe_load(f.read_text()) if f.is_file() else None


def tuned_view(df, sel: Mapping[str, Any]):
    """The per-point table of a tuned run as the report shows it: dev cells left out (they chose, they do not
    score), each method's default cells under its own name and its chosen setting's cells as
    `<method> tuned (setting; dev score)`. Cells of a method at another setting (none, in a run made by
    colosseum-tune) keep their variant names."""
    import numpy as np

    dev = set(sel.get("dev_seeds", []))
    methods = sel.get("methods", {})
    tuned_methods = {m["method"] for m in methods.values()}
    out = df[~(df["method"].isin(tuned_methods) & df["seed"].isin(dev))].copy()
    variant = out["variant"].to_numpy(dtype=object).copy()
    for m in methods.values():
        rows = (out["method"] == m["method"]).to_numpy()
        for kind, setting in (("default", m["default_setting"]), ("tuned", m["setting"] if m["tuned"] else None)):
            if setting is None:
                continue
            match = rows.copy()
            for k, v in setting.items():
                col = f"method.{k}"
                if col in out:
                    match &= np.array([_same(x, v) for x in out[col]], dtype=bool)
            if kind == "default":
                variant[match] = m["method"]
            else:
                shown = ", ".join(f"{k}={v}" for k, v in setting.items())
                variant[match] = f"{m['method']} tuned ({shown}; dev {m['dev_score']:.2f})"
    out["variant"] = variant
    return out


# ----------------------------------------------------------------------------- the command

def main(argv: list[str] | None = None) -> None:
    """`colosseum-tune [--dev-offset N | --dev-seeds a,b,...] <overrides of a sweep>`."""
    ap = argparse.ArgumentParser(
        prog="colosseum-tune", description="Tune every method on dev seeds, then score the default and the "
        "chosen setting on the sweep's own (test) seeds. Overrides are those of `colosseum` (a preset or a sweep).")
    ap.add_argument("--dev-offset", type=int, default=DEFAULT_OFFSET,
                    help=f"dev seed = test seed + this (default {DEFAULT_OFFSET}; keep it even)")
    ap.add_argument("--dev-seeds", help="comma-separated dev seeds, one per test seed in order (instead of an offset)")
    ap.add_argument("overrides", nargs="*", help="Hydra overrides, as for `colosseum -m`")
    args = ap.parse_args(argv)
    sys.exit(run(args.overrides, args.dev_offset, args.dev_seeds))


def _fail(code: int, message: str) -> int:
    print(f"colosseum-tune: {message}", file=sys.stderr)
    return code


def run(overrides: Sequence[str], dev_offset: int = DEFAULT_OFFSET, dev_seeds: str | None = None) -> int:
    import yaml

    from . import cli, pool, registry, results, runner, settings, sweep
    from .progress import console

    overrides = [o for o in overrides if o not in ("-m", "--multirun")]
    problem = cli._precheck(["-m", *overrides])
    if problem:
        return _fail(2, f"{problem}; nothing was computed")
    try:
        config, jobs = sweep.compose(list(overrides))
        opts = settings.from_config(config)
        registry.add_plugin_dirs(list(opts.plugin_dirs))
        registry.check_duplicates()
    except ValueError as exc:
        return _fail(2, f"{exc}; nothing was computed")
    tests, problems = sweep.validate(jobs)
    if problems:
        for line in problems:
            print(f"invalid {line}", file=sys.stderr)
        return _fail(2, f"{len(jobs) - len(tests)} of {len(jobs)} cell(s) of the sweep are invalid; nothing was computed")
    test_seeds = sorted({s.seed for s in tests})
    if dev_seeds:
        chosen = [int(x) for x in dev_seeds.split(",") if x.strip()]
        if len(chosen) != len(test_seeds):
            return _fail(2, f"--dev-seeds gives {len(chosen)} seed(s) for {len(test_seeds)} test seed(s) {test_seeds}")
        dev_of = dict(zip(test_seeds, chosen))
    else:
        dev_of = {s: s + dev_offset for s in test_seeds}
    if set(dev_of.values()) & set(test_seeds) or len(set(dev_of.values())) != len(dev_of):
        return _fail(2, f"dev seeds {sorted(dev_of.values())} must be distinct and disjoint from the test seeds "
                        f"{test_seeds}")
    try:
        groups = plan_groups(tests, dev_of, [*opts.plugin_dirs, *map(str, registry.user_plugin_dirs())])
    except ValueError as exc:
        return _fail(2, f"{exc}; nothing was computed")
    n_jobs = int(config.hydra.launcher.get("n_jobs", 0) or 0) if "hydra" in config else 0
    n_jobs = n_jobs if n_jobs > 0 else 2
    dev = list(dict.fromkeys(s for g in groups for c in g.candidates for s in c.dev))
    untuned = sorted({g.method for g in groups if not g.space})
    console.print(f"colosseum-tune: {sum(len(g.candidates) for g in groups)} settings of "
                  f"{sum(bool(g.space) for g in groups)} method(s) on dev seeds {sorted(dev_of.values())}: "
                  f"{len(dev)} dev cell(s)" + (f"; at their default only (no space): {', '.join(untuned)}"
                                                if untuned else ""), highlight=False)
    failed = 0
    try:
        if dev:
            failed += _phase(dev, opts, n_jobs, pool, runner)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                frame = results.load(opts.run_dir)
            score_dev(groups, frame[frame["cell_key"].isin({s.key for s in dev})])
        sel = selection(groups, list(dev_of.values()), test_seeds)
        (opts.run_dir / SELECTED).parent.mkdir(parents=True, exist_ok=True)
        (opts.run_dir / SELECTED).write_text(
            "# colosseum-tune: the setting of each method chosen on dev seeds (never on test seeds)\n"
            + yaml.safe_dump(sel, sort_keys=False))
        for name, m in sel["methods"].items():
            console.print(f"  {name}: {'tuned ' + json.dumps(m['setting']) if m['tuned'] else 'default kept'} "
                          f"(dev {m['dev_score']} vs default {m['default_dev_score']} over {m['dev_blocks']} "
                          "blocks)", highlight=False)
        failed += _phase(tuned_tests(groups), opts, n_jobs, pool, runner)
    except runner.Abort as exc:
        if exc.message:
            print(f"colosseum-tune: {exc.message}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return _fail(130, "interrupted; finished cells are kept, the same command resumes")
    finally:
        runner.shutdown()
    console.print(f"colosseum-tune: selection in {opts.run_dir / SELECTED}; colosseum-report {opts.run_dir} "
                  "shows each method at its default and tuned", highlight=False)
    return 1 if failed else 0


def _phase(specs: list[CellSpec], opts, n_jobs: int, pool, runner) -> int:
    """Run one phase's cells like a sweep (manifest, progress, summary); returns its failed cells."""
    planned = runner.open_session(specs, opts)
    pool.run_cells([(s, opts) for s in planned], n_jobs)
    runner.finish()
    session = runner.last_session()
    return session.failed if session is not None else 0
