"""The numbers of a report: which method, where, and how sure.

- Leaderboards pool the points of each method (variant) with bootstrap intervals over cells.
- *Blocks* are the units of the rank statistics. A block is one experimental condition (intrinsic
  dimension, codimension, noise and its scale, cloud size, density slope) and one seed pair: a quadric
  with balanced signs pairs seed 2k (positive) with 2k + 1 (negative); other datasets of the same
  condition and seed (a cap with its saddle twin) share a block. Balanced sign accuracy is undefined on a
  block with one sign, so every ranked block holds both signs and any constant scores exactly 0.5 in it.
- Ranks: Friedman test over complete blocks (scipy.stats), Nemenyi post-hoc test (scikit-posthocs),
  critical-difference diagram from the same.
- Where: balanced sign accuracy per condition (the heatmap), the smallest cloud reaching 0.9 per
  dimension and noise ("sample complexity"), the flat leak on intrinsically flat controls, and the
  calibration slope of methods whose estimates are in scalar-curvature units.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import bootstrap, results
from ..scoring import metric_arrays, metric_values
from ..status import SCORED

BOOT_METRICS = ("sign_accuracy", "balanced_sign_accuracy", "auroc", "pearson")
HEADLINE = "balanced_sign_accuracy"
#: The axes of an experimental condition: label -> column of the per-point table.
CONDITIONS = {"d": "dim", "codim": "dataset.codim", "noise": "dataset.noise", "noise_scale": "dataset.noise_scale",
              "spread": "dataset.noise_spread", "outliers": "dataset.outliers", "n": "n_points",
              "density": "dataset.density_slope"}
#: What an axis means for a dataset that has no such parameter (sampling is uniform, noise absent, ...).
IMPLIED = {"noise": "0", "noise_scale": "absolute", "density": "0", "spread": "0", "outliers": "0"}
#: The shape family: an axis of "where" when at least this many families of the run hold both signs (then a
#: family can be scored on its own); blocks never split by family, so a one-signed family (a cap) still pairs
#: with its twin of the other sign (a saddle).
FAMILY_MIN = 2
#: Sample complexity: the accuracy a method must reach, and the axes it is reported by.
REACH = 0.9
#: Methods whose estimates are scalar curvature (so a calibration slope means something).
#: The reference of the flat leak: the unit 2-sphere cap (S = 2).
LEAK_REFERENCE = {"dataset": "sphere_cap", "dim": 2, "dataset.radius": 1.0}


def scored_points(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["status"].isin(SCORED) & (df["point"] >= 0)]


def _fmt(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))


def conditions(df: pd.DataFrame) -> pd.DataFrame:
    """The condition of every row: one column per axis (label). A dataset without an axis's parameter has
    its implied value (no noise, uniform sampling); its codimension is D - d when it has no `codim`."""
    out = pd.DataFrame(index=df.index)
    for label, col in CONDITIONS.items():
        values = df[col] if col in df else pd.Series(None, index=df.index, dtype=object)
        if label == "codim" and "ambient_dim" in df:
            values = values.where(~values.map(_missing), df["ambient_dim"] - df["dim"])
        out[label] = values.map(lambda v, label=label: IMPLIED.get(label, "–") if _missing(v) else _fmt(v))
    return out


def varying_axes(cond: pd.DataFrame) -> list[str]:
    return [c for c in cond.columns if cond[c].nunique() > 1]


def family_axis(df: pd.DataFrame) -> bool:
    """Whether the shape family is an axis of "where": at least FAMILY_MIN datasets of the run hold both signs."""
    pts = scored_points(df)
    signed = pts[np.abs(pts["true_curvature"].astype(float)) > pts["zero_tol"].astype(float)]
    both = signed.groupby("dataset")["true_curvature"].agg(lambda t: (t > 0).any() and (t < 0).any())
    return int(both.sum()) >= FAMILY_MIN


def condition_labels(df: pd.DataFrame, family: bool = False) -> pd.Series:
    """A short name of each row's condition: the axes that vary in this run, each left out where it holds the
    value of a strict majority of the run's conditions ('noise=0.05', 'd=3 n=500'; 'baseline' where every
    axis does), after the family when `family` ('torus | noise=0.03'). Unique per condition: an axis left
    out holds that one value."""
    cond = conditions(df)
    axes = varying_axes(cond)
    distinct = cond[axes].drop_duplicates()
    common = {}
    for a in axes:
        counts = distinct[a].value_counts()
        common[a] = counts.index[0] if counts.iloc[0] * 2 > len(distinct) else None

    def name(row) -> str:
        return " ".join(f"{a}={v}" for a, v in row.items() if v != common[a]) or "baseline"

    labels = cond[axes].apply(name, axis=1) if axes else pd.Series("all", index=df.index)
    if family:
        labels = df["dataset"].astype(str) + " | " + labels
    return labels


def block_ids(df: pd.DataFrame) -> pd.Series:
    """The ranking block of each row: its condition and its seed pair (see the module docstring)."""
    balanced = df["dataset.sign"].eq("balanced") if "dataset.sign" in df else pd.Series(False, index=df.index)
    pair = np.where(balanced, df["seed"] // 2, df["seed"])
    suffix = np.where(balanced, "pair ", "seed ")
    return condition_labels(df) + " | " + pd.Series(suffix, index=df.index) + pd.Series(pair, index=df.index).astype(str)


def bootstrap_leaderboard(df: pd.DataFrame, by=("variant",), n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Pooled metrics per group with percentile 95 % intervals from resampling cells."""
    lb = results.leaderboard(df, by=by)
    extra = []
    for key, g in scored_points(df).groupby(list(by), sort=True):
        truth, est = g["true_curvature"].to_numpy(float), g["estimate"].to_numpy(float)
        tol = g["zero_tol"].to_numpy(float)
        cells = bootstrap.cell_groups(g["cell_id"].to_numpy())
        row = dict(zip(by, key if isinstance(key, tuple) else (key,)))
        for m in BOOT_METRICS:
            def stat(idx, m=m):
                pick = np.concatenate([cells[i] for i in idx])
                return metric_arrays(truth[pick], est[pick], tol[pick], (m,))[m]
            row[f"{m}_lo"], row[f"{m}_hi"] = bootstrap.interval(len(cells), stat, n_boot=n_boot,
                                                                rng=bootstrap.stream(seed, m))
        extra.append(row)
    lb = lb.merge(pd.DataFrame(extra), on=list(by), how="left") if extra else lb
    return lb.sort_values(HEADLINE, ascending=False, na_position="last").reset_index(drop=True)


