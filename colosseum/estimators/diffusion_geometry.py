"""Diffusion geometry (Jones 2024): scalar curvature from the carré du champ of a diffusion Laplacian.

Reference: Iolo Jones, "Manifold diffusion geometry: curvature, tangent spaces, and dimension",
arXiv 2411.04100 (2024); code Iolo-Jones/ManifoldDiffusionGeometry @ 4eae5b2 (`Del0_adaptive_operator`,
`Scalar_Curvature`), which carries no licence: this module is written from the mathematics.

The idea: a diffusion Laplacian L (L = -Δ in the limit) gives the metric through the carré du champ
Γ(f, g) = ½ (f Lg + g Lf - L(fg)) = ∇f·∇g, and second derivatives through iterated Γ, without charts.

1. Operator (`diffusion_operator`). The k nearest neighbours of every point (k = min(k, n0), the point
   itself first). Initial bandwidth ρ₀ = RMS distance to neighbours 1..k_ep-1. On the grid
   ε ∈ 2^[-30, 10) in steps of 2^¼ the mean kernel value mean exp(-d²/(2ε ρ₀ᵢρ₀ⱼ)) grows like ε^(dim/2)
   where the kernel sees the manifold; ε₀ is taken where d log ΣK / d log ε is largest, and twice that
   slope is a dimension estimate dim₀. A kernel density estimate q at (ε₀, dim₀) gives the final
   bandwidth ρ = q^(-1/2) / median; ε and dim are chosen again for exp(-d²/(4ε ρᵢρⱼ)). The kernel is
   symmetrised, α-normalised (α = ½ - c/2 - dim₀/4: c = 0 removes the density from the limit
   operator, as in the paper) and L = diag(1/(ρ²ε)) (I - D⁻¹K). With μ = Dρ², μ^½ L μ^-½ is symmetric;
   its n0 smallest eigenpairs (ARPACK `eigsh`, largest algebraic of the negated matrix, as the
   reference) give eigenfunctions U (n × n0, orthonormal in L²(μ)).
2. Band-limiting a function f is the L²(μ) projection onto span U: f ↦ U (Uᵀ diag(μ) f).
3. Curvature (`scalar_curvature`). The coordinates x are band-limited (x̃); the raw carré du champ of
   two functions at p is, because the rows of D⁻¹K sum to one, the local second moment
   Γ(f, g)(p) = Σ_q P_pq (f_q - f_p)(g_q - g_p) / (2 ρ_p² ε), q over p's neighbours in the kernel graph.
   Γ(x̃, x̃) (a D × D matrix per point) is band-limited, and its pointwise eigendecomposition gives the
   tangent frame T (top d eigenvectors) and the normal space (the rest). Everything is rescaled by s,
   the median over points of the mean top-d eigenvalue (Γ should be the tangent projector, so s is
   the operator's unknown scale). The Hessian of f along X, Y is
   H(f)(∇h₁, ∇h₂) = ½ [Γ(h₁, Γ(h₂, f)) + Γ(h₂, Γ(h₁, f)) - Γ(f, Γ(h₁, h₂))], here with f = x̃ (the
   Hessian of the embedding is the second fundamental form), h₁, h₂ contracted with T; its normal part
   is α, and the Gauss equation gives S = Σ_l [(tr αˡ)² - ‖αˡ‖²]. S is band-limited once more.

Sparse where the reference is dense (the reference forms the n × n matrix UUᵀ and n × D³ tensors):
- band-limiting multiplies by U (n × n0) and Uᵀ, never by UUᵀ; the raw Γ uses the kernel's edges;
- the band-limited cloud lies in an r-dimensional subspace, r = rank(Uᵀ diag(μ) x) ≤ min(D, n0):
  the cloud is rotated onto it first (exact: the computation is equivariant under rotations, and the
  discarded coordinates are constant, so Γ and the Hessians vanish along them);
- the iterated Γ is never formed for all D³ coordinate triples. The outer Γ(h, G)(p) is a sum over
  p's edges, so the contraction of h with p's own tangent frame goes inside it: only the
  projected displacements T(p)·(x̃_q - x̃_p) and the vectors Γ(q) T(p) on each edge are needed, which
  gives the vector second fundamental form A_ij(p) = H(x̃)(T_i, T_j) ∈ R^r directly (n·d²·r numbers)
  and S = |P_N Σᵢ A_ii|² - Σ_ij |P_N A_ij|² with P_N = I - T Tᵀ, the whole normal space as in the
  reference. Each point keeps its band-limited frame F(q) (the top f = min(r, d + frame_normals)
  eigenvectors of the band-limited Γ). When f = r (every cloud with D ≤ d + frame_normals, e.g. all of
  R³) it also keeps the raw Γ(q) (n × r × r = n × r × f), and Γ(q) T(p) is exact; the sum over the
  edges is then taken before T(p) is applied (`second_fundamental_form`). Otherwise Γ(q) is not stored
  as an r × r matrix per point but as the product Γ(q) F(q) (n × r × f), and on an edge Γ(q) T(p) is
  Γ(q) F(q) (F(q)ᵀ T(p)), which drops the part of T(p) outside q's frame: neighbouring tangent planes
  tilt into the directions of the second fundamental form, which the next eigenvectors of Γ after the
  tangent ones span (the spread of the neighbours along II(v, v)), so what is dropped is second order
  in the edge length. Memory is O(n·k + n·n0 + n·r·f), work O(n·k·r³) with the whole frame and
  O(n·k·r·f·d) without, besides the eigensolver; points are processed in chunks.
- The pointwise passes are pure functions of arrays in NumPy, arranged so that a point's edges are the
  inner dimension of one matrix product (stacked products of tiny matrices, one per edge, are ~5x
  slower): ~20 ms for both passes at n = 4000 in R³. They would jit as they are, but XLA compiles once
  per (chunk, degree, r, f) shape, ~1.5 s here plus ~2 s to import JAX; so they are not jitted.
- The eigensolver: large clouds filter the spectrum with a Chebyshev polynomial before Lanczos
  (`diffusion_operator`), with the same eigenpairs as plain ARPACK to ~1e-13. It is most of the cost:
  at n = 4000 in R³ on one core, ~0.17 s of ~0.23 s: 1500-1800 products with the sparse kernel matrix
  (~75 µs each) and ARPACK's reorthogonalisation; the kernel (kNN search, the two ε scans, the sparse
  matrices) takes ~0.03 s, the subsample that places the filter ~0.01 s, the pointwise passes ~0.02 s.
  Krylov methods need ~1000 products or more here whatever the filter (it trades Lanczos vectors for
  products), so the eigensolver is what bounds the whole.

Deviations from the reference, on purpose:
- Γ is computed from edge differences instead of f Lg + g Lf - L(fg): equal in exact arithmetic,
  without the cancellation between terms of the size of |x|² when the cloud is far from the origin.
- The eigensolver's start vector comes from the seed (ARPACK's default is its own random start), so a
  result is reproducible for a seed; different seeds differ by the solver's tolerance.
- The frame truncation above (exact when D ≤ d + frame_normals).
- Degenerate input is declined instead of running into NaNs: fewer than n0 + 2 points or k + 1 points,
  a zero bandwidth (k_ep - 1 or more exact copies of a point) or a band-limited cloud spanning fewer
  than d directions raise SkipCell; if S is not finite somewhere, every value is NaN (abstention),
  since the last band-limiting mixes all points.

Units: S is scalar curvature (unit sphere S²: 2). Rotations and translations change nothing. Scaling
the cloud by λ scales S by 1/λ² exactly when λ² is a power of 2^¼: the ε grid is absolute, as in the
reference, so other scales move ε to a neighbouring grid point (a slightly different kernel width).
A flat patch (the band-limited cloud spans only d directions) has no normal space and reads 0.
Known behaviour (paper and reference): band-limiting to n0 eigenfunctions of the whole cloud smooths
peaks and spreads a boundary's error inwards (a d = 3 sphere cap reads negative at its centre with
n0 = 50 and right with n0 = 150).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh
from scipy.spatial import cKDTree

from ..contract import SkipCell

try:  # y += A x for a CSR matrix in place: the kernel behind SciPy's sparse product, without its
    # dispatch, the fresh zero vector and the separate subtraction of every Chebyshev step (~7 % of the
    # eigensolver at n = 4000). SciPy-internal, hence the fallback to the public product.
    from scipy.sparse._sparsetools import csr_matvec as _csr_matvec
except ImportError:  # pragma: no cover - a SciPy without it
    _csr_matvec = None

#: The bandwidth grid of the reference: 2^-30 .. 2^9.75 in steps of a quarter octave.
EPSILON_GRID = 2.0 ** np.arange(-30.0, 10.0, 0.25)
#: Kernel exponents beyond this are left out of the ε scan's means (exp(-700) ~ 1e-304: no effect).
UNDERFLOW_EXPONENT = 700.0
#: Elements per chunk of the pointwise passes (bounds the transient memory, ~8 bytes each).
CHUNK_ELEMENTS = 1 << 21
#: Singular values of the band-limited coordinates below this fraction of the largest are dropped.
RANK_TOL = 1e-10
#: Eigensolver for large clouds (`_chebyshev_top`): polynomial degree where the spectrum is FILTER_WIDTH
#: times as wide as the cut is far from 0 (4000-point clouds: 40-90; the degree grows as the square root
#: of that ratio, which keeps the filter's strength at λ_n0), subsample for the cut, the cut's margin
#: beyond the subsample's λ_n0, ARPACK restarts before falling back to the plain solver and its Lanczos
#: basis in units of n0 (1.6: 80 vectors for n0 = 50, where ARPACK's default 2 n0 + 1 spends ~5 % more
#: on reorthogonalisation), and the Lanczos steps and relative margin of the estimate of the spectrum's
#: lower end (`_spectrum_floor`).
FILTER_DEGREE = 12
FILTER_WIDTH = 64.0
FILTER_SUBSAMPLE = 500
FILTER_MARGIN = 1.5
FILTER_MAX_RESTARTS = 15
FILTER_BASIS = 1.6
FLOOR_STEPS = 20
FLOOR_MARGIN = 0.01


@dataclass(frozen=True)
class DiffusionOperator:
    """The diffusion Laplacian L = diag(1/(ρ²ε)) (I - P) of a cloud, as what the curvature needs.

    neighbours, weights: (n, m) padded edge lists of the symmetrised kernel graph without self-loops
    (padding: the row itself with weight 0); weights[p, j] = P_pq / (2 ρ_p² ε), so that
    Γ(f, g)(p) = Σ_j weights[p, j] (f_q - f_p)(g_q - g_p). eigenfunctions: U (n, n0), orthonormal in
    L²(μ), eigenvalue 0 first; eigenvalues: those of L, ascending; density: μ = Dρ².
    epsilon, dimension: the final bandwidth and its dimension estimate (2 × the largest slope).
    """

    neighbours: np.ndarray
    weights: np.ndarray
    eigenfunctions: np.ndarray
    eigenvalues: np.ndarray
    density: np.ndarray
    epsilon: float
    dimension: float

    def band_limit(self, f: np.ndarray) -> np.ndarray:
        """The L²(μ) projection of f ((n,) or (n, c)) onto the eigenfunctions: U (Uᵀ diag(μ) f)."""
        U, mu = self.eigenfunctions, self.density
        weighted = f * (mu if f.ndim == 1 else mu[:, None])
        return U @ (U.T @ weighted)


def select_epsilon(scaled_sq: np.ndarray, factor: float) -> tuple[float, float]:
    """The grid ε where log mean exp(-scaled_sq / (factor ε)) grows fastest in log ε, and twice that
    slope (the dimension the kernel sees there). Forward differences, the left grid point, the first
    maximum: the reference's rule.

    Two savings that leave the result as it is. One sort, then at each ε only the values whose exponent
    is at most UNDERFLOW_EXPONENT: the rest add less than e^-700 each to a mean of at least 1/k (every
    point is its own neighbour, exp(0) = 1), below double precision; at small ε only the nearest
    neighbours count. And the scan stops where no later slope can win: d log mean / d log ε is the mean
    of the exponents x = v / (factor ε) weighted by e^-x, at most their plain mean (x and e^-x are
    oppositely ordered: Chebyshev's sum inequality), so the slope from grid point i on is at most
    mean(v) / (factor ε_i), which falls below the best slope found within an octave or two of it (the
    large ε, where every value counts, are the expensive ones)."""
    values = np.sort(np.ascontiguousarray(scaled_sq, dtype=np.float64).ravel())
    rates = 1.0 / (factor * EPSILON_GRID)
    ends = np.searchsorted(values, UNDERFLOW_EXPONENT / rates, side="right")
    log_eps = np.log(EPSILON_GRID)
    buf = np.empty_like(values)
    log_means = np.empty(len(EPSILON_GRID))
    slope = np.full(len(EPSILON_GRID) - 1, -np.inf)
    best, mean = -np.inf, values.mean()
    for i, (rate, end) in enumerate(zip(rates, ends)):
        part = buf[:end]  # one reused buffer: exp in place is ~4x faster than into fresh arrays
        np.multiply(values[:end], -rate, out=part)
        log_means[i] = np.log(np.exp(part, out=part).sum() / len(values))
        if i > 0:
            slope[i - 1] = (log_means[i] - log_means[i - 1]) / (log_eps[i] - log_eps[i - 1])
            best = max(best, slope[i - 1])
        if mean * rate < best - 1e-9:  # bounds slope[i:] (1e-9: far above their rounding)
            break
    i = int(np.argmax(slope))
    return float(EPSILON_GRID[i]), float(2.0 * slope[i])


def _symmetrised(values: np.ndarray, nbr: np.ndarray) -> sp.csr_matrix:
    """(K + Kᵀ)/2 of the kNN kernel with rows i, columns nbr[i], entries values[i] (CSR, sorted indices).
    The kNN rows are CSR rows as they are (k distinct columns each), so no COO sort is needed."""
    n, k = nbr.shape
    K = sp.csr_matrix((values.ravel(), nbr.ravel(), np.arange(0, n * k + 1, k)), shape=(n, n))
    S = ((K + K.T) * 0.5).tocsr()
    S.sort_indices()
    return S


def _scaled(K: sp.csr_matrix, left: np.ndarray, right: np.ndarray) -> sp.csr_matrix:
    """diag(left) K diag(right) by scaling the stored entries: (left_i K_ij) right_j, as the products of
    sparse diagonal matrices compute them, without forming those products."""
    rows = np.repeat(np.arange(K.shape[0]), np.diff(K.indptr))
    return sp.csr_matrix(((left[rows] * K.data) * right[K.indices], K.indices, K.indptr), shape=K.shape)


def _padded_edges(K: sp.csr_matrix, row_weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of K without the diagonal as padded (n, m) neighbour and weight arrays, each row's
    entries times row_weight[row]; padding points to the row itself with weight 0."""
    K = K.tocsr()
    n = K.shape[0]
    rows = np.repeat(np.arange(n), np.diff(K.indptr))
    off = K.indices != rows
    rows, cols, vals = rows[off], K.indices[off], K.data[off] * row_weight[rows[off]]
    counts = np.bincount(rows, minlength=n)
    m = max(int(counts.max()), 1)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot = np.arange(len(rows)) - start[rows]                           # CSR keeps rows contiguous
    nbr = np.repeat(np.arange(n)[:, None], m, axis=1)
    w = np.zeros((n, m))
    nbr[rows, slot] = cols
    w[rows, slot] = vals
    return nbr, w


@dataclass(frozen=True)
class _Kernel:
    """The α-normalised symmetric kernel K and what L = diag(1/(ρ²ε)) (I - D⁻¹K) needs besides."""

    K: sp.csr_matrix
    rho2: np.ndarray
    epsilon: float
    dimension: float

    def symmetric_laplacian(self) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        """(M, D, μ = Dρ²) with M = -μ^½ L μ^-½ = μ^-½ K μ^-½ / ε - diag(1/(ρ²ε)), symmetric and <= 0."""
        D = np.asarray(self.K.sum(axis=1)).ravel()
        mu = D * self.rho2
        s = mu ** -0.5
        return ((_scaled(self.K, s, s) - sp.diags(1.0 / self.rho2)) / self.epsilon).tocsr(), D, mu


def _kernel(x: np.ndarray, n0: int, k: int, k_ep: int, c: float) -> _Kernel:
    """The reference's adaptive kernel (module docstring, step 1); SkipCell if the cloud cannot carry it."""
    n = len(x)
    k = min(k, n0)
    if n < max(n0 + 2, k + 1):
        raise SkipCell(f"diffusion_geometry needs at least max(n0 + 2, min(k, n0) + 1) = "
                       f"{max(n0 + 2, k + 1)} points, got {n}")
    dist, nbr = cKDTree(x).query(x, k)
    rho0 = np.sqrt(np.mean(dist[:, 1:k_ep] ** 2, axis=1))
    if not np.all(rho0 > 0):
        raise SkipCell(f"diffusion_geometry: {int(np.sum(~(rho0 > 0)))} points have {k_ep - 1} or more "
                       "exact copies (zero bandwidth)")
    sq = dist ** 2
    # density estimate at the first bandwidth: q = Σ_j K0_ij / (n ρ0^dim0)
    d0 = sq / (rho0[nbr] * rho0[:, None])
    eps0, dim0 = select_epsilon(d0, 2.0)
    # column sums of (K1 + K1ᵀ)/2, the mean of K1's column and row sums (K1 itself is not needed)
    K1 = np.exp(-d0 / (2 * eps0)) / (2 * math.pi * eps0) ** (dim0 / 2)
    col_sums = np.bincount(nbr.ravel(), weights=K1.ravel(), minlength=n)
    q = 0.5 * (col_sums + K1.sum(axis=1)) / (n * rho0 ** dim0)
    rho = q ** -0.5
    rho /= np.median(rho)
    # final kernel, α-normalised
    d2 = sq / (rho[nbr] * rho[:, None])
    eps, dim = select_epsilon(d2, 4.0)
    K = _symmetrised(np.exp(-d2 / (4 * eps)), nbr)
    q = np.asarray(K.sum(axis=0)).ravel() / rho ** dim
    alpha = 0.5 - c / 2 - dim0 / 4
    qa = q ** -alpha
    return _Kernel(K=_scaled(K, qa, qa), rho2=rho ** 2, epsilon=eps, dimension=dim)


def _spectrum_floor(M: sp.csr_matrix, v0: np.ndarray) -> float:
    """An estimate of M's smallest eigenvalue a little beyond it: the smallest Ritz value of FLOOR_STEPS
    Lanczos steps from v0 (full reorthogonalisation), minus its residual bound and FLOOR_MARGIN of
    itself, and never below Gershgorin's bound. The end of a spectrum converges first (on the bench's
    four 4000-point clouds 20 steps find it to < 1 %, where Gershgorin's bound is 1.5x too far), and
    nothing depends on the estimate being a bound: `_chebyshev_top` certifies its result either way."""
    n = M.shape[0]
    diag = M.diagonal()
    gershgorin = float(np.min(diag - (np.asarray(abs(M).sum(axis=1)).ravel() - np.abs(diag))))
    steps = min(FLOOR_STEPS, n - 1)
    Q = np.empty((steps + 1, n))
    Q[0] = v0 / np.linalg.norm(v0)
    alpha, beta = np.empty(steps), np.empty(steps)
    for j in range(steps):
        w = M @ Q[j]
        alpha[j] = Q[j] @ w
        w -= Q[:j + 1].T @ (Q[:j + 1] @ w)
        beta[j] = np.linalg.norm(w)
        if not beta[j] > 0:  # an invariant subspace: its Ritz values are eigenvalues, none is known smallest
            return gershgorin
        Q[j + 1] = w / beta[j]
    theta, S = np.linalg.eigh(np.diag(alpha) + np.diag(beta[:-1], 1) + np.diag(beta[:-1], -1))
    floor = theta[0] - abs(beta[-1] * S[-1, 0]) - FLOOR_MARGIN * abs(theta[0])
    return float(max(floor, gershgorin))


def _chebyshev_top(M: sp.csr_matrix, n0: int, v0: np.ndarray,
                   cut: float) -> tuple[np.ndarray, np.ndarray] | None:
    """The n0 largest eigenpairs of M (spectrum <= 0) by Lanczos on T_m of M mapped from [a, cut] onto
    [-1, 1] (a: `_spectrum_floor`), or None when that cannot be certified.

    |T_m| <= 1 on [a, cut] and T_m grows monotonically above it, so when the n0 Rayleigh quotients
    found all lie above `cut` they are M's n0 largest eigenvalues, and the vectors are M's (residuals
    checked). This holds whatever a is: an eigenvalue below a, where T_m grows again, that outgrew a
    wanted one would be found instead of it and fail the check. The filter spreads the wanted end of
    the spectrum, which Lanczos resolves in far fewer steps than on M itself, where it is ~1 % of the
    spectrum's width; the tighter a, the more it spreads it. Near the cut T_m(1 + δ) ~ cosh(m √(2δ)),
    with δ ∝ |cut| / |a|, so the degree grows as √(|a| / |cut|) (`FILTER_WIDTH`): the spectrum widens
    with n (the densest points' 1/(ρ²ε)), and a fixed degree would need ever more restarts (at n = 20000
    the ratio is ~570, and degree 12 more than FILTER_MAX_RESTARTS)."""
    n = M.shape[0]
    a = _spectrum_floor(M, v0)
    if not a < cut < 0:
        return None
    degree = max(FILTER_DEGREE, math.ceil(FILTER_DEGREE * math.sqrt(a / cut / FILTER_WIDTH)))
    centre, half = (cut + a) / 2, (cut - a) / 2
    twice_mapped = ((M - centre * sp.eye(n, format="csr")) * (2.0 / half)).tocsr()  # 2 (M - centre) / half

    if _csr_matvec is not None:
        indptr, indices, data = twice_mapped.indptr, twice_mapped.indices, twice_mapped.data

        def times_minus(x: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:  # out = A x - y
            np.negative(y, out=out)
            _csr_matvec(n, n, indptr, indices, data, x, out)
    else:
        def times_minus(x: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:
            np.subtract(twice_mapped @ x, y, out=out)

    zero, buffers = np.zeros(n), [np.empty(n) for _ in range(3)]

    def filtered(v: np.ndarray) -> np.ndarray:  # T_m by the three-term recurrence, in three buffers
        prev, cur = v.ravel(), buffers[0]
        times_minus(prev, zero, cur)
        cur *= 0.5
        for step in range(1, degree):
            out = buffers[step % 3]  # neither prev nor cur
            times_minus(cur, prev, out)
            prev, cur = cur, out
        return cur.copy()

    try:
        _, vecs = eigsh(LinearOperator((n, n), matvec=filtered, dtype=np.float64), n0, which="LA", v0=v0,
                        ncv=min(n, max(n0 + 2, int(FILTER_BASIS * n0))), maxiter=FILTER_MAX_RESTARTS)
    except ArpackNoConvergence:
        return None
    Mv = M @ vecs
    vals = np.einsum("ij,ij->j", vecs, Mv)
    residual = np.linalg.norm(Mv - vecs * vals, axis=0)
    if not (np.all(vals > cut) and np.all(residual <= 1e-8 * abs(a))):
        return None
    return vals, vecs


def _top_eigenpairs(M: sp.csr_matrix, n0: int, rng: np.random.Generator,
                    cut_estimate: Callable[[], float] | None) -> tuple[np.ndarray, np.ndarray]:
    """The n0 largest eigenpairs of M, descending; v0 drawn from rng. With a cut estimate (-λ_n0 of a
    subsample) the Chebyshev filter is tried first, its cut FILTER_MARGIN times beyond; plain ARPACK
    when there is none or the filter's result cannot be certified."""
    v0 = rng.uniform(-1.0, 1.0, M.shape[0])
    found = None
    if cut_estimate is not None:
        try:
            found = _chebyshev_top(M, n0, v0, FILTER_MARGIN * cut_estimate())
        except (SkipCell, np.linalg.LinAlgError):
            found = None  # the subsample cannot carry the kernel, or its dense eigensolver fails: no filter
    vals, vecs = found if found is not None else eigsh(M, n0, which="LA", v0=v0)
    order = np.argsort(-vals)
    return vals[order], vecs[:, order]


def diffusion_operator(points: np.ndarray, *, n0: int = 50, k: int = 32, k_ep: int = 8, c: float = 0.0,
                       seed: int = 0) -> DiffusionOperator:
    """The adaptive diffusion Laplacian of the reference's `Del0_adaptive_operator`, sparse, and its
    n0 first eigenfunctions. SkipCell when the cloud cannot carry it (too few points, zero bandwidths).

    Clouds of at least four subsamples (max(FILTER_SUBSAMPLE, 10 n0) points each: from 2000 points with
    the defaults) get their eigenpairs through the Chebyshev filter (`_chebyshev_top`): L's eigenvalues
    converge as n grows (L tends to the weighted Laplace-Beltrami operator), so λ_n0 of a random
    subsample places the cut (measured on eleven battery clouds of 4000 points: a 500-point subsample's
    λ_50 is 0.82-1.4 times the whole cloud's, so the cut stays >= 1.2 λ_n0 away). The subsample's
    λ_n0 comes from a dense solver in single precision, tridiagonalisation and bisection for that one
    eigenvalue (500 points: ~4 ms, a fifth of ARPACK's time on it). The eigenpairs are plain ARPACK's
    to ~1e-13; the solver with its estimate is ~4x faster (torus: 3.8x at n = 4000, 4.2x at 20000)."""
    x = np.asarray(points, dtype=np.float64)
    n = len(x)
    kern = _kernel(x, n0, k, k_ep, c)
    M, D, mu = kern.symmetric_laplacian()
    rng = np.random.default_rng(seed)
    sub = max(FILTER_SUBSAMPLE, 10 * n0)
    estimate = None
    if n >= 4 * sub:
        rows = np.sort(rng.choice(n, sub, replace=False))

        def estimate() -> float:
            M_sub = _kernel(x[rows], n0, k, k_ep, c).symmetric_laplacian()[0]
            dense = M_sub.astype(np.float32).toarray()  # a cut needs no more than ~1e-6
            lam = sla.eigh(dense, eigvals_only=True, subset_by_index=[sub - n0, sub - n0], driver="evx",
                           overwrite_a=True, check_finite=False)
            return float(lam[0])

    vals, vecs = _top_eigenpairs(M, n0, rng, estimate)
    U = vecs * (mu ** -0.5)[:, None]
    nbrs, w = _padded_edges(kern.K, 1.0 / (2.0 * D * kern.rho2 * kern.epsilon))
    return DiffusionOperator(neighbours=nbrs, weights=w, eigenfunctions=U, eigenvalues=-vals,
                             density=mu, epsilon=kern.epsilon, dimension=kern.dimension)


def _chunks(n: int, per_row: int):
    size = max(1, CHUNK_ELEMENTS // max(per_row, 1))
    for a in range(0, n, size):
        yield slice(a, min(n, a + size))


def _raw_gamma(op: DiffusionOperator, y: np.ndarray, rows: slice) -> np.ndarray:
    """Γ(y, y) at `rows`, not band-limited: (b, r, r), the weighted second moment of the edge differences."""
    delta = y[op.neighbours[rows]] - y[rows, None, :]                    # (b, m, r)
    return np.matmul(np.swapaxes(delta * op.weights[rows, :, None], 1, 2), delta)


def band_limited_coordinates(op: DiffusionOperator, points: np.ndarray) -> np.ndarray:
    """The centred cloud band-limited and rotated onto the subspace it spans: (n, r), r <= min(D, n0)."""
    x = points - points.mean(axis=0)
    coef = op.eigenfunctions.T @ (x * op.density[:, None])              # (n0, D)
    _, sv, vt = np.linalg.svd(coef, full_matrices=False)
    r = int(np.sum(sv > RANK_TOL * sv[0])) if sv.size and sv[0] > 0 else 0
    return op.eigenfunctions @ (coef @ vt[:r].T)


def frames(op: DiffusionOperator, y: np.ndarray, dim: int,
           n_frame: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Band-limited Γ(y, y), diagonalised at every point: the top `n_frame` eigenvectors F (n, r, n_frame),
    descending (the first `dim` span the tangent space); G, what Γ(q) v needs on an edge: the raw Γ
    itself (n, r, r) when the frame is the whole space (n_frame = r: kept from the pass that band-limits
    it, no more memory than the alternative), else Γ F with the raw Γ (n, r, n_frame); and the mean of
    the top `dim` eigenvalues (n,)."""
    n, r = y.shape
    U, mu = op.eigenfunctions, op.density
    whole = n_frame == r
    coef = np.zeros((U.shape[1], r * r))                                 # Uᵀ diag(μ) Γ, streamed
    m = op.neighbours.shape[1]
    G = np.empty((n, r, r)) if whole else None  # (partial frames: allocated after this pass, as it peaks)
    for rows in _chunks(n, m * r + r * r):
        gamma = _raw_gamma(op, y, rows)
        if whole:
            G[rows] = gamma
        coef += (U[rows] * mu[rows, None]).T @ gamma.reshape(-1, r * r)
        del gamma  # not kept alive into the next pass
    if not whole:
        G = np.empty((n, r, n_frame))
    F = np.empty((n, r, n_frame))
    scale = np.empty(n)
    for rows in _chunks(n, m * r + 3 * r * r):
        smooth = (U[rows] @ coef).reshape(-1, r, r)
        vals, vecs = np.linalg.eigh(0.5 * (smooth + np.swapaxes(smooth, 1, 2)))
        top = vecs[:, :, ::-1][:, :, :n_frame]
        F[rows] = top
        if not whole:
            G[rows] = np.matmul(_raw_gamma(op, y, rows), top)
        scale[rows] = vals[:, ::-1][:, :dim].mean(axis=1)
    return F, G, scale


def second_fundamental_form(op: DiffusionOperator, y: np.ndarray, F: np.ndarray, G: np.ndarray, dim: int,
                            rows: slice) -> np.ndarray:
    """A_ij(p) = H(y)(T_i, T_j) at `rows` from iterated Γ (unscaled): (b, d, d, r). F, G: `frames`.

    With δ = y_q - y_p, z_i = T_i(p)·δ, g_j = (Γ(q) - Γ(p)) T_j(p) and w the Γ weights of p's edges:
    A_ij = ½ Σ_q w [z_i g_j + z_j g_i - δ (T_i·g_j)].

    With the whole frame (G = Γ) the sum over edges is taken before T(p) is applied: with
    J_a = Σ_q w δ_a (Γ(q) - Γ(p)) (r × r, a = 1..r), Σ_q w z_i g_j = Σ_a T_ai J_a T_j and
    Σ_q w δ_a (T_i·g_j) = T_iᵀ J_a T_j. The edges then enter one matrix product per point with the
    edge list as its inner dimension (NumPy's stacked products of tiny matrices, one per edge, are
    ~5x slower), and the differences Γ(q) - Γ(p) are still formed edge by edge, before the sum."""
    nbr, w = op.neighbours[rows], op.weights[rows]
    T = F[rows, :, :dim]                                                 # (b, r, d)
    delta = y[nbr] - y[rows, None, :]                                    # (b, m, r)
    b, m, r = delta.shape
    Tt = np.swapaxes(T, 1, 2)                                            # (b, d, r)
    if F.shape[2] == r:
        dgamma = G[nbr]                                                  # (b, m, r, r)
        dgamma -= G[rows, None]
        J = np.matmul(np.swapaxes(w[:, :, None] * delta, 1, 2), dgamma.reshape(b, m, r * r))
        JT = np.matmul(J.reshape(b, r, r, r), T[:, None])                # J_a T_j: (b, a, r, d)
        first = np.matmul(Tt, JT.reshape(b, r, r * dim))                 # Σ_a T_ai J_a T_j: (b, i, (r, j))
        first = first.reshape(b, dim, r, dim).transpose(0, 1, 3, 2)      # (b, i, j, r)
        third = np.matmul(Tt[:, None], JT).transpose(0, 2, 3, 1)         # T_iᵀ J_a T_j: (b, i, j, a)
        return 0.5 * (first + np.swapaxes(first, 1, 2) - third)
    z = np.matmul(delta, T)                                              # (b, m, d)
    overlap = np.matmul(np.swapaxes(F[nbr], 2, 3), T[:, None])           # F(q)ᵀ T(p): (b, m, f, d)
    g = np.matmul(G[nbr], overlap) - G[rows, None, :, :dim]              # (b, m, r, d)
    tg = np.matmul(Tt[:, None], g)                                       # T_i·g_j: (b, m, d, d)
    first = np.matmul(np.swapaxes(w[:, :, None] * z, 1, 2), g.reshape(b, m, r * dim))
    first = first.reshape(b, dim, r, dim).transpose(0, 1, 3, 2)          # Σ w z_i g_j: (b, i, j, r)
    third = np.matmul(np.swapaxes(tg.reshape(b, m, dim * dim), 1, 2), w[:, :, None] * delta)
    return 0.5 * (first + np.swapaxes(first, 1, 2) - third.reshape(b, dim, dim, r))


def gauss_scalar(A: np.ndarray, T: np.ndarray) -> np.ndarray:
    """S = |P_N Σ_i A_ii|² - Σ_ij |P_N A_ij|² with P_N = I - T Tᵀ (the Gauss equation over the whole
    normal space). A: (b, d, d, r); T: (b, r, d)."""
    b, d, _, r = A.shape
    flat = A.reshape(b, d * d, r)
    normal = flat - np.matmul(np.matmul(flat, T), np.swapaxes(T, 1, 2))  # (b, d·d, r)
    trace = normal[:, ::d + 1].sum(axis=1)                               # Σ_i of the (i, i) rows
    return np.sum(trace ** 2, axis=1) - np.sum(normal ** 2, axis=(1, 2))


@dataclass(frozen=True)
class Curvature:
    """Scalar curvature at every point and what it was computed with."""

    scalar: np.ndarray          # (n,) S, band-limited: the estimate
    raw: np.ndarray             # (n,) S before the last band-limiting
    metric: np.ndarray          # (n,) mean top-d eigenvalue of the band-limited Γ over s (~1: Γ a projector)
    scale: float                # s: the median of that mean before division
    rank: int                   # r: dimension of the subspace the band-limited cloud spans
    frame: int                  # f: frame vectors kept per point
    operator: DiffusionOperator


def scalar_curvature(points: np.ndarray, dim: int, *, n0: int = 50, k: int = 32, k_ep: int = 8,
                     c: float = 0.0, frame_normals: int = 8, seed: int = 0) -> Curvature:
    """Scalar curvature of the cloud at every point by diffusion geometry (module docstring).

    ValueError for parameters that cannot work together (k_ep > min(k, n0)); SkipCell for a cloud the
    method cannot read (`diffusion_operator`; a band-limited cloud spanning fewer than d directions).
    The result is all NaN (abstention) if S is not finite somewhere: band-limiting mixes every point."""
    if not 2 <= k_ep <= min(k, n0):
        raise ValueError(f"diffusion_geometry: k_ep must be in [2, min(k, n0)] = [2, {min(k, n0)}], "
                         f"got {k_ep}")
    x = np.asarray(points, dtype=np.float64)
    op = diffusion_operator(x, n0=n0, k=k, k_ep=k_ep, c=c, seed=seed)
    y = band_limited_coordinates(op, x)
    n, r = y.shape
    if r < dim:
        raise SkipCell(f"diffusion_geometry: the band-limited cloud spans {r} < d = {dim} directions")
    n_frame = min(r, dim + frame_normals)
    F, G, scale_fn = frames(op, y, dim, n_frame)
    s = float(np.median(scale_fn))
    raw = np.empty(n)
    m = op.neighbours.shape[1]
    per_row = m * (r * n_frame * 2 + r * dim * 2) + (r ** 3 * (dim + 1) if n_frame == r else 0)
    for rows in _chunks(n, per_row):
        A = second_fundamental_form(op, y, F, G, dim, rows)
        raw[rows] = gauss_scalar(A, F[rows, :, :dim])
    with np.errstate(all="ignore"):
        raw = raw / s ** 4
    scalar = op.band_limit(raw) if np.isfinite(raw).all() else np.full(n, np.nan)
    return Curvature(scalar=scalar, raw=raw, metric=scale_fn / s, scale=s, rank=r, frame=n_frame,
                     operator=op)
