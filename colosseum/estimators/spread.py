"""The Wasserstein spread of a diffusion against a flat comparison space (dc_wasserstein's engine).

The algorithm of the PyPI package diffusion-curvature 0.0.3 (`diffusion_curvature/graphtools.py`,
`distances.py`; Bhaskar et al.), re-implemented:

- graph: the graphtools kNN kernel (sigma_i = distance to the knn-th neighbour,
  K = exp(-(d / sigma_i)^decay), entries < thresh dropped, (K + K^T)/2, anisotropic normalisation),
  P = D^-1 K (`colosseum.estimators.kernels.graphtools_kernel`; equal to graphtools' P to ~1e-7);
- PHATE distance D(x, y) = || log(P^t_x + eps) - log(P^t_y + eps) ||_2 with eps = 1e-6;
- spread W(x) = sum_y P^t(x, y) D(x, y);
- curvature k(x) = 1 - W_M(x) / W_E, where W_E is the spread at the centre (row 0) of a flat
  comparison sample with as many points as the data, built with the same kernel parameters.
  k > 0: the walk spreads less than in flat space (positive curvature). k is a signed score,
  not calibrated scalar curvature.

Differences from the package, on purpose: the flat samples come from `seed` (the package draws its
one from the unseeded global NumPy RNG), W_E is averaged over `comparison_trials` draws (the package
uses one; draws by `colosseum.estimators.flat.comparison_stats`, so that they never depend on which
other rows are evaluated), the flat space is a parameter (`comparison`: "uniform" unit d-ball by default,
"cube" is the package's [-1, 1]^d), and instead of the package's dense float64 n x n matrices (P^t by
matrix_power, all pairwise distances) only what is needed is computed, in float32:

- backend "dense" (n <= DENSE_MAX): with A = D^-1/2 K D^-1/2 symmetric, P^t = D^-1/2 A^t D^1/2.
  Points are put in k-d tree order, so a block of rows of A^j is nonzero on few columns; rows of
  A^j come from A^j1[R] @ A^j2[K] (K: the columns those rows use), sparse products while they are
  cheap, dense block products after, a full square with little structure to skip by one BLAS ssyrk
  (half the flops of a product). For every row, the Gram matrix of the log rows (one ssyrk, or
  blocks); for a few rows, D(x, y) straight from the log rows of their supports. The sum keeps every
  y with P^t >= 1e-10 (the rest changes W by < 1e-6 relative).
- backend "local" (any n, never an n x n matrix): per evaluation point x, the y carrying
  `support_mass` of P^t_x (the mass left out carried at the mean distance of the support's far
  edge: ~1e-4 relative at 0.999; 1.0: the exact sum); their rows P^t_y are propagated on the
  sub-graph Z = the t-hop neighbourhood of those y (t-step walks from them never leave Z, so the
  rows are exact), in chunks (memory |Z| x 512 float32); when n <= DENSE_MAX and the support is a
  quarter of the cloud or more, they come from the dense products instead. With `max_support` > 0,
  supports larger than that are replaced by a midpoint quadrature over the cumulative mass of P^t_x
  (max_support nodes, equal shares of the mass; measured on a 4-D cap: ~0.3 % error at 1024 nodes,
  ~0.1 % at 2048), the only way to keep 4-D clouds of 10^4 points (supports of 10^4 points) fast.
- "auto": dense when n <= DENSE_SMALL, or when n <= DENSE_MAX and a quarter of the rows or more are
  evaluated; local otherwise.
The backends agree to ~3e-4 relative on W (truncation, float32 rounding: see the tests); within one
backend an estimate depends on which other rows are evaluated only through float32 rounding (~5e-5).
"""
from __future__ import annotations

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
from scipy.linalg import blas
from scipy.spatial import cKDTree

from ..contract import Estimate
from .flat import ComparisonSpace, comparison_stats
from .kernels import graphtools_kernel, markov
from .walks import last_power_rows, truncate

