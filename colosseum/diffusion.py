"""Diffusion building blocks shared by the diffusion-curvature family (and diffusion-ORC).

Kernels (fixed, adaptive, curvature-agnostic with the bandwidth tuned to a target neighbourhood
size), anisotropic alpha-normalisation, the Markov operator, and the rows of P^t for the
evaluation points only (row vectors times P, dense for small n, sparse for large n).
Flat comparison spaces are pluggable (`register_comparison`): the uniform ball is built in;
neural flatteners add theirs.

Scale: every kernel here is scale-free (bandwidths come from neighbour distances), so rotating,
translating or uniformly scaling a cloud leaves P unchanged.

The neighbour search and sparse products use scipy (cKDTree, CSR): on CPU they beat anything
written in jnp for this; the dense path and the per-row statistics run in JAX.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

#: Clouds up to this many points use dense matrices; larger ones a sparse truncated kernel.
DENSE_MAX = 3000


@dataclass(frozen=True)
class KernelSpec:
    """How the affinity graph is built.

    kind: "agnostic" (Gaussian exp(-d^2/sigma^2), sigma = nu * mean nearest-neighbour distance,
          nu tuned by bisection so that the median row support matches `knn`),
          "fixed" (the same with nu given), or "adaptive" (sigma_i = distance to the knn-th
          neighbour, exp(-d^2 / (sigma_i sigma_j))).
    knn: target median support (agnostic) or neighbour rank of the bandwidth (adaptive).
    nu: bandwidth factor for "fixed" (ignored otherwise).
    alpha: anisotropic normalisation W <- Q^-alpha W Q^-alpha (0: none, 1: density-free).
    cutoff: kernel values below it are set to 0 (sparse support).
    tolerance: accepted distance of the median support from `knn` when tuning.
    """

    kind: str = "agnostic"
    knn: int = 40
    nu: float = 1.0
    alpha: float = 0.0
    cutoff: float = 1e-5
    tolerance: int = 3

    def __post_init__(self) -> None:
        if self.kind not in ("agnostic", "fixed", "adaptive"):
            raise ValueError(f"kernel kind must be agnostic, fixed or adaptive, got {self.kind!r}")
        if self.knn < 2 or not 0 < self.cutoff < 1 or self.nu <= 0 or not 0 <= self.alpha <= 1:
            raise ValueError(f"bad kernel parameters: {self}")


@dataclass(frozen=True)
class Graph:
    """A Markov operator on a cloud: P (dense ndarray or CSR), and the bandwidth factor used."""

    P: np.ndarray | sp.csr_matrix
    nu: float
    sigma: float

    @property
    def n(self) -> int:
        return self.P.shape[0]


def _nn_distances(tree: cKDTree, points: np.ndarray, k: int) -> np.ndarray:
    d, _ = tree.query(points, k=min(k + 1, len(points)))
    return d[:, 1:]  # drop the point itself


def _agnostic_support_radius(nu: float, scale: float, cutoff: float) -> float:
    return nu * scale * math.sqrt(math.log(1.0 / cutoff))


def tune_nu(points: np.ndarray, spec: KernelSpec, tree: cKDTree | None = None) -> float:
    """Bisection on nu in [0, 10] until the median number of kernel entries >= cutoff per row
    (self included) is within `tolerance` of `spec.knn`.

    An entry survives the cutoff iff d <= nu * scale * sqrt(log(1/cutoff)), so the support is a
    radius count, read off sorted neighbour distances without building any kernel.
    """
    tree = tree or cKDTree(points)
    n = len(points)
    kmax = min(n - 1, 3 * spec.knn + 10)
    dist = _nn_distances(tree, points, kmax)
    scale = float(dist[:, 0].mean())
    if scale <= 0:
        raise ValueError("the cloud has duplicate points only: no nearest-neighbour scale")

    def median_support(nu: float) -> float:
        r = _agnostic_support_radius(nu, scale, spec.cutoff)
        return float(np.median(1 + np.sum(dist <= r, axis=1)))

    lo, hi = 0.0, 10.0
    nu = 1.0
    for _ in range(60):
        nu = 0.5 * (lo + hi)
        s = median_support(nu)
        if abs(s - spec.knn) <= spec.tolerance:
            break
        lo, hi = (nu, hi) if s < spec.knn else (lo, nu)
    return nu


def mean_nn_distance(points: np.ndarray, tree: cKDTree | None = None) -> float:
    tree = tree or cKDTree(points)
    return float(_nn_distances(tree, points, 1)[:, 0].mean())


def build_graph(points: np.ndarray, spec: KernelSpec, nu: float | None = None) -> Graph:
    """The Markov operator P = D^-1 (W + 1e-8 I) of the kernel `spec` on `points`: `build_graph_sparse`,
    with P dense for n <= DENSE_MAX (CSR beyond).

    For "agnostic" a given `nu` is reused (as on a comparison space: same nu, sigma from its own
    distances); otherwise it is tuned.
    """
    graph = build_graph_sparse(points, spec, nu)
    if graph.P.shape[0] <= DENSE_MAX:
        return Graph(P=graph.P.toarray(), nu=graph.nu, sigma=graph.sigma)
    return graph


def _pairs(tree: cKDTree, points: np.ndarray, radius: float, n: int) -> sp.coo_matrix:
    """Distances of all pairs (i != j) closer than `radius`, as a symmetric COO matrix."""
    coo = tree.sparse_distance_matrix(tree, radius, output_type="coo_matrix")
    keep = coo.row != coo.col
    return sp.coo_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=(n, n))


def power_rows(P: np.ndarray | sp.csr_matrix, rows: np.ndarray, t_max: int) -> np.ndarray:
    """Rows `rows` of P^1 .. P^t_max, shape (t_max, len(rows), n), by row-vector products only."""
    rows = np.asarray(rows)
    n = P.shape[0]
    if sp.issparse(P):
        PT = P.T.tocsr()
        v = np.zeros((n, len(rows)))
        v[rows, np.arange(len(rows))] = 1.0
        out = np.empty((t_max, len(rows), n))
        for t in range(t_max):
            v = PT @ v
            out[t] = v.T
        return out
    return np.asarray(_dense_power_rows(jnp.asarray(P), jnp.asarray(rows), t_max))


@functools.partial(jax.jit, static_argnums=2)
def _dense_power_rows(P, rows, t_max):
    def step(v, _):
        return v @ P, v
    _, out = jax.lax.scan(step, P[rows], None, length=t_max)  # out[t] = rows of P^(t+1)
    return out


# ----------------------------------------------------------------------------- row statistics

def clean_distribution(p: jax.Array, floor: float = 1e-5) -> jax.Array:
    """Zero entries <= floor and renormalise (rows along the last axis)."""
    p = jnp.where(p > floor, p, 0.0)
    return p / jnp.sum(p, axis=-1, keepdims=True)


@jax.jit
def entropy(p: jax.Array) -> jax.Array:
    """Shannon entropy in nats along the last axis (after `clean_distribution`)."""
    q = clean_distribution(p)
    return -jnp.sum(jnp.where(q > 0, q * jnp.log(jnp.where(q > 0, q, 1.0)), 0.0), axis=-1)


def _kl(p, q):
    return jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0) / jnp.where(q > 0, q, 1.0)), 0.0),
                   axis=-1)


@jax.jit
def js_divergence(p: jax.Array, q: jax.Array) -> jax.Array:
    """Jensen-Shannon divergence (nats) between distributions along the last axis."""
    p, q = clean_distribution(p), clean_distribution(q)
    m = 0.5 * (p + q)
    return 0.5 * _kl(p, m) + 0.5 * _kl(q, m)


def trajectory(rows_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Entropy H(t) and diffusion-trajectory length d(t) (cumulative sqrt JS between consecutive
    steps, d(1) = 0) of P^t rows shaped (T, m, n); both returned as (T, m)."""
    r = jnp.asarray(rows_t)
    H = entropy(r)
    steps = jnp.sqrt(jnp.maximum(js_divergence(r[1:], r[:-1]), 0.0))
    d = jnp.concatenate([jnp.zeros((1, r.shape[1])), jnp.cumsum(steps, axis=0)])
    return np.asarray(H), np.asarray(d)


