"""DC2 against neurally flattened comparison spaces: dc_rfae and dc_mioflattener (issue 6).

DC2 (methods/dc_entropy.py, methods.md (c)) compares the diffusion entropy at x with that at the
centre of a flat comparison space E built through the same kernel (same nu). Here E is not a uniform
ball but the eval point's own neighbourhood flattened into R^d (colosseum/flattening.py):
- dc_rfae: the RFAE embedding (radial distances from x kept, neighbourhoods kept);
- dc_mioflattener: that embedding flowed by a neural ODE toward uniform density on the d-ball.

The neighbourhood is the `neighbourhood` nearest points of x (the whole cloud when it is smaller).
`data_side` says what DC2 sees on the data side:
- "neighbourhood" (default): DC2 runs on the neighbourhood alone (nu tuned there), compared with its
  own flattening: equal size, the same points, one curved and one flat. The sampling noise of the two
  sides is then shared and cancels (a plane gives ~0 up to the flattening error); what is left is the
  geometry that the flattening had to change;
- "cloud" (as dc_entropy): the whole cloud; only the comparison side is the neighbourhood, so the
  two sides differ in size when neighbourhood < N (E then has a boundary the data walk may not see).

The DC2 logic is dc_entropy's own (looked up in the registry at call time, since plugin files are
loaded by path). A flattening is trained per evaluation point and trial (default one trial: the
randomness of a flattening is only its training seed). Besides DC2's diagnostics, every row gets the
flattening-quality figures (means over trials): radial_distortion, knn_overlap, mmd (MMD^2 to the
uniform d-ball, radial-quantile scaled), radial_w1 (radial-distribution distance to the data),
uniform_radial_w1 (the same for a uniform ball: the dc_entropy comparison's figure), n_flat, and the
training steps and seconds; dc_mioflattener adds rfae_mmd and rfae_radial_distortion (its input's).
"""
import numpy as np

from colosseum import flattening as fl
from colosseum.contract import Estimate
from colosseum.registry import entry, register_method

DATA_SIDES = ("cloud", "neighbourhood")


def _dc2():
    return entry("method", "dc_entropy").func


def flattened_curvature(points, eval_idx, dim, *, seed, space, settings: fl.FlattenSettings, data_side,
                        **dc2) -> Estimate:
    if data_side not in DATA_SIDES:
        raise ValueError(f"data_side must be one of {DATA_SIDES}, got {data_side!r}")
    if settings.neighbourhood < 2 * dc2["knn"]:
        raise ValueError(f"neighbourhood ({settings.neighbourhood}) must hold at least 2 x knn ({dc2['knn']}) "
                         "points for the comparison walk to leave its centre's kernel support")
    dc_entropy = _dc2()
    eval_idx = np.asarray(eval_idx)
    m, trials = len(eval_idx), int(dc2["comparison_trials"])
    record: list = []
    if data_side == "cloud":
        with fl.using(settings, record):
            est = dc_entropy(points, eval_idx, dim, seed=seed, comparison=space, **dc2)
        values, diag = np.asarray(est.values), {k: np.asarray(v) for k, v in est.diagnostics.items()}
    else:
        values, diag = np.full(m, np.nan), {}
        for j, x in enumerate(eval_idx.tolist()):
            rows = fl.neighbourhood_rows(points, int(x), settings.neighbourhood)
            sub_seed = int(np.random.default_rng([int(seed), int(x)]).integers(0, 2**31 - 1))
            with fl.using(settings, record):
                est = dc_entropy(points[rows], np.array([0]), dim, seed=sub_seed, comparison=space, **dc2)
            values[j] = est.values[0]
            for k, v in est.diagnostics.items():
                diag.setdefault(k, np.full(m, np.nan))[j] = v[0]
    if len(record) != m * trials:
        raise RuntimeError(f"expected {m * trials} flattenings, got {len(record)}")
    keys = list(record[0][1])
    for k in keys:
        vals = np.array([q[k] for _, q in record], dtype=np.float64).reshape(m, trials)
        diag[k] = vals.mean(axis=1)
    return Estimate(values=values, diagnostics=diag)


def _settings(neighbourhood, graph_knn, hidden, depth, w_radial, w_kl, w_flat, w_recon, steps, lr,
              mio: fl.MIOConfig | None = None) -> fl.FlattenSettings:
    rfae = fl.RFAEConfig(hidden=hidden, depth=depth, w_radial=w_radial, w_kl=w_kl, w_flat=w_flat,
                         w_recon=w_recon, steps=steps, lr=lr)
    return fl.FlattenSettings(neighbourhood=neighbourhood, graph_knn=graph_knn, rfae=rfae,
                              mio=mio or fl.MIOConfig())




@register_method("dc_rfae")
def dc_rfae(points, eval_idx, dim, *, seed: int, knn: int = 120, tolerance: int = 5, alpha: float = 0.0,
            t_max: int = 39, locality: float = 0.9, comparison_trials: int = 1, dim_source: str = "given",
            match: str = "trajectory", data_side: str = "neighbourhood", neighbourhood: int = 500, graph_knn: int = 30,
            hidden: int = 64, depth: int = 2, w_radial: float = 1.0, w_kl: float = 0.1, w_flat: float = 0.0,
            w_recon: float = 0.1, steps: int = 400, lr: float = 0.003):
    settings = _settings(neighbourhood, graph_knn, hidden, depth, w_radial, w_kl, w_flat, w_recon, steps, lr)
    return flattened_curvature(points, eval_idx, dim, seed=seed, space="rfae", settings=settings,
                               data_side=data_side, knn=knn, tolerance=tolerance, alpha=alpha, t_max=t_max,
                               locality=locality, comparison_trials=comparison_trials, dim_source=dim_source,
                               match=match)


@register_method("dc_mioflattener")
def dc_mioflattener(points, eval_idx, dim, *, seed: int, knn: int = 120, tolerance: int = 5, alpha: float = 0.0,
                    t_max: int = 39, locality: float = 0.9, comparison_trials: int = 1, dim_source: str = "given",
                    match: str = "trajectory", data_side: str = "neighbourhood", neighbourhood: int = 500,
                    graph_knn: int = 30, hidden: int = 64, depth: int = 2, w_radial: float = 1.0, w_kl: float = 0.1,
                    w_flat: float = 0.0, w_recon: float = 0.1, steps: int = 400, lr: float = 0.003,
                    flow_hidden: int = 64, flow_depth: int = 2, w_mmd: float = 1.0, flow_w_radial: float = 0.1,
                    w_energy: float = 0.001, solver: str = "tsit5", solver_steps: int = 8, batch: int = 256,
                    flow_steps: int = 300, flow_lr: float = 0.003):
    mio = fl.MIOConfig(hidden=flow_hidden, depth=flow_depth, w_mmd=w_mmd, w_radial=flow_w_radial,
                       w_energy=w_energy, solver=solver, n_steps=solver_steps, batch=batch, steps=flow_steps,
                       lr=flow_lr)
    settings = _settings(neighbourhood, graph_knn, hidden, depth, w_radial, w_kl, w_flat, w_recon, steps, lr, mio)
    return flattened_curvature(points, eval_idx, dim, seed=seed, space="mioflattener", settings=settings,
                               data_side=data_side, knn=knn, tolerance=tolerance, alpha=alpha, t_max=t_max,
                               locality=locality, comparison_trials=comparison_trials, dim_source=dim_source,
                               match=match)