#: The dense (all rows) backend is used up to this many points: it holds three float32 n x n arrays.
DENSE_MAX = 8000
#: Up to this many points "auto" always takes the dense backend (it costs well under a second).
DENSE_SMALL = 2048
#: Columns propagated at once by the local backend (memory |Z| * _CHUNK float32).
_CHUNK = 512
#: Rows per block of the dense backend.
_BLOCK = 256
#: Cost of a multiply-add in a sparse (CSR) product, in BLAS float32 multiply-adds (a rough model).
_SPARSE_COST = 100.0
#: Dense backend: P^t entries below P_FLOOR are left out of the spread (their total effect on W is
#: below 1e-6 relative), and distance coordinates where both log rows are below L_FLOOR
#: (P^t < 1e-10) are left out of a block's distances (< 1e-6 absolute on D^2).
P_FLOOR, L_FLOOR = 1e-10, 1e-4


# ----------------------------------------------------------------------------- dense backend
# Everything in a spatially coherent order (k-d tree leaves), so that a block of rows of A^k or P^t
# is nonzero on few columns; products, distances and sums skip the zero structure block by block
# and fall back to one BLAS call when there is little to skip.

def _fill_upper(U: np.ndarray) -> np.ndarray:
    """Copy the lower triangle of the C-ordered square U onto its upper triangle (in place, blocked)."""
    n = len(U)
    for r0 in range(0, n, _BLOCK):
        r1 = min(r0 + _BLOCK, n)
        blk = U[r0:r1, r0:r1]
        U[r0:r1, r0:r1] = np.tril(blk) + np.tril(blk, -1).T
        if r1 < n:
            U[r0:r1, r1:] = U[r1:, r0:r1].T
    return U


def _gram(X: np.ndarray) -> np.ndarray:
    """X X^T for a C-ordered float32 X, by ssyrk (one triangle), returned full and C-ordered."""
    # X.T is X^T in Fortran order (no copy); syrk(trans=1) gives (X^T)^T X^T = X X^T, upper triangle
    C = blas.ssyrk(1.0, X.T, trans=1)
    return _fill_upper(C.T)  # C is Fortran-ordered with its upper triangle set: C.T is C-ordered, lower


def _blocks(R: np.ndarray):
    for b0 in range(0, len(R), _BLOCK):
        yield slice(b0, b0 + _BLOCK), R[b0:b0 + _BLOCK]


class _RowPowers:
    """Rows of A^j (A symmetric sparse, spatially ordered), computed on demand:
    A^j[R] = A^j1[R] @ A^j2[K] (j1 = j // 2, j2 = j - j1), K the columns where the rows A^j1[R]
    are nonzero. A sparse product while that is cheaper (a sparse multiply-add costs about
    _SPARSE_COST BLAS ones); else dense float32, each block of rows multiplied on its own nonzero
    columns (a row gather of A^j2[K], no column gather); a full square with little zero structure
    to skip is one ssyrk (half the flops of a product). Returns CSR or a dense float32 array."""

    def __init__(self, A: sp.csr_matrix):
        self.A, self.n = A, A.shape[0]
        self.full: dict[int, np.ndarray | sp.csr_matrix] = {}

    def rows(self, j: int, R: np.ndarray) -> np.ndarray | sp.csr_matrix:
        n, every = self.n, len(R) == self.n
        if every and j in self.full:
            return self.full[j]
        if j == 1:
            out = self.A[R]
        else:
            j1, j2 = j // 2, j - j // 2
            X = self.rows(j1, R)
            Xb = [X[sl] for sl, _ in _blocks(R)]
            kb = [np.unique(x.indices) if sp.issparse(x) else np.flatnonzero((x != 0).any(axis=0)) for x in Xb]
            K = np.unique(np.concatenate(kb))
            Y = self.rows(j2, K)
            pos = np.full(n, -1, dtype=np.int64)
            pos[K] = np.arange(len(K))
            dense_cost = sum(float(x.shape[0]) * len(k) for x, k in zip(Xb, kb)) * n
            sparse_cost = np.inf
            if sp.issparse(X) and sp.issparse(Y):
                sparse_cost = float(np.diff(Y.indptr)[pos[X.indices]].sum())
            if _SPARSE_COST * sparse_cost < dense_cost:
                out = (X[:, K] @ Y).tocsr()
            else:
                square = Y is X  # A^j1 squared: convert it once
                X = _dense(X)
                Y = X if square else _dense(Y)
                if every and j1 == j2 and dense_cost > 0.25 * float(n) ** 3:
                    out = _gram(X)  # X = A^j1 symmetric: X X^T = A^j
                elif dense_cost > 0.8 * float(len(R)) * len(K) * n:
                    out = X[:, K] @ Y
                else:
                    out = np.empty((len(R), n), dtype=np.float32)
                    for (sl, _), k in zip(_blocks(R), kb):
                        out[sl] = X[sl][:, k] @ Y[pos[k]]
        if every:
            self.full[j] = out
        return out


