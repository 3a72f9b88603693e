"""ollivier_ricci: Ollivier-Ricci curvature on the symmetric k-NN graph with Euclidean edge lengths
(reference: GraphRicciCurvature 0.6.1 `OllivierRicci`, Ni et al.; scalar rescaling after Ollivier 2009), as node
values minus those of flat uniform d-balls by default; the algorithm, its flat bias and outputs are in
colosseum.estimators.graph_curvature."""
from typing import Annotated, Literal

from colosseum.params import Count, Range
from colosseum.registry import register_method


# in scalar-curvature units only with a scalar output (kappa outputs are edge curvatures)
@register_method("ollivier_ricci", scalar_units=lambda params: str(params["output"]).startswith("scalar"))
def ollivier_ricci(points, eval_idx, dim, *, seed: int, knn: Count = 20, alpha: Annotated[float, Range(ge=0, lt=1)] = 0.5,
                   node_mean: Literal["plain", "length_weighted"] = "plain",
                   output: Literal["scalar", "scalar_minus_flat", "kappa", "kappa_minus_flat"] = "scalar_minus_flat",
                   flat_nodes: Count = 64, flat_draws: Count = 1):
    from colosseum.estimators import graph_curvature
    return graph_curvature.ollivier_ricci_curvature(points, eval_idx, dim, seed=seed, knn=knn, alpha=alpha,
                                                    node_mean=node_mean, output=output, flat_nodes=flat_nodes,
                                                    flat_draws=flat_draws)
