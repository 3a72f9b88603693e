"""dc_mioflattener: DC2 (colosseum.estimators.dc2) against the eval point's own neighbourhood flattened into R^d by
the RFAE (or, with rfae_stage false, the linear tangent chart) and flowed toward uniform density on the
d-ball by a neural ODE (issue 6); the flow is colosseum.estimators.flattening.mioflow, the comparison and its flattening-quality
diagnostics colosseum.estimators.flattening.flattened."""
from typing import Annotated, Literal

from colosseum.params import Count, NonNegative, NonNegativeInt, Positive, Probability, Range
from colosseum.registry import register_method


@register_method("dc_mioflattener", smoothable=False)
def dc_mioflattener(points, eval_idx, dim, *, seed: int, knn: Annotated[int, Range(ge=2)] = 120,
                    tolerance: NonNegativeInt = 5, alpha: Probability = 0.0, t_max: Annotated[int, Range(ge=2)] = 39,
                    locality: Annotated[float, Range(gt=0, le=1)] = 0.9, comparison_trials: Count = 1,
                    dim_source: Literal["given", "local_pca"] = "given",
                    match: Literal["trajectory", "time"] = "trajectory",
                    data_side: Literal["neighbourhood", "cloud"] = "neighbourhood", neighbourhood: Count = 500,
                    graph_knn: Count = 30, hidden: Count = 64, depth: NonNegativeInt = 2, w_radial: NonNegative = 1.0,
                    w_kl: NonNegative = 0.1, w_flat: NonNegative = 0.0, w_recon: NonNegative = 0.1,
                    steps: Count = 400, lr: Positive = 0.003, flow_hidden: Count = 64, flow_depth: NonNegativeInt = 2,
                    w_mmd: NonNegative = 1.0, flow_w_radial: NonNegative = 0.1, w_energy: NonNegative = 0.001,
                    solver: Literal["heun", "tsit5", "euler"] = "heun", solver_steps: Count = 8,
                    batch: Annotated[int, Range(ge=2)] = 256, flow_steps: Count = 300, flow_lr: Positive = 0.003,
                    rfae_stage: bool = True):
    from colosseum.estimators.flattening import flattened, mioflow, rfae
    cfg = rfae.RFAEConfig(hidden=hidden, depth=depth, w_radial=w_radial, w_kl=w_kl, w_flat=w_flat,
                          w_recon=w_recon, steps=steps, lr=lr)
    flow = mioflow.MIOConfig(hidden=flow_hidden, depth=flow_depth, w_mmd=w_mmd, w_radial=flow_w_radial,
                             w_energy=w_energy, solver=solver, n_steps=solver_steps, batch=batch, steps=flow_steps,
                             lr=flow_lr)
    return flattened.flattened_curvature(
        points, eval_idx, dim, seed=seed, flattener=mioflow.MIOFlattener(cfg, flow, rfae_stage),
        settings=flattened.FlattenSettings(neighbourhood=neighbourhood, graph_knn=graph_knn), data_side=data_side,
        knn=knn, tolerance=tolerance, alpha=alpha, t_max=t_max, locality=locality,
        comparison_trials=comparison_trials, dim_source=dim_source, match=match)