def _dense(M: np.ndarray | sp.spmatrix) -> np.ndarray:
    return M.astype(np.float32).toarray() if sp.issparse(M) else M


class _Dense:
    """The symmetric operator A = D^-1/2 K D^-1/2 of a cloud in k-d tree order, and rows of
    P^t = D^-1/2 A^t D^1/2 from it (dense float32; n <= DENSE_MAX)."""

    def __init__(self, points: np.ndarray, K: sp.csr_matrix):
        n = K.shape[0]
        self.perm = cKDTree(points).indices  # new position i holds old point perm[i]
        self.inv = np.empty(n, dtype=np.int64)
        self.inv[self.perm] = np.arange(n)
        Kp = K[self.perm][:, self.perm].tocsr()
        s = 1.0 / np.sqrt(np.asarray(Kp.sum(axis=1)).ravel())
        self.A = (sp.diags(s) @ Kp @ sp.diags(s)).tocsr()
        self.s32, self.r32 = s.astype(np.float32), (1.0 / s).astype(np.float32)
        self.powers = _RowPowers(self.A)  # full powers are shared by the calls on this one graph

    def pt_rows(self, R: np.ndarray, t: int) -> np.ndarray:
        """Rows R (new, spatial order, sorted) of P^t, columns in the new order (a new array)."""
        out = np.multiply(_dense(self.powers.rows(t, R)), self.s32[R][:, None])
        out *= self.r32[None, :]
        if len(R) == len(self.perm):  # every row: the powers kept so far are no longer needed
            self.powers.full.clear()
        return out

    def spread_all(self, t: int, eps: float) -> np.ndarray:
        """W at every point (original order), all y with P^t >= P_FLOOR."""
        return _spread_all(self.pt_rows(np.arange(len(self.perm)), t), np.float32(1.0 / eps))[self.inv]

    def spread(self, rows: np.ndarray, t: int, eps: float) -> np.ndarray:
        """W at original `rows`, all y with P^t >= P_FLOOR: every row at once when a quarter of the
        rows or more are asked for, else the asked rows, the rows of their supports, and D(x, y)
        straight from the log rows."""
        n = len(self.perm)
        if 4 * len(rows) >= n:
            return self.spread_all(t, eps)[rows]
        R = np.unique(self.inv[rows])
        if n <= DENSE_SMALL:  # small: all of P^t at once costs less than working out which rows
            Pt = self.pt_rows(np.arange(n), t)
            Pr, ys = Pt[R], np.arange(n)
            L = np.log1p(Pt * np.float32(1.0 / eps))
        else:
            Pr = self.pt_rows(R, t)
            ys = np.flatnonzero((Pr > P_FLOOR).any(axis=0))  # new order
            if 2 * len(ys) >= n:  # most rows: the full square (one ssyrk) is cheaper
                ys = np.arange(n)
            L = np.log1p(self.pt_rows(ys, t) * np.float32(1.0 / eps))  # rows ys, columns in the new order
        W = np.empty(len(R))
        for i in range(len(R)):
            y = np.flatnonzero(Pr[i] > P_FLOOR)
            D = _distances_rows(L[np.searchsorted(ys, y)], np.log1p(Pr[i] * np.float32(1.0 / eps)))
            W[i] = float(Pr[i, y].astype(np.float64) @ D)
        return W[np.searchsorted(R, self.inv[rows])]

    def log_rows(self, ys: np.ndarray, t: int, eps: float) -> np.ndarray:
        """log1p(P^t_y / eps) for original rows ys, columns in the original order."""
        R = np.unique(self.inv[ys])
        if 2 * len(R) >= len(self.perm):  # most rows: the full square (one ssyrk) is cheaper
            R = np.arange(len(self.perm))
        L = np.log1p(self.pt_rows(R, t) * np.float32(1.0 / eps))
        return L[np.searchsorted(R, self.inv[ys])][:, self.inv]