def interp_curve(x: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """Linear interpolation of the curve (xp, fp) (xp increasing along axis 0) at x, per column."""
    xp, fp = np.atleast_2d(xp.T).T, np.atleast_2d(fp.T).T
    x = np.broadcast_to(np.asarray(x, dtype=float), (xp.shape[1],))
    return np.array([np.interp(x[j], xp[:, j], fp[:, j]) for j in range(xp.shape[1])])


# ----------------------------------------------------------------------------- comparison spaces

#: A comparison space: (points, eval row, dim, n, rng) -> (n', dim) flat sample, its centre at row 0.
Comparison = Callable[[np.ndarray, int, int, int, np.random.Generator], np.ndarray]
_COMPARISONS: dict[str, Comparison] = {}


def register_comparison(name: str):
    """Register a flat comparison space (neural flatteners add theirs)."""
    def deco(fn: Comparison) -> Comparison:
        _COMPARISONS[name] = fn
        return fn
    return deco


def comparison(name: str) -> Comparison:
    if name not in _COMPARISONS:
        raise ValueError(f"unknown comparison space {name!r}; known: {', '.join(sorted(_COMPARISONS))}")
    return _COMPARISONS[name]


def uniform_ball_sample(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """n points uniform in the unit dim-ball, the origin as row 0."""
    g = rng.standard_normal((n - 1, dim))
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    return np.concatenate([np.zeros((1, dim)), g * rng.uniform(size=(n - 1, 1)) ** (1.0 / dim)])


@register_comparison("uniform")
def uniform_comparison(points: np.ndarray, eval_row: int, dim: int, n: int,
                       rng: np.random.Generator) -> np.ndarray:
    """A uniform sample of the unit d-ball with as many points as the data (the kernel is scale-free)."""
    return uniform_ball_sample(n, dim, rng)


def local_pca_dimension(points: np.ndarray, rows: np.ndarray, k: int = 50, threshold: float = 0.9) -> int:
    """Median over `rows` of the number of principal components explaining `threshold` of the
    variance of each row's k nearest neighbours."""
    tree = cKDTree(points)
    _, idx = tree.query(points[rows], k=min(k + 1, len(points)))
    dims = []
    for nb in idx:
        x = points[nb] - points[nb].mean(axis=0)
        s = np.linalg.svd(x, compute_uv=False) ** 2
        dims.append(int(np.searchsorted(np.cumsum(s) / s.sum(), threshold) + 1))
    return max(1, min(int(np.median(dims)), points.shape[1] - 1))


# ----------------------------------------------------------------------------- graphtools-style kernel
# (appended for dc_wasserstein / dc_peer parity with the PyPI package diffusion-curvature 0.0.3,
#  which builds its graphs with graphtools.Graph)

def graphtools_kernel(points: np.ndarray, *, knn: int = 5, decay: float = 40.0, thresh: float = 1e-4,
                      anisotropy: float = 0.0) -> sp.csr_matrix:
    """The symmetric affinity matrix K that `graphtools.Graph(points, knn=, decay=, thresh=, anisotropy=)`
    (graphtools 2.x, kNN graph, defaults knn 5, decay 40, thresh 1e-4, anisotropy 0) builds.

    sigma_i = distance from x_i to its knn-th nearest neighbour (itself not counted);
    K_ij = exp(-(d_ij / sigma_i)^decay), entries below `thresh` dropped (before symmetrising;
    the diagonal is exp(0) = 1); K <- (K + K^T) / 2; then the anisotropic normalisation
    K_ij <- K_ij / (q_i q_j)^anisotropy with q the row sums. The random walk is P = K / rowsum(K)
    (`markov`). Scale-free: sigma comes from neighbour distances. Returns float64 CSR.
    """
    points = np.asarray(points, dtype=np.float64)
    n = len(points)
    if not 1 <= knn < n or decay <= 0 or not 0 < thresh < 1 or not 0 <= anisotropy <= 1:
        raise ValueError(f"bad graphtools kernel parameters: knn={knn} (n={n}), decay={decay}, "
                         f"thresh={thresh}, anisotropy={anisotropy}")
    tree = cKDTree(points)
    kq = min(n, 2 * knn + 11)
    dist, nbr = tree.query(points, k=kq)
    sigma = np.maximum(dist[:, knn], np.finfo(float).eps)  # column 0 is the point itself
    radius = sigma * (-math.log(thresh)) ** (1.0 / decay)  # exp(-(d/sigma)^decay) >= thresh  <=>  d <= radius
    rows = np.repeat(np.arange(n), kq)
    cols, dist = nbr.ravel(), dist.ravel()
    short = np.flatnonzero(dist.reshape(n, kq)[:, -1] <= radius) if kq < n else np.array([], dtype=np.int64)
    if short.size:  # rows whose kernel reaches beyond the kq-th neighbour: all points within their radius
        keep_q = ~np.isin(rows, short)
        balls = tree.query_ball_point(points[short], radius[short] * (1 + 1e-12))
        counts = np.fromiter((len(b) for b in balls), dtype=np.int64, count=len(short))
        extra_r = np.repeat(short, counts)
        extra_c = np.fromiter((j for b in balls for j in b), dtype=np.int64, count=int(counts.sum()))
        rows = np.concatenate([rows[keep_q], extra_r])
        cols = np.concatenate([cols[keep_q], extra_c])
        dist = np.concatenate([dist[keep_q], np.linalg.norm(points[extra_r] - points[extra_c], axis=1)])
    w = np.exp(-((dist / sigma[rows]) ** decay))
    keep = w >= thresh
    K = sp.csr_matrix((w[keep], (rows[keep], cols[keep])), shape=(n, n))
    K = ((K + K.T) * 0.5).tocsr()
    if anisotropy > 0:
        q = np.asarray(K.sum(axis=1)).ravel() ** -anisotropy
        K = (sp.diags(q) @ K @ sp.diags(q)).tocsr()
    K.sort_indices()
    return K


def markov(K: sp.csr_matrix) -> sp.csr_matrix:
    """The random-walk matrix P = diag(K 1)^-1 K of an affinity matrix (CSR)."""
    return (sp.diags(1.0 / np.asarray(K.sum(axis=1)).ravel()) @ K).tocsr()


def uniform_cube_sample(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """n points uniform in the cube [-1, 1]^dim, the origin as row 0 (the flat facsimile of the PyPI
    package diffusion-curvature 0.0.3, drawn here from a seeded generator)."""
    return np.concatenate([np.zeros((1, dim)), rng.uniform(-1.0, 1.0, size=(n - 1, dim))])


@register_comparison("cube")
def cube_comparison(points: np.ndarray, eval_row: int, dim: int, n: int,
                    rng: np.random.Generator) -> np.ndarray:
    """A uniform sample of the cube [-1, 1]^d with as many points as the data (diffusion-curvature 0.0.3)."""
    return uniform_cube_sample(n, dim, rng)


# ----------------------------------------------------------------------------- fast tuning (dc_entropy, dc_laziness)

def tune_nu_fast(points: np.ndarray, spec: KernelSpec, tree: cKDTree | None = None) -> float:
    """The same nu as `tune_nu` (same bisection on the same support counts, capped at 3 * knn + 11),
    computed faster on large clouds.

    `tune_nu` sorts the 3 * knn + 10 nearest neighbours of every point, a query whose cost grows much
    faster than linearly in knn. Here only the knn + tolerance + 1 nearest are sorted: the median
    support is exact whenever the middle order statistics stay below that cap, and when they do not
    the median is either certainly above knn + tolerance (the bisection step is then the same) or it
    is recounted exactly with one radius count (`query_ball_point(return_length=True)`).
    About 2-4x faster at n = 20 000 (knn 120-300).
    """
    points = np.asarray(points, dtype=np.float64)
    tree = tree or cKDTree(points)
    n = len(points)
    kmax = min(n - 1, 3 * spec.knn + 10)
    kq = min(kmax, spec.knn + spec.tolerance + 1)
    dist = _nn_distances(tree, points, kq)
    scale = float(dist[:, 0].mean())
    if scale <= 0:
        raise ValueError("the cloud has duplicate points only: no nearest-neighbour scale")
    middle = [(n - 1) // 2, n // 2]  # the order statistics np.median averages

    def median_support(nu: float) -> float:
        r = _agnostic_support_radius(nu, scale, spec.cutoff)
        counts = 1 + np.sum(dist <= r, axis=1)  # exact below kq + 1, "at least kq + 1" at it
        mid = np.partition(counts, middle)[middle]
        s = float(mid.mean())
        if mid.max() <= kq or s > spec.knn + spec.tolerance:
            return s  # exact, or certainly above the band (then the bisection step is the same)
        counts = np.asarray(tree.query_ball_point(points, r, return_length=True))  # self included
        return float(np.median(np.minimum(counts, kmax + 1)))

    lo, hi = 0.0, 10.0
    nu = 1.0
    for _ in range(60):
        nu = 0.5 * (lo + hi)
        s = median_support(nu)
        if abs(s - spec.knn) <= spec.tolerance:
            break
        lo, hi = (nu, hi) if s < spec.knn else (lo, nu)
    return nu


# ----------------------------------------------------------------------------- per-point helpers (dc_entropy, dc_laziness)

#: Comparison spaces that do not depend on the evaluation point: drawn once per trial (and dimension).
POINT_INDEPENDENT_COMPARISONS = frozenset({"uniform", "cube"})


def point_dimensions(points: np.ndarray, eval_idx: np.ndarray, dim: int, source: str = "given") -> np.ndarray:
    """The intrinsic dimension used at each evaluation row: `dim` ("given"), or a local-PCA estimate
    made at that row alone ("local_pca", `local_pca_dimension` on its 50 neighbours), so that the value
    at a row never depends on which other rows are evaluated."""
    eval_idx = np.asarray(eval_idx)
    if source == "given":
        return np.full(eval_idx.shape, int(dim), dtype=np.int64)
    if source == "local_pca":
        return np.array([local_pca_dimension(points, np.array([x])) for x in eval_idx], dtype=np.int64)
    raise ValueError(f"dim_source must be 'given' or 'local_pca', got {source!r}")


def comparison_stats(name: str, points: np.ndarray, eval_idx: np.ndarray, dims: np.ndarray, *, trials: int,
                     seed: int, stat: Callable[[np.ndarray], np.ndarray]) -> list[list[np.ndarray]]:
    """`stat(E)` of every comparison draw E (centre at row 0) for every evaluation row: a list (one
    entry per row of `eval_idx`) of lists (one per trial).

    Point-independent spaces (`POINT_INDEPENDENT_COMPARISONS`) are drawn once per trial and dimension
    from `default_rng([seed, d])`; the others once per trial and row from `default_rng([seed, d, x])`.
    Either way the draws at a row depend only on (seed, d, x), never on the other rows evaluated.
    """
    flat = comparison(name)
    n = len(points)
    out: list[list[np.ndarray]] = []
    shared: dict[int, list[np.ndarray]] = {}
    for x, d in zip(np.asarray(eval_idx).tolist(), np.asarray(dims).tolist()):
        if name in POINT_INDEPENDENT_COMPARISONS:
            if d not in shared:
                rng = np.random.default_rng([int(seed), int(d)])
                shared[d] = [stat(flat(points, int(x), int(d), n, rng)) for _ in range(trials)]
            out.append(shared[d])
        else:
            rng = np.random.default_rng([int(seed), int(d), int(x)])
            out.append([stat(flat(points, int(x), int(d), n, rng)) for _ in range(trials)])
    return out


def trajectory_rows(P: np.ndarray | sp.csr_matrix, rows: np.ndarray, t_max: int,
                    max_elements: int = 20_000_000) -> tuple[np.ndarray, np.ndarray]:
    """`trajectory(power_rows(P, rows, t_max))` in chunks of rows, so that no more than about
    `max_elements` entries of P^t rows are held at once; H and d shaped (t_max, len(rows)), float64.

    The statistics run in JAX's default precision (float32 unless x64 is on): on a 20 000-point cap
    they differ from a float64 run by ~1e-6 nats and are ~1.5x faster. A dense P is converted to CSR
    first: with ~knn entries per row the sparse row products are ~5x faster than the dense ones even
    at n = 3000 (the dense product reads all n^2 entries at every step).
    """
    rows = np.asarray(rows)
    P = P if sp.issparse(P) else sp.csr_matrix(P)
    chunk = max(1, int(max_elements // (t_max * P.shape[0])))
    H, d = [], []
    for i in range(0, len(rows), chunk):
        h, dd = trajectory(power_rows(P, rows[i:i + chunk], t_max))
        H.append(np.asarray(h, dtype=np.float64))
        d.append(np.asarray(dd, dtype=np.float64))
    return np.concatenate(H, axis=1), np.concatenate(d, axis=1)


def build_graph_sparse(points: np.ndarray, spec: KernelSpec, nu: float | None = None) -> Graph:
    """The Markov operator P = D^-1 (W + 1e-8 I) of the kernel `spec` on `points`, always CSR.

    Agnostic kernels tune nu with `tune_nu_fast` (the same nu as `tune_nu`, tested) unless `nu` is
    given; adaptive kernels search each point's pairs within its own reach
    sqrt(sigma_i * max sigma * log(1/cutoff)), not the largest reach for every point (90 s -> ~2 s at
    n = 20 000 on a cap, whose rim points have large sigma_i).
    """
    points = np.asarray(points, dtype=np.float64)
    n = len(points)
    tree = cKDTree(points)
    if spec.kind == "adaptive":
        dist = _nn_distances(tree, points, spec.knn)
        bw = dist[:, -1]
        nu_used, sigma = float("nan"), float(np.median(bw))
        reach = np.sqrt(bw * float(bw.max()) * math.log(1.0 / spec.cutoff))
        nbrs = tree.query_ball_point(points, reach)
        counts = np.fromiter((len(b) for b in nbrs), dtype=np.int64, count=n)
        rows = np.repeat(np.arange(n), counts)
        cols = np.fromiter((j for b in nbrs for j in b), dtype=np.int64, count=int(counts.sum()))
        keep = rows != cols
        rows, cols = rows[keep], cols[keep]
        d = np.linalg.norm(points[rows] - points[cols], axis=1)
        W = sp.coo_matrix((np.exp(-d ** 2 / (bw[rows] * bw[cols])), (rows, cols)), shape=(n, n))
    else:
        nu_used = tune_nu_fast(points, spec, tree) if (spec.kind == "agnostic" and nu is None) else (
            float(nu) if nu is not None else spec.nu)
        sigma = nu_used * mean_nn_distance(points, tree)
        W = _pairs(tree, points, _agnostic_support_radius(nu_used, sigma / nu_used, spec.cutoff), n)
        W.data = np.exp(-W.data ** 2 / sigma ** 2)
    W.data[W.data < spec.cutoff] = 0.0
    W = W.tocsr()
    W = W + sp.identity(n, format="csr")  # self-loops (distance 0): exp(0) = 1
    W.eliminate_zeros()
    if spec.alpha > 0:
        q = np.asarray(W.sum(axis=1)).ravel() ** -spec.alpha
        W = sp.diags(q) @ W @ sp.diags(q)
    W = W + 1e-8 * sp.identity(n, format="csr")
    P = sp.diags(1.0 / np.asarray(W.sum(axis=1)).ravel()) @ W
    return Graph(P=P.tocsr(), nu=nu_used, sigma=sigma)
