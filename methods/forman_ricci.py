"""Augmented Forman-Ricci curvature on the k-nearest-neighbour graph (GraphRicciCurvature semantics).

Graph: the symmetric (union) k-NN graph of `colosseum.graphs` (the same graph as `ollivier_ricci`).
Edge value (GraphRicciCurvature 0.6.1 `FormanRicci(method="augmented")`, node and face weights 1):

    F(e) = w_e (#triangles(e) w_e + 2 / w_e - sum over edges e' at either end of e that share no
            triangle with e of 1 / sqrt(w_e w_e')),

unweighted (w = 1, the default): F(e) = 4 - deg v1 - deg v2 + 3 #triangles(e); weighted: w = Euclidean
length / median k-NN length. Node value: mean of F over the edges at the node (as GRC).

Sign: F has no absolute sign on k-NN graphs: it is strongly negative everywhere (about -4.5 at k = 20,
-30 at k = 120 in d = 2, flat or not), because degrees grow faster than triangle counts. Only its
difference from a flat sample means something, so the default `output: minus_flat` returns

    F(x) - F_flat,

F_flat = mean node value over `flat_nodes` interior nodes (drawn out of reach of the boundary) of each of
`flat_draws` uniform d-ball samples with the same N and k (seeded; the graph is scale-free, so the
ball's radius does not matter).
`output: raw` returns F(x). Either way the unit is Forman's (edge counts), not scalar curvature.
Diagnostics: forman (raw node value), degree, triangles (mean per edge), forman_flat when computed.
"""
import numpy as np

from colosseum import graphs
from colosseum.contract import Estimate
from colosseum.registry import register_method

OUTPUTS = ("minus_flat", "raw")


def node_forman(graph: graphs.KnnGraph, rows, weighted: bool) -> np.ndarray:
    return np.array([F.mean() if F.size else 0.0 for _, F in graphs.forman_edges(graph, rows, weighted)])


def mean_triangles(graph: graphs.KnnGraph, rows) -> np.ndarray:
    """Mean number of triangles per edge at each row (unweighted: F = 4 - deg u - deg v + 3 #tri)."""
    A = graph.lengths.copy()
    A.data[:] = 1.0
    A_R = A[np.asarray(rows)]
    tri = A_R.multiply(A_R @ A)  # triangles through each edge (u, v) at the rows
    return np.asarray(tri.sum(axis=1)).ravel() / np.maximum(np.diff(A_R.indptr), 1)


@register_method("forman_ricci")
def forman_ricci(points, eval_idx, dim, *, seed: int, knn: int = 20, weighted: bool = False,
                 output: str = "minus_flat", flat_nodes: int = 64, flat_draws: int = 4):
    if output not in OUTPUTS:
        raise ValueError(f"forman_ricci output must be one of {OUTPUTS}, got {output!r}")
    n = len(points)
    if not 1 <= knn < n or flat_nodes < 1 or flat_draws < 1:
        raise ValueError(f"forman_ricci needs 1 <= knn < n = {n}, flat_nodes >= 1, flat_draws >= 1; "
                         f"got knn={knn}, flat_nodes={flat_nodes}, flat_draws={flat_draws}")
    graph = graphs.knn_graph(points, knn)
    F = node_forman(graph, eval_idx, weighted)
    diag = {"forman": F,
            "degree": np.array([graph.degree(int(u)) for u in eval_idx], dtype=np.int64),
            "triangles": mean_triangles(graph, eval_idx)}
    if output == "raw":
        return Estimate(values=F, diagnostics=diag)
    rng = np.random.default_rng(seed)
    flat = []
    for _ in range(flat_draws):
        ball = graphs.uniform_ball(n, dim, rng)
        g = graphs.knn_graph(ball, knn)
        flat.append(node_forman(g, graphs.flat_reference_rows(ball, g, flat_nodes, rng), weighted))
    F_flat = float(np.mean(flat))
    diag["forman_flat"] = np.full(F.shape, F_flat)
    return Estimate(values=F - F_flat, diagnostics=diag)