def _spread_all(Pt: np.ndarray, inv_eps: np.float32) -> np.ndarray:
    """W at every row of the dense P^t (spatially ordered): per block of rows, the y with
    P^t >= P_FLOOR and the columns where some of their log rows reach L_FLOOR."""
    n = len(Pt)
    L = np.log1p(Pt * inv_eps)
    every = np.arange(n)
    n_blocks = (n + _BLOCK - 1) // _BLOCK
    colmask = np.stack([(L[sl] > L_FLOOR).any(axis=0) for sl, _ in _blocks(every)])  # (blocks, n)
    plans, flops = [], 0.0
    for b, (sl, rb) in enumerate(_blocks(every)):
        y = np.flatnonzero((Pt[sl] > P_FLOOR).any(axis=0))
        touched = np.zeros(n_blocks, dtype=bool)
        touched[y // _BLOCK] = True
        touched[b] = True
        c = np.flatnonzero(colmask[touched].any(axis=0))
        plans.append((sl, y, c))
        flops += float(len(rb)) * len(y) * len(c)
    W = np.empty(n)
    if flops > 0.4 * float(n) ** 3:  # little structure: one ssyrk for the whole Gram matrix
        G = _gram(L)
        sq = np.einsum("ij,ij->i", L, L, dtype=np.float64)
        for sl, y, _ in plans:
            D2 = sq[sl, None] + sq[None, y] - 2.0 * G[sl][:, y]
            W[sl] = np.sum(Pt[sl][:, y] * np.sqrt(np.maximum(D2, 0.0)), axis=1)
        return W
    for sl, y, c in plans:
        Lb, Ly = L[sl][:, c], L[np.ix_(y, c)]
        D2 = (np.einsum("ij,ij->i", Lb, Lb, dtype=np.float64)[:, None]
              + np.einsum("ij,ij->i", Ly, Ly, dtype=np.float64)[None, :] - 2.0 * (Lb @ Ly.T))
        W[sl] = np.sum(Pt[sl][:, y] * np.sqrt(np.maximum(D2, 0.0)), axis=1)
    return W


# ----------------------------------------------------------------------------- local backend

def _hop_ball(pattern: sp.csr_matrix, seeds: np.ndarray, hops: int) -> np.ndarray:
    """Sorted nodes within `hops` graph steps of `seeds`."""
    m = np.zeros(pattern.shape[0], dtype=np.float32)
    m[seeds] = 1.0
    for _ in range(hops):
        m = np.minimum(m + pattern @ m, 1.0)
    return np.flatnonzero(m)


def _local_plan(P: sp.csr_matrix, pattern: sp.csr_matrix, p: np.ndarray, t: int, mass: float,
                max_support: int):
    """For one row p = P^t_x: the y used (by decreasing p), their weights, the mass they stand for,
    and the sub-graph Z that their t-step walks stay in."""
    ys, ps = truncate(p, mass)
    kept = float(ps.sum())
    if max_support and len(ys) > max_support:
        # midpoint quadrature over the cumulative mass: node j stands for mass kept / max_support
        c = np.cumsum(ps)
        pick = np.minimum(np.searchsorted(c, (np.arange(max_support) + 0.5) / max_support * kept), len(ys) - 1)
        ys, ps = ys[pick], np.full(max_support, kept / max_support)
    Z = _hop_ball(pattern, ys, t)
    return ys, ps, kept, Z


def _spread_from_distances(p: np.ndarray, ps: np.ndarray, kept: float, D: np.ndarray) -> float:
    """sum_y ps_y D_y, plus the mass left out by the truncation (total - kept) carried at the mean D
    of the last tenth of the y (the far edge of the support): ten times closer to the full sum than
    renormalising."""
    edge = slice(int(0.9 * len(ps)), None)
    tail = max(float(p.sum()) - kept, 0.0)
    return float(ps @ D) + tail * float(ps[edge] @ D[edge]) / float(ps[edge].sum())


def _distances_sparse(P: sp.csr_matrix, p: np.ndarray, ys: np.ndarray, Z: np.ndarray, t: int,
                      eps: float) -> np.ndarray:
    """D(x, y) for y in ys, the rows P^t_y propagated on the sub-graph Z (exact: t-step walks from
    ys stay in Z); p = P^t_x."""
    PZT = P[Z][:, Z].T.tocsr().astype(np.float32)
    pos = np.full(P.shape[0], -1, dtype=np.int64)
    pos[Z] = np.arange(len(Z))
    lx = np.log1p(p[Z] / eps).astype(np.float32)  # supp P^t_x lies in Z (x is in ys)
    D = np.empty(len(ys))
    for c0 in range(0, len(ys), _CHUNK):
        yc = pos[ys[c0:c0 + _CHUNK]]
        V = np.zeros((len(Z), len(yc)), dtype=np.float32)
        V[yc, np.arange(len(yc))] = 1.0
        for _ in range(t):
            V = PZT @ V
        Ly = np.log1p(V * np.float32(1.0 / eps), out=V)
        Ly -= lx[:, None]
        D[c0:c0 + _CHUNK] = np.sqrt(np.einsum("ij,ij->j", Ly, Ly, dtype=np.float64))
    return D


def _distances_rows(L: np.ndarray, lx: np.ndarray) -> np.ndarray:
    D = np.empty(len(L))
    for c0 in range(0, len(L), _BLOCK):
        diff = L[c0:c0 + _BLOCK] - lx
        D[c0:c0 + _BLOCK] = np.sqrt(np.einsum("ij,ij->i", diff, diff, dtype=np.float64))
    return D


# ----------------------------------------------------------------------------- driver

def wasserstein_spread(points: np.ndarray, K: sp.csr_matrix, rows: np.ndarray, t: int, *, eps: float = 1e-6,
                       support_mass: float = 0.999, max_support: int = 0,
                       backend: str = "auto") -> tuple[np.ndarray, str]:
    """W(x) = sum_y P^t(x, y) D_PHATE(x, y) at `rows` of the cloud `points` with affinity K
    (P = D^-1 K); and the backend used.

    "dense": rows of P^t from dense products (n <= DENSE_MAX), the sum over all y with P^t >= 1e-10;
    "local": per row x, the y carrying `support_mass` of P^t_x (tail extrapolated), their rows of
    P^t by sparse propagation on the sub-graph their walks stay in, or, when n <= DENSE_MAX and the
    support is a quarter of the cloud or more, from dense products;
    "auto": dense when n <= DENSE_SMALL, or n <= DENSE_MAX and at least a quarter of the rows are
    asked for; else local.
    """
    rows = np.asarray(rows, dtype=np.int64)
    n = K.shape[0]
    if backend not in ("auto", "dense", "local"):
        raise ValueError(f"backend must be auto, dense or local, got {backend!r}")
    if backend == "dense" and n > DENSE_MAX:
        raise ValueError(f"backend 'dense' holds n x n matrices: n = {n} > DENSE_MAX = {DENSE_MAX}")
    if backend == "dense" or (backend == "auto" and (n <= DENSE_SMALL or n <= DENSE_MAX and 4 * len(rows) >= n)):
        return _Dense(points, K).spread(rows, t, eps), "dense"
    P = markov(K)
    PT = P.T.tocsr()
    pattern = (P != 0).astype(np.float32).tocsr()
    W = np.empty(len(rows))
    for c0 in range(0, len(rows), 64):  # P^t rows of 64 eval points at a time (memory 64 n)
        pts = last_power_rows(PT, rows[c0:c0 + 64], t)
        plans = [_local_plan(P, pattern, p, t, support_mass, max_support) for p in pts]
        dense = [i for i, pl in enumerate(plans) if n <= DENSE_MAX and 4 * len(pl[0]) >= n]
        for i, (p, (ys, ps, kept, Z)) in enumerate(zip(pts, plans)):
            if i not in dense:
                W[c0 + i] = _spread_from_distances(p, ps, kept, _distances_sparse(P, p, ys, Z, t, eps))
        if dense:
            ys_all = np.unique(np.concatenate([plans[i][0] for i in dense]))
            L = _Dense(points, K).log_rows(ys_all, t, eps)
            for i in dense:
                ys, ps, kept, _ = plans[i]
                lx = np.log1p(pts[i] / eps).astype(np.float32)
                D = _distances_rows(L[np.searchsorted(ys_all, ys)], lx)
                W[c0 + i] = _spread_from_distances(pts[i], ps, kept, D)
    return W, "local"


def wasserstein_curvature(points: np.ndarray, eval_idx: np.ndarray, dim: int, *, seed: int,
                          comparison: ComparisonSpace, t: int, knn: int, decay: float, thresh: float,
                          anisotropy: float, eps: float, comparison_trials: int, support_mass: float,
                          max_support: int, backend: str) -> Estimate:
    """k = 1 - W_M / W_E at `eval_idx` against `comparison` (see the module docstring); diagnostics spread,
    spread_flat, dense_backend."""
    kern = {"knn": knn, "decay": decay, "thresh": thresh, "anisotropy": anisotropy}
    spread = {"t": t, "eps": eps, "support_mass": support_mass, "max_support": max_support, "backend": backend}
    seen: dict[bytes, Future] = {}  # within this call: a flat sample met again is not recomputed

    def flat_spread(E: np.ndarray) -> float:
        return float(wasserstein_spread(E, graphtools_kernel(E, **kern), np.array([0]), **spread)[0][0])

    # The flat spreads run on one background thread while the data's spread runs here: the sparse
    # products they are made of are single-threaded and release the GIL, so they fill the core that
    # BLAS leaves idle between its calls. The values do not depend on the scheduling.
    with ThreadPoolExecutor(max_workers=1) as pool:
        def submit(E: np.ndarray) -> Future:
            E = np.ascontiguousarray(E, dtype=np.float64)
            key = hashlib.sha256(E.tobytes()).digest() + repr(E.shape).encode()
            if key not in seen:
                seen[key] = pool.submit(flat_spread, E)
            return seen[key]

        # draws from (seed, d) for point-independent spaces, (seed, d, x) otherwise: never from the other rows
        dims = np.full(len(eval_idx), int(dim))
        flats = comparison_stats(comparison, points, eval_idx, dims, trials=comparison_trials, seed=seed,
                                 stat=submit)
        W_M, used = wasserstein_spread(points, graphtools_kernel(points, **kern), eval_idx, **spread)
        W_E = np.array([np.mean([f.result() for f in trials]) for trials in flats])
    return Estimate(values=1.0 - W_M / W_E,
                    diagnostics={"spread": W_M, "spread_flat": W_E,
                                 "dense_backend": np.full(len(eval_idx), used == "dense")})