def block_scores(df: pd.DataFrame, metric: str = HEADLINE) -> pd.DataFrame:
    """One row per (block, method variant): the metric pooled over the block's points; blocks where it is
    undefined (one sign) are left out. Columns block, method, metric, value (the CSV of the CD diagram)."""
    pts = scored_points(df)
    if pts.empty:
        return pd.DataFrame(columns=["block", "method", "metric", "value"])
    pts = pts.assign(block=block_ids(pts))
    rows = [{"block": b, "method": m, "metric": metric, "value": metric_values(g, (metric,))[metric]}
            for (b, m), g in pts.groupby(["block", "variant"], sort=True)]
    out = pd.DataFrame(rows)
    return out[np.isfinite(out["value"].astype(float))].reset_index(drop=True)


def rank_test(blocks: pd.DataFrame) -> dict:
    """Friedman test and Nemenyi post-hoc p-values over the complete blocks (every method scored).

    Returns table (blocks x methods), ranks (average rank, 1 = best), friedman_p, nemenyi (p-value
    matrix), n_blocks; None entries where fewer than 3 methods or 2 blocks make a test impossible."""
    from scipy import stats

    table = blocks.pivot(index="block", columns="method", values="value").dropna()
    out = {"table": table, "n_blocks": len(table), "ranks": None, "friedman_p": np.nan, "nemenyi": None}
    if table.shape[0] < 2 or table.shape[1] < 2:
        return out
    out["ranks"] = table.rank(axis=1, ascending=False).mean().sort_values()
    if table.shape[1] >= 3:
        import scikit_posthocs as sp

        out["friedman_p"] = float(stats.friedmanchisquare(*[table[c].to_numpy() for c in table.columns]).pvalue)
        out["nemenyi"] = sp.posthoc_nemenyi_friedman(table.to_numpy())
        out["nemenyi"].index = out["nemenyi"].columns = table.columns
    return out


def heatmap(df: pd.DataFrame, metric: str = HEADLINE) -> pd.DataFrame:
    """Method variant x condition: the metric pooled over each condition's points (long format, with the
    axes of the condition, the number of signed points and the positive share)."""
    pts = scored_points(df)
    cond = conditions(pts)
    family = family_axis(pts)
    if family:
        cond.insert(0, "family", pts["dataset"].astype(str))
    axes = varying_axes(cond) or list(cond.columns[:1])
    pts = pts.assign(condition=condition_labels(pts, family), **{f"axis_{a}": cond[a] for a in axes})
    rows = []
    for (c, m), g in pts.groupby(["condition", "variant"], sort=True):
        t = g["true_curvature"].to_numpy(float)
        signed = np.abs(t) > g["zero_tol"].to_numpy(float)
        rows.append({"method": m, "condition": c, **{a: g[f"axis_{a}"].iloc[0] for a in axes}, "metric": metric,
                     "value": metric_values(g, (metric,))[metric], "points": int(signed.sum()),
                     "positive_share": float(np.mean(t[signed] > 0)) if signed.any() else np.nan})
    return pd.DataFrame(rows)


