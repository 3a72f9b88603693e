"""Ollivier-Ricci and Forman-Ricci curvature on the k-nearest-neighbour graph (GraphRicciCurvature semantics),
as node values, raw or minus those of flat uniform d-balls (the cores of ollivier_ricci and forman_ricci).

The graph is colosseum.estimators.knn's symmetric kNN graph with Euclidean edge lengths. Only the rows
that a method evaluates are ever expanded: neighbour lists, Dijkstra from a handful of sources with a
distance limit, and one small exact optimal-transport problem per edge. Nothing here builds a dense
n x n matrix.

Edge curvatures follow GraphRicciCurvature 0.6.1 (Ni et al.; `OllivierRicci.py`, `FormanRicci.py`):

- Ollivier-Ricci: kappa(x, y) = 1 - W1(m_x, m_y) / d(x, y), with the lazy measure
  m_x = alpha delta_x + (1 - alpha) sum_{z ~ x} e^{-w(x,z)^2} / sum e^{-w^2} delta_z (GRC's `base = e`,
  `exp_power = 2`), ground cost and d(x, y) the weighted shortest-path metric (GRC divides by the graph
  metric, not by the edge weight; issue #47), W1 by exact EMD (`ot.emd2`, GRC's method "OTD").
  Here w = Euclidean length / median k-NN length, so that e^{-w^2} neither underflows nor goes flat;
  kappa is invariant under that rescaling of the metric (W1 and d scale together).
- Forman-Ricci, "augmented" (2-complex with triangles, face and node weights 1):
  F(e) = w_e (#triangles(e) w_e + 2 / w_e - sum_{v ~ v1, v not in a triangle with e} 1 / sqrt(w_e w_{v1 v})
  - the same at v2); unweighted (w = 1) this is 4 - deg v1 - deg v2 + 3 #triangles.

A node's value is the mean over its incident edges (as GRC does).

Ollivier-Ricci.

Only the edges at the evaluation points are computed: ground costs by Dijkstra from the support of m_x
only, truncated at the largest distance a plan can use (exact), and one exact EMD (POT `ot.emd2`) per
edge. Edge curvatures agree with GraphRicciCurvature 0.6.1 (`OllivierRicci(G, alpha, method="OTD")` on
the same weighted graph) to machine precision (tests/test_competitors_graph.py).

Node value kappa(x): the mean of kappa over the edges at x (`node_mean: plain`, as GRC), or
1 - sum_y W1 / sum_y d(x, y), the length-weighted mean (`node_mean: length_weighted`). The plain mean
is heavy-tailed: for a near-duplicate pair (an edge of length delta -> 0) W1(m_x, m_y) stays of the order
of the k-NN spacing (the two neighbour sets differ), so kappa ~ -W1 / delta (about -75 has been seen in a
uniform sample of 1000 points); in d = 2 such edges are common enough to dominate the tails.

Scalar rescaling (Ollivier 2009, uniform eps-ball measures: kappa ~ eps^2 Ric(v, v) / (2(n + 2)), and Ric
averaged over directions is S / n):

    S_hat(x) = 2 n (n + 2) kappa(x) / eps(x)^2,   eps(x) = mean Euclidean length of the edges at x.

That eps is a convention (the measure here is lazy and Gaussian-weighted, not a uniform ball), so S_hat
carries an unknown factor of order one: its sign and its correlation with S are what it measures.

Flat bias: on a random k-NN graph of FLAT points kappa is not 0 (neighbouring measures share atoms, and
graph distances exceed Euclidean ones): about +0.02 at k = 20 and +0.01 at k = 40 in d = 2, while the
curvature term is about (1 - alpha) Ric(v, v) E|z - x|^2 / (2n) with E|z - x|^2 < eps^2, i.e. 1e-3 or
less at moderate k / N (the measured per-node standard deviation is 0.03-0.04). Hence `output`:

- "scalar": S_hat from kappa as above (the estimator of the issue; its flat bias is positive in d = 2
  and negative in d = 3 at k = 20, so its signs would follow d rather than geometry);
- "scalar_minus_flat" (default): the same from kappa - kappa_flat, so that 0 means flat;
- "kappa": kappa(x), dimensionless;
- "kappa_minus_flat": kappa(x) - kappa_flat,

where kappa_flat is the 10%-trimmed mean node curvature over `flat_nodes` interior nodes (drawn out of
reach of the boundary) of each of `flat_draws` uniform d-ball samples with the same N and k, drawn from
flat_rng(seed, d) (`flat_node_values`; kappa is scale-free, so the ball's radius does not matter).
Diagnostics: kappa, eps, degree (and kappa_flat when it is computed).

Forman-Ricci.

Graph: the same symmetric (union) k-NN graph as Ollivier-Ricci.
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
`flat_draws` uniform d-ball samples with the same N and k (drawn from flat_rng(seed, d), as
Ollivier-Ricci's; the graph is scale-free, so the ball's radius does not matter).
`output: raw` returns F(x). Either way the unit is Forman's (edge counts), not scalar curvature.
Diagnostics: forman (raw node value), degree, triangles (mean per edge), forman_flat when computed.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from ot.lp.emd_wrap import check_result, emd_c  # the C solver behind ot.emd2
from scipy.sparse.csgraph import dijkstra, reverse_cuthill_mckee
from scipy.stats import trim_mean

from ..contract import Estimate
from .balls import uniform_ball
from .flat import flat_rng, reference_rows
from .knn import ZERO_LENGTH, KnnGraph, knn_graph, shortest_paths

ORC_OUTPUTS = ("scalar", "scalar_minus_flat", "kappa", "kappa_minus_flat")
NODE_MEANS = ("plain", "length_weighted")
FORMAN_OUTPUTS = ("minus_flat", "raw")
#: The Ollivier-Ricci flat reference is a trimmed mean of node values: a near-duplicate pair in the flat
#: sample makes one node value hugely negative (see above) and must not shift the reference.
FLAT_TRIM = 0.1
#: POT's default iteration cap of its network simplex (`ot.emd2(numItermax=...)`).
EMD_MAX_ITER = 100_000


def wasserstein1(a: np.ndarray, b: np.ndarray, cost: np.ndarray) -> float:
    """Exact W1 between histograms a and b under `cost`: POT's network simplex (the solver behind
    `ot.emd2`, GraphRicciCurvature's "OTD"), called directly because the marginals are exact by
    construction and ot.emd2's backend checks cost ~10x the solve on these ~12 x 12 problems."""
    _, w1, _, _, code = emd_c(a, b, np.ascontiguousarray(cost), EMD_MAX_ITER, 1)
    check_result(code)
    return float(w1)


