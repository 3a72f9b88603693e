"""sritharan: scalar curvature from local PCA, a quadratic fit of the second fundamental form and the Gauss equation,
with an adaptive radius (reference: Sritharan, Wang & Hormoz, PNAS 2021; hormoz-lab/ManifoldCurvature;); the algorithm and its units are in colosseum.estimators.quadratic_fit. The seed is unused."""
from typing import Annotated

from colosseum.params import NonNegative, NonNegativeInt, Positive, Range
from colosseum.registry import register_method


@register_method("sritharan", scalar_units=True)
def sritharan(points, eval_idx, dim, *, seed: int, se_target: Positive = 0.05, max_iter: NonNegativeInt = 10,
              se_tol: Positive = 0.01, redundancy: Annotated[float, Range(ge=1)] = 2.0,
              n_radius_grid: Annotated[int, Range(ge=5)] = 10, trivial_var: NonNegative = 1e-9):
    from colosseum.estimators import quadratic_fit
    return quadratic_fit.quadratic_fit_curvature(points, eval_idx, dim, se_target=se_target, max_iter=max_iter,
                                                 se_tol=se_tol, redundancy=redundancy, n_radius_grid=n_radius_grid,
                                                 trivial_var=trivial_var)
