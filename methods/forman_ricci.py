"""forman_ricci: augmented Forman-Ricci curvature on the same k-NN graph as ollivier_ricci (reference:
GraphRicciCurvature 0.6.1 `FormanRicci(method="augmented")`), node value minus that of flat uniform d-balls by
default; the formula, why the flat subtraction is needed and the outputs are in colosseum.estimators.graph_curvature."""
from typing import Literal

from colosseum.params import Count
from colosseum.registry import register_method


@register_method("forman_ricci")
def forman_ricci(points, eval_idx, dim, *, seed: int, knn: Count = 20, weighted: bool = False,
                 output: Literal["minus_flat", "raw"] = "minus_flat", flat_nodes: Count = 64, flat_draws: Count = 4):
    from colosseum.estimators import graph_curvature
    return graph_curvature.forman_ricci_curvature(points, eval_idx, dim, seed=seed, knn=knn, weighted=weighted,
                                                  output=output, flat_nodes=flat_nodes, flat_draws=flat_draws)