def _number(v: str) -> float:
    try:
        return float(v)
    except ValueError:
        return np.nan


def sample_complexity(heat: pd.DataFrame, reach: float = REACH) -> pd.DataFrame:
    """For each method and (d, noise) group, the smallest n whose condition reaches `reach`, '–' if none."""
    if heat.empty or "n" not in heat:
        return pd.DataFrame(columns=["method", "group", "smallest_n", "sizes"])
    keys = [a for a in heat.columns if (a in CONDITIONS or a == "family") and a != "n"]
    rows = []
    for key, g in heat.groupby(["method", *keys], sort=True):
        key = key if isinstance(key, tuple) else (key,)
        sizes = sorted({_number(v) for v in g["n"]})
        ok = sorted(_number(n) for n, v in zip(g["n"], g["value"]) if np.isfinite(v) and v >= reach)
        rows.append({"method": key[0], "group": " ".join(f"{a}={v}" for a, v in zip(keys, key[1:])) or "all",
                     "smallest_n": _fmt(ok[0]) if ok else "–", "sizes": ", ".join(_fmt(s) for s in sizes)})
    return pd.DataFrame(rows)


def flat_leak(df: pd.DataFrame) -> pd.DataFrame:
    """Per method: median |estimate| on intrinsically flat clouds (every truth 0) over median |estimate| on
    the unit 2-sphere cap. 0 = blind to bending; 1 = reads a flat cylinder as curved as a unit sphere."""
    pts = df[(df["status"] == "ok") & (df["point"] >= 0)]
    if pts.empty:
        return pd.DataFrame(columns=["method", "flat_median_abs", "cap_median_abs", "leak"])
    flat_sets = pts.groupby("dataset")["true_curvature"].apply(lambda t: bool(np.all(np.abs(t) < 1e-9)))
    flat = pts[pts["dataset"].isin(flat_sets[flat_sets].index)]
    ref = pts
    for col, val in LEAK_REFERENCE.items():
        ref = ref[ref[col] == val] if col in ref else ref.iloc[0:0]
    rows = []
    for m in sorted(set(flat["variant"]) & set(ref["variant"])):
        f = np.abs(flat.loc[flat["variant"] == m, "estimate"].to_numpy(float))
        c = np.abs(ref.loc[ref["variant"] == m, "estimate"].to_numpy(float))
        f, c = f[np.isfinite(f)], c[np.isfinite(c)]
        fm, cm = (float(np.median(f)) if f.size else np.nan), (float(np.median(c)) if c.size else np.nan)
        rows.append({"method": m, "flat_datasets": ", ".join(sorted(set(flat["dataset"]))), "flat_median_abs": fm,
                     "cap_median_abs": cm, "leak": fm / cm if cm and np.isfinite(cm) and cm > 0 else np.nan})
    return pd.DataFrame(rows, columns=["method", "flat_datasets", "flat_median_abs", "cap_median_abs", "leak"])


def in_scalar_units(df: pd.DataFrame) -> pd.Series:
    """Rows whose estimate is scalar curvature, as each method declared at registration (the `scalar_units`
    column; cells written before it existed count as not)."""
    if "scalar_units" not in df:
        return pd.Series(False, index=df.index)
    return df["scalar_units"].fillna(False).astype(bool)


def calibration(df: pd.DataFrame) -> pd.DataFrame:
    """Per method in scalar-curvature units: the least-squares slope (scipy.stats.linregress) of estimate on
    truth over finite estimates (1 = calibrated), its intercept and the correlation."""
    from scipy import stats

    pts = df[(df["status"] == "ok") & (df["point"] >= 0) & in_scalar_units(df)]
    rows = []
    for m, g in pts.groupby("variant", sort=True):
        t, e = g["true_curvature"].to_numpy(float), g["estimate"].to_numpy(float)
        ok = np.isfinite(e) & np.isfinite(t)
        if ok.sum() < 3 or np.ptp(t[ok]) == 0:
            rows.append({"method": m, "slope": np.nan, "intercept": np.nan, "r": np.nan, "points": int(ok.sum())})
            continue
        fit = stats.linregress(t[ok], e[ok])
        rows.append({"method": m, "slope": float(fit.slope), "intercept": float(fit.intercept),
                     "r": float(fit.rvalue), "points": int(ok.sum())})
    return pd.DataFrame(rows, columns=["method", "slope", "intercept", "r", "points"])