# ----------------------------------------------------------------------------- edges

def lazy_measure(graph: KnnGraph, u: int, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """GraphRicciCurvature's measure at u: (support rows, masses), u last, masses summing to 1."""
    nb, ln = graph.neighbours(u)
    if nb.size == 0:
        return np.array([u]), np.array([1.0])
    w = np.exp(-(ln / graph.scale) ** 2)
    s = w.sum()
    p = (1.0 - alpha) * (w / s if s > 1e-7 else np.full(nb.size, 1.0 / nb.size))
    return np.append(nb, u), np.append(p, alpha)


def ollivier_ricci_edges(graph: KnnGraph, u: int, alpha: float = 0.5,
                         above: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Ollivier-Ricci curvature of every edge at node u: (neighbour rows, kappa per edge); with `above`,
    of the edges to neighbours v > u only (each edge of the graph once, over all u).

    Dijkstra runs from the support of m_u only, each source s truncated at the largest distance a
    transport plan can need from it (d(s, t) <= l(s, u) + l(u, y) + l(y, t) for t in supp m_y), so the
    costs are exact. One exact EMD per edge.
    """
    nbrs, lens = graph.neighbours(u)
    todo = np.flatnonzero(nbrs > u) if above else np.arange(nbrs.size)
    if todo.size == 0:
        return nbrs[todo], np.zeros(0)
    src, a = lazy_measure(graph, u, alpha)
    reach = max(float(lens[e]) + float(graph.neighbours(int(nbrs[e]))[1].max()) for e in todo)
    to_u = np.append(lens, 0.0)  # l(s, u) for s in src (u last)
    D = np.full((src.size, graph.n), np.inf)
    order = np.argsort(to_u, kind="stable")
    for part in np.array_split(order, 4):  # a few limit groups: near sources search less
        if part.size:
            D[part] = shortest_paths(graph, src[part], (float(to_u[part].max()) + reach) * (1 + 1e-9))
    pos_u = src.size - 1
    kappa = np.zeros(todo.size)
    for out, e in enumerate(todo):
        y = nbrs[e]
        d_uy = D[pos_u, y]
        if d_uy < ZERO_LENGTH * graph.scale * 10:
            continue  # duplicate points: curvature 0, as GRC
        tgt, b = lazy_measure(graph, int(y), alpha)
        kappa[out] = 1.0 - wasserstein1(a, b, D[:, tgt]) / d_uy
    return nbrs[todo], kappa


def ollivier_ricci_all_edges(graph: KnnGraph, alpha: float = 0.5,
                             chunk: int = 256) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(u, v, kappa) of every edge u < v of the graph, each computed once (what GraphRicciCurvature's
    `compute_ricci_curvature` does), listed by u and then in graph order.

    Every cost a plan can use joins a neighbour of u to a neighbour of v across the edge, so Dijkstra
    limited to 3 x the longest edge gives them all exactly. It runs for `chunk` nodes at a time taken in
    reverse Cuthill-McKee order (scipy), so that a chunk's measure supports are mostly the chunk itself
    and the distance block stays about chunk x n.
    """
    n = graph.n
    A = graph.lengths.tocsr()
    longest = np.maximum.reduceat(A.data, A.indptr[:-1]) if A.nnz else np.zeros(n)
    longest[np.diff(A.indptr) == 0] = 0.0
    # d(s, t) <= l(s, u) + l(u, v) + l(v, t) for s in supp m_u, t in supp m_v: per node u, the reach
    reach = np.array([longest[u] + max((float(ln + longest[v]) for v, ln in zip(*graph.neighbours(u))), default=0.0)
                      for u in range(n)])
    measures = [lazy_measure(graph, u, alpha) for u in range(n)]
    found: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    row_of = np.full(n, -1)
    for block in _compact_blocks(A, chunk):
        need = np.unique(np.concatenate([measures[u][0] for u in block]))  # the block and its supports
        D, col = _local_distances(A, need, float(reach[block].max()) * (1 + 1e-9))
        row_of[need] = np.arange(need.size)
        for u in block:
            src, a = measures[u]
            nbrs = A.indices[A.indptr[u]:A.indptr[u + 1]]
            nbrs = nbrs[nbrs > u]
            Du = D[row_of[src]]
            d_uy = D[row_of[u], col[nbrs]]
            kappa = np.zeros(nbrs.size)
            for e, y in enumerate(nbrs):
                if d_uy[e] < ZERO_LENGTH * graph.scale * 10:
                    continue  # duplicate points: curvature 0, as GRC
                tgt, b = measures[y]
                kappa[e] = 1.0 - wasserstein1(a, b, Du[:, col[tgt]]) / d_uy[e]
            found[int(u)] = (nbrs, kappa)
    us = np.concatenate([np.full(found[u][0].size, u) for u in range(n)])
    return us, np.concatenate([found[u][0] for u in range(n)]), np.concatenate([found[u][1] for u in range(n)])


def _compact_blocks(A, size: int) -> list[np.ndarray]:
    """The nodes in blocks of about `size` that are compact in the graph metric: each block is the
    `size` unassigned nodes nearest (Dijkstra) to the first unassigned node in reverse Cuthill-McKee
    order, so a block's neighbourhood within a few edges is small."""
    n = A.shape[0]
    free = np.ones(n, dtype=bool)
    blocks = []
    for seed in reverse_cuthill_mckee(A, symmetric_mode=True):
        if not free[seed]:
            continue
        dist = dijkstra(A, directed=True, indices=int(seed))
        cand = np.flatnonzero(free & np.isfinite(dist))
        block = cand[np.argsort(dist[cand], kind="stable")[:size]]
        free[block] = False
        blocks.append(block)
    return blocks


def _local_distances(A, sources: np.ndarray, limit: float) -> tuple[np.ndarray, np.ndarray]:
    """Graph distances from `sources`, exact up to `limit` (inf beyond), searched on the subgraph within
    `limit` of the sources (every node of a path shorter than the limit lies there), so the work scales
    with that region, not with n. Returns (D, col): D[i, col[t]] is the distance from sources[i] to
    node t (col[t] = -1 outside the region)."""
    near = dijkstra(A, directed=True, indices=sources, limit=limit, min_only=True)
    region = np.flatnonzero(np.isfinite(near))
    col = np.full(A.shape[0], -1)
    col[region] = np.arange(region.size)
    return dijkstra(A[region][:, region], directed=True, indices=col[sources], limit=limit), col


def forman_edges(graph: KnnGraph, rows, weighted: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
    """Augmented Forman-Ricci curvature of every edge at each of `rows`: [(neighbour rows, F per edge)].

    weighted: edge weights are the lengths divided by the median k-NN length (node and face weights
    1, as GraphRicciCurvature); unweighted: all weights 1, F = 4 - deg u - deg v + 3 #triangles.
    Vectorised with sparse products restricted to the requested rows:
    triangles(u, v) = (A_R A)[u, v]; the sums over the edges of a triangle through (u, v) are
    (B_R A)[u, v] at u and (A_R B)[u, v] at v, with B = w^(-1/2) on the edges.
    """
    rows = np.atleast_1d(np.asarray(rows, dtype=np.int64))
    L = graph.lengths
    A = L.copy()
    A.data = np.ones_like(A.data)
    W = L.copy()
    W.data = L.data / graph.scale if weighted else np.ones_like(L.data)
    B = W.copy()
    B.data = 1.0 / np.sqrt(W.data)
    A_R, W_R = A[rows], W[rows]
    r, nb = np.repeat(np.arange(rows.size), np.diff(A_R.indptr)), A_R.indices  # the rows' edges, CSR order
    n_tri = _entries(A_R @ A, r, nb)
    fu = _entries(B[rows] @ A, r, nb)
    fv = _entries(A_R @ B, r, nb)
    b_sum = np.asarray(B.sum(axis=1)).ravel()  # sum over all edges at a node of w^(-1/2)
    we = W_R.data
    inv = 1.0 / np.sqrt(we)
    # edges at u (resp. v) other than (u, v) that close no triangle with it, weighted by w^(-1/2)
    rest = (b_sum[rows[r]] - inv - fu) + (b_sum[nb] - inv - fv)
    F = we * (n_tri * we + 2.0 / we - rest * inv)
    return [(nb[a:b], F[a:b]) for a, b in zip(A_R.indptr[:-1], A_R.indptr[1:])]


def _entries(M, r: np.ndarray, c: np.ndarray) -> np.ndarray:
    """M[r_i, c_i] of a sparse matrix in one vectorised lookup (0 where M has no entry): with sorted
    column indices, row-major keys row * ncols + col are sorted, so one searchsorted finds them all."""
    M = M.tocsr()
    M.sort_indices()
    ncols = np.int64(M.shape[1])
    keys = np.repeat(np.arange(M.shape[0], dtype=np.int64), np.diff(M.indptr)) * ncols + M.indices
    want = r.astype(np.int64) * ncols + c
    pos = np.minimum(np.searchsorted(keys, want), max(keys.size - 1, 0))
    out = np.zeros(r.size)
    if keys.size:
        hit = keys[pos] == want
        out[hit] = M.data[pos[hit]]
    return out


def forman_all_edges(graph: KnnGraph, weighted: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(u, v, F) of every edge u < v of the graph (what GraphRicciCurvature's FormanRicci computes)."""
    per_node = forman_edges(graph, np.arange(graph.n), weighted)
    us = np.concatenate([np.full(nb.size, u) for u, (nb, _) in enumerate(per_node)])
    vs = np.concatenate([nb for nb, _ in per_node])
    F = np.concatenate([f for _, f in per_node])
    keep = vs > us
    return us[keep], vs[keep], F[keep]


# ----------------------------------------------------------------------------- node values

def orc_node_values(graph: KnnGraph, rows, alpha: float, node_mean: str = "plain") -> np.ndarray:
    """Ollivier-Ricci node curvature at each row: the mean of kappa over its edges ("plain", GRC) or
    1 - sum W1 / sum d = the length-weighted mean ("length_weighted")."""
    out = []
    for u in rows:
        _, kappa = ollivier_ricci_edges(graph, int(u), alpha)
        if node_mean == "plain":
            out.append(kappa.mean())
        else:
            lengths = graph.neighbours(int(u))[1]
            out.append(float(kappa @ lengths / lengths.sum()))
    return np.array(out)


def forman_node_values(graph: KnnGraph, rows, weighted: bool) -> np.ndarray:
    """Forman-Ricci node value at each row: the mean of F over its edges (0 for an isolated node)."""
    return np.array([F.mean() if F.size else 0.0 for _, F in forman_edges(graph, rows, weighted)])


def mean_triangles(graph: KnnGraph, rows) -> np.ndarray:
    """Mean number of triangles per edge at each row (unweighted: F = 4 - deg u - deg v + 3 #tri)."""
    A = graph.lengths.copy()
    A.data[:] = 1.0
    A_R = A[np.asarray(rows)]
    tri = A_R.multiply(A_R @ A)  # triangles through each edge (u, v) at the rows
    return np.asarray(tri.sum(axis=1)).ravel() / np.maximum(np.diff(A_R.indptr), 1)


def flat_node_values(node_values: Callable[[KnnGraph, np.ndarray], np.ndarray], *, n: int, dim: int, knn: int,
                     flat_nodes: int, flat_draws: int, seed: int) -> np.ndarray:
    """Node values at `flat_nodes` interior nodes of each of `flat_draws` uniform d-ball samples with n
    points (the origin first) and the same k, all drawn from flat_rng(seed, dim): the rows are spread out
    and clear of the boundary (2.5 x the largest edge length at the centre), so the values are those of
    flat space. Returns them concatenated (flat_draws x flat_nodes values)."""
    rng = flat_rng(seed, dim)
    vals = []
    for _ in range(flat_draws):
        ball = uniform_ball(n, dim, rng, centre=True)
        g = knn_graph(ball, knn)
        rows = reference_rows(ball, flat_nodes, 2.5 * float(g.neighbours(0)[1].max()), rng)
        vals.append(node_values(g, rows))
    return np.concatenate(vals)


# ----------------------------------------------------------------------------- the curvatures

def ollivier_ricci_curvature(points: np.ndarray, eval_idx: np.ndarray, dim: int, *, seed: int, knn: int,
                             alpha: float, node_mean: str, output: str, flat_nodes: int,
                             flat_draws: int) -> Estimate:
    """Ollivier-Ricci node curvature at `eval_idx` (see the module docstring); diagnostics kappa, eps,
    degree, and kappa_flat for the *_minus_flat outputs."""
    if output not in ORC_OUTPUTS or node_mean not in NODE_MEANS:
        raise ValueError(f"ollivier_ricci: output must be one of {ORC_OUTPUTS} and node_mean one of {NODE_MEANS}, "
                         f"got {output!r}, {node_mean!r}")
    n = len(points)
    if not knn < n:
        raise ValueError(f"ollivier_ricci needs knn < n = {n}, got knn={knn}")
    graph = knn_graph(points, knn)
    kappa = orc_node_values(graph, eval_idx, alpha, node_mean)
    eps = np.array([graph.neighbours(int(u))[1].mean() for u in eval_idx])
    diag = {"kappa": kappa, "eps": eps,
            "degree": np.array([graph.degree(int(u)) for u in eval_idx], dtype=np.int64)}
    value = kappa
    if output.endswith("minus_flat"):
        k_flat = orc_flat_reference(n, dim, knn, alpha, node_mean, flat_nodes, flat_draws, seed)
        diag["kappa_flat"] = np.full(kappa.shape, k_flat)
        value = kappa - k_flat
    if output.startswith("scalar"):
        value = 2.0 * dim * (dim + 2) * value / eps ** 2
    return Estimate(values=value, diagnostics=diag)


def orc_flat_reference(n: int, dim: int, knn: int, alpha: float, node_mean: str, flat_nodes: int, flat_draws: int,
                       seed: int) -> float:
    """kappa_flat: the trimmed mean Ollivier-Ricci node curvature of `flat_node_values`."""
    vals = flat_node_values(lambda g, rows: orc_node_values(g, rows, alpha, node_mean), n=n, dim=dim, knn=knn,
                            flat_nodes=flat_nodes, flat_draws=flat_draws, seed=seed)
    return float(trim_mean(vals, FLAT_TRIM))


def forman_ricci_curvature(points: np.ndarray, eval_idx: np.ndarray, dim: int, *, seed: int, knn: int,
                           weighted: bool, output: str, flat_nodes: int, flat_draws: int) -> Estimate:
    """Augmented Forman-Ricci node value at `eval_idx` (see the module docstring); diagnostics forman, degree,
    triangles, and forman_flat for output "minus_flat"."""
    if output not in FORMAN_OUTPUTS:
        raise ValueError(f"forman_ricci output must be one of {FORMAN_OUTPUTS}, got {output!r}")
    n = len(points)
    if not knn < n:
        raise ValueError(f"forman_ricci needs knn < n = {n}, got knn={knn}")
    graph = knn_graph(points, knn)
    F = forman_node_values(graph, eval_idx, weighted)
    diag = {"forman": F,
            "degree": np.array([graph.degree(int(u)) for u in eval_idx], dtype=np.int64),
            "triangles": mean_triangles(graph, eval_idx)}
    if output == "raw":
        return Estimate(values=F, diagnostics=diag)
    F_flat = float(np.mean(flat_node_values(lambda g, rows: forman_node_values(g, rows, weighted), n=n, dim=dim,
                                            knn=knn, flat_nodes=flat_nodes, flat_draws=flat_draws, seed=seed)))
    diag["forman_flat"] = np.full(F.shape, F_flat)
    return Estimate(values=F - F_flat, diagnostics=diag)
