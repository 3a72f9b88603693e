"""Neural flattening of a point's neighbourhood: flat comparison spaces sampled like the data.

Two flatteners (methods.md (d) and (e)), both fitted afresh to one evaluation point's neighbourhood:

- **RFAE** (radial flattening autoencoder, flax + optax): encoder/decoder MLPs R^D -> R^d -> R^D.
  Losses, each weighted (`RFAEConfig`):
  * radial (primary): (|z_j - z_0| - d_M(x_0, x_j))^2, z_0 the centre's image, d_M Dijkstra on a
    kNN graph of the neighbourhood (`geodesic_distances`);
  * neighbourhood: KL(P_data || P_emb) of row-normalised affinities, ONE Gaussian kernel
    exp(-d^2 / h^2) on both sides (d_M in the data, |z_i - z_j| in the embedding, same h);
  * flatness (optional, off by default): MMD^2 between the embedding and a uniform d-ball sample;
  * reconstruction: mean squared error of the decoder.
  The encoder is the PCA (tangent) projection plus an MLP whose last layer starts at zero (the
  decoder mirrors it), so training starts from the local linear chart instead of noise.
- **MIOFlattener** (equinox + diffrax + optax): a neural ODE dz/dt = f(z, t) flows the RFAE embedding
  from t = 0 to 1 toward a uniform distribution on the d-ball (MMD^2 to fresh uniform draws), with the
  radial loss kept as a penalty and an energy penalty  int_0^1 mean_j |f(z_j, t)|^2 dt  integrated
  along the path as an extra ODE state. Deterministic solve (no noise in the field), gradients
  through the solver (diffrax's default RecursiveCheckpointAdjoint).

Training is one jitted loop (a `lax.while_loop` over chunks of `check_every` steps, each chunk a
`lax.scan`): early stopping when the chunk-mean loss has not improved by a relative `tol` for
`patience` chunks, and never more than `steps` steps. All randomness comes from the seed.

Fixes of the reference bugs (methods.md (d), (e)): the radial loss uses |z_j - z_0| only (not the
whole pairwise matrix); one kernel on both sides of the KL; energy integrated along the path; no noise
inside the deterministic solve; ball targets as Gaussian direction x U^(1/d); scale set by the radial
q-quantile (default 0.9) instead of the outlier-prone maximum norm.

Scale convention: inside training every length is divided by s = the q-quantile of d_M from the
centre; a uniform target ball has radius 1 / q^(1/d) (so its radial q-quantile is 1, like the data's).
Flattened samples are returned in the data's units (multiplied back by s), centre at row 0 = origin.

Quality metrics (numpy): `radial_distortion` (mean relative error of |z_j - z_0| against d_M),
`knn_overlap` (mean fraction of shared k nearest neighbours), `mmd2` (unbiased MMD^2, multi-scale
Gaussian kernel), `flatness` (MMD^2 to a uniform d-ball after the radial-quantile scaling) and
`radial_w1` (W1 between the radial distributions after the same scaling; defined for any sample,
also one with no point-to-point correspondence such as a uniform ball).

Comparison spaces "rfae" and "mioflattener" are registered with `colosseum.diffusion` when this module
is imported. Their settings (neighbourhood size, training budgets) come from `using(settings)`, a
context the dc_rfae / dc_mioflattener methods open around DC2; outside it the defaults apply. The
`n` argument of a comparison space is ignored: the sample has min(neighbourhood, N) points.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, shortest_path
from scipy.spatial import cKDTree

from . import diffusion as dfn

# flax, optax, diffrax and equinox are imported where they are used (~3 s of imports that every plugin
# discovery would otherwise pay: this module is imported by a method plugin to register its spaces).

#: Bandwidths (sigma, unit-ball scale) of the multi-scale Gaussian MMD kernel sum_i exp(-d^2 / 2 sigma_i^2).
MMD_BANDWIDTHS = (0.05, 0.1, 0.2, 0.4, 0.8)
F32 = jnp.float32


# ============================================================================ neighbourhoods, geodesics

def neighbourhood_rows(points: np.ndarray, centre: int, size: int) -> np.ndarray:
    """The `size` nearest rows of `centre` (ambient distance), the centre first."""
    n = len(points)
    k = min(int(size), n)
    _, idx = cKDTree(points).query(points[centre], k=k)
    idx = np.atleast_1d(idx)
    idx = np.concatenate([[centre], idx[idx != centre]])[:k]
    return idx.astype(np.int64)


def geodesic_distances(points: np.ndarray, k: int = 30, sources: np.ndarray | None = None) -> np.ndarray:
    """Graph-geodesic distances: Dijkstra on the symmetrised kNN graph (edge = ambient length).

    Rows `sources` (default all) of the distance matrix. If the graph is disconnected, k is doubled
    until it is connected (at worst the complete graph), so every distance is finite.
    """
    points = np.asarray(points, dtype=np.float64)
    n = len(points)
    tree = cKDTree(points)
    k = max(1, min(int(k), n - 1))
    while True:
        dist, idx = tree.query(points, k=k + 1)
        rows = np.repeat(np.arange(n), k)
        G = sp.csr_matrix((dist[:, 1:].ravel() + 1e-12, (rows, idx[:, 1:].ravel())), shape=(n, n))
        G = G.maximum(G.T)
        if connected_components(G, directed=False)[0] == 1 or k >= n - 1:
            break
        k = min(2 * k, n - 1)
    return shortest_path(G, method="D", directed=False, indices=sources)


@dataclass(frozen=True)
class Neighbourhood:
    """One evaluation point's neighbourhood, ready for flattening.

    rows: rows of the cloud (centre first); X: (n, D) points minus the centre; dM: (n, n) graph
    geodesics; radial: dM[0]; scale: the q-quantile of radial (the unit of training).
    """

    rows: np.ndarray
    X: np.ndarray
    dM: np.ndarray
    scale: float

    @property
    def radial(self) -> np.ndarray:
        return self.dM[0]

    @property
    def n(self) -> int:
        return len(self.rows)


def make_neighbourhood(points: np.ndarray, centre: int, size: int, graph_knn: int = 30,
                       quantile: float = 0.9) -> Neighbourhood:
    points = np.asarray(points, dtype=np.float64)
    rows = neighbourhood_rows(points, centre, size)
    X = points[rows] - points[centre]
    dM = geodesic_distances(X, graph_knn)
    scale = float(np.quantile(dM[0, 1:], quantile))
    if not scale > 0:
        raise ValueError("the neighbourhood has no extent (duplicate points)")
    return Neighbourhood(rows=rows, X=X, dM=dM, scale=scale)


# ============================================================================ quality metrics

def radial_distortion(Z: np.ndarray, radial: np.ndarray) -> float:
    """Mean over j != 0 of | |Z_j - Z_0| - radial_j | / radial_j (row 0 is the centre)."""
    Z, radial = np.asarray(Z, dtype=np.float64), np.asarray(radial, dtype=np.float64)
    r = np.linalg.norm(Z[1:] - Z[0], axis=1)
    ok = radial[1:] > 0
    return float(np.mean(np.abs(r[ok] - radial[1:][ok]) / radial[1:][ok]))


def _knn_sets(A: np.ndarray, k: int) -> np.ndarray:
    A = np.asarray(A, dtype=np.float64)
    if A.ndim == 2 and A.shape[0] == A.shape[1] and np.allclose(np.diag(A), 0) and np.allclose(A, A.T):
        D = A.copy()  # a distance matrix
        np.fill_diagonal(D, np.inf)
        return np.argsort(D, axis=1, kind="stable")[:, :k]
    _, idx = cKDTree(A).query(A, k=k + 1)
    return idx[:, 1:]


def knn_overlap(A: np.ndarray, B: np.ndarray, k: int = 10) -> float:
    """Mean over points of |kNN_A(i) & kNN_B(i)| / k. A and B are point arrays (rows in
    correspondence, any dimensions) or square distance matrices."""
    a, b = _knn_sets(A, k), _knn_sets(B, k)
    return float(np.mean([len(np.intersect1d(x, y)) / k for x, y in zip(a, b)]))


def _sqdist(x, y):
    return jnp.maximum(jnp.sum(x * x, 1)[:, None] + jnp.sum(y * y, 1)[None, :] - 2 * x @ y.T, 0.0)


def _mmd2_jnp(x, y, bandwidths=MMD_BANDWIDTHS):
    """Unbiased MMD^2 with the kernel sum_i exp(-|a - b|^2 / (2 sigma_i^2))."""
    def k(a, b):
        d2 = _sqdist(a, b)
        return sum(jnp.exp(-d2 / (2.0 * s * s)) for s in bandwidths)
    n, m = x.shape[0], y.shape[0]
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    nb = len(bandwidths)
    return ((jnp.sum(kxx) - n * nb) / (n * (n - 1)) + (jnp.sum(kyy) - m * nb) / (m * (m - 1))
            - 2.0 * jnp.mean(kxy))


def mmd2(X: np.ndarray, Y: np.ndarray, bandwidths: tuple[float, ...] = MMD_BANDWIDTHS) -> float:
    """Unbiased estimate of MMD^2 between samples X and Y (may be slightly negative when equal in law)."""
    return float(_mmd2_jnp(jnp.asarray(X, F32), jnp.asarray(Y, F32), tuple(bandwidths)))


def uniform_ball(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """n points uniform in the unit dim-ball: Gaussian direction times U^(1/dim)."""
    g = rng.standard_normal((n, dim))
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    return g * rng.uniform(size=(n, 1)) ** (1.0 / dim)


def unit_scale(Z: np.ndarray, quantile: float = 0.9) -> np.ndarray:
    """Z centred at row 0 and scaled so that its radial q-quantile is q^(1/d), that of the unit d-ball."""
    Z = np.asarray(Z, dtype=np.float64)
    Z = Z - Z[0]
    r = np.quantile(np.linalg.norm(Z[1:], axis=1), quantile)
    return Z * (quantile ** (1.0 / Z.shape[1]) / r)


def flatness(Z: np.ndarray, seed: int = 0, quantile: float = 0.9) -> float:
    """MMD^2 between Z (centred at row 0, radial-quantile scaled) and a uniform unit d-ball sample of
    the same size drawn from `seed`: about 0 for a uniform ball, larger the less uniform Z is."""
    U = uniform_ball(len(Z), Z.shape[1], np.random.default_rng([int(seed), 7]))
    return mmd2(unit_scale(Z, quantile), U)


def radial_w1(Z: np.ndarray, radial: np.ndarray, quantile: float = 0.9) -> float:
    """W1 distance between the distribution of |Z_j - Z_0| and that of the data's radial distances
    d_M(x_0, x_j), each divided by its own q-quantile (scale-free; no correspondence needed)."""
    from scipy.stats import wasserstein_distance

    Z = np.asarray(Z, dtype=np.float64)
    r = np.linalg.norm(Z[1:] - Z[0], axis=1)
    rd = np.asarray(radial, dtype=np.float64)[1:]
    return float(wasserstein_distance(r / np.quantile(r, quantile), rd / np.quantile(rd, quantile)))


def quality(Z: np.ndarray, nb: Neighbourhood, seed: int = 0, k: int = 10) -> dict[str, float]:
    """The flattening-quality figures of a flattened neighbourhood Z (rows in correspondence with nb)."""
    return {"radial_distortion": radial_distortion(Z, nb.radial),
            "knn_overlap": knn_overlap(nb.X, Z, k=min(k, nb.n - 1)),
            "mmd": flatness(Z, seed),
            "radial_w1": radial_w1(Z, nb.radial)}


# ============================================================================ training loop

def _train_loop(loss_fn, params, opt, key, steps: int, check_every: int, patience: int, tol: float):
    """Minimise loss_fn(params, key) with `opt`: chunks of `check_every` steps (a lax.scan), stopped
    when the chunk-mean loss has not improved by a relative `tol` for `patience` chunks, or at `steps`.
    Returns (params, steps done, last chunk-mean loss). Traceable (call it inside jit)."""
    import optax

    n_chunks = max(1, -(-steps // check_every))
    grad_fn = jax.value_and_grad(loss_fn)

    def step(carry, i):
        p, s = carry
        loss, g = grad_fn(p, jax.random.fold_in(key, i))
        upd, s = opt.update(g, s, p)
        return (optax.apply_updates(p, upd), s), loss

    def chunk(state):
        p, s, c, best, bad, _ = state
        (p, s), losses = jax.lax.scan(step, (p, s), c * check_every + jnp.arange(check_every))
        mean = jnp.mean(losses).astype(F32)
        better = jnp.isinf(best) | (mean < best - tol * jnp.abs(best))
        return (p, s, c + 1, jnp.where(better, mean, best), jnp.where(better, 0, bad + 1), mean)

    def cont(state):
        _, _, c, _, bad, _ = state
        return (c < n_chunks) & (bad < patience)

    init = (params, opt.init(params), jnp.int32(0), jnp.asarray(jnp.inf, F32), jnp.int32(0),
            jnp.asarray(jnp.inf, F32))
    p, _, c, _, _, last = jax.lax.while_loop(cont, chunk, init)
    return p, c * check_every, last


# ============================================================================ RFAE

@dataclass(frozen=True)
class RFAEConfig:
    """RFAE settings (static: one compilation per config and neighbourhood shape)."""

    hidden: int = 64             # width of the hidden layers (encoder and decoder)
    depth: int = 2               # hidden layers per MLP
    w_radial: float = 1.0        # radial loss weight (the primary objective)
    w_kl: float = 0.1            # neighbourhood KL weight
    w_flat: float = 0.0          # MMD-to-uniform-ball weight (optional flatness term)
    w_recon: float = 0.1         # reconstruction weight
    kl_knn: int = 10             # kernel bandwidth h = median distance to the kl_knn-th neighbour (d_M)
    kl_rows: int = 256           # rows of the KL per step (all when the neighbourhood is smaller)
    flat_batch: int = 256        # points in the flatness MMD per step
    steps: int = 400             # step budget
    lr: float = 3e-3             # Adam learning rate (after global-norm clipping at 1)
    check_every: int = 25        # steps per early-stopping check
    patience: int = 3            # checks without relative improvement > tol before stopping
    tol: float = 1e-3            # relative improvement that counts
    quantile: float = 0.9        # radial quantile that sets the scale


@functools.cache
def _rfae_module():
    """The flax RFAE: encoder x -> x V + MLP(x), decoder z -> z V^T + MLP(z), V the PCA (tangent) basis;
    each MLP's last layer starts at zero, so training starts from the linear chart."""
    import flax.linen as nn

    class MLP(nn.Module):
        hidden: int
        depth: int
        out: int

        @nn.compact
        def __call__(self, x):
            for _ in range(self.depth):
                x = nn.gelu(nn.Dense(self.hidden)(x))
            return nn.Dense(self.out, kernel_init=nn.initializers.zeros)(x)

    class RFAE(nn.Module):
        hidden: int
        depth: int
        ambient: int
        dim: int

        def setup(self):
            self.enc = MLP(self.hidden, self.depth, self.dim)
            self.dec = MLP(self.hidden, self.depth, self.ambient)

        def encode(self, x, V):
            return x @ V + self.enc(x)

        def decode(self, z, V):
            return z @ V.T + self.dec(z)

        def __call__(self, x, V):
            z = self.encode(x, V)
            return z, self.decode(z, V)

    return RFAE


@functools.lru_cache(maxsize=32)
def _rfae_trainer(cfg: RFAEConfig, n: int, ambient: int, dim: int):
    import optax

    RFAE = _rfae_module()
    model = RFAE(cfg.hidden, cfg.depth, ambient, dim)
    opt = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(cfg.lr))
    B = min(cfg.kl_rows, n)
    Bf = min(cfg.flat_batch, n)
    radius = 1.0 / cfg.quantile ** (1.0 / dim)

    def embed(params, X, V):
        z = model.apply(params, X, V, method=RFAE.encode)
        return z - z[0]

    def loss_fn(params, key, X, V, r, logPd, h2):
        kr, kf, kt = jax.random.split(key, 3)
        z_raw, Xh = model.apply(params, X, V)
        z = z_raw - z_raw[0]
        norm = jnp.sqrt(jnp.sum(z[1:] ** 2, 1) + 1e-12)
        radial = jnp.mean((norm - r[1:]) ** 2)
        recon = jnp.mean(jnp.sum((Xh - X) ** 2, 1))
        rows = jnp.arange(n) if B == n else jax.random.choice(kr, n, (B,), replace=False)
        lp = logPd[rows]                                          # (B, n), -inf on the diagonal
        keep = jnp.isfinite(lp)                                   # same support: self excluded
        logits = jnp.where(keep, -_sqdist(z[rows], z) / h2, -1e30)
        logq = jax.nn.log_softmax(logits, axis=1)
        lp = jnp.where(keep, lp, 0.0)
        pd = jnp.where(keep, jnp.exp(lp), 0.0)
        kl = jnp.mean(jnp.sum(jnp.where(pd > 0, pd * (lp - logq), 0.0), 1))
        total = cfg.w_radial * radial + cfg.w_kl * kl + cfg.w_recon * recon
        if cfg.w_flat > 0:
            pick = jax.random.choice(kf, n, (Bf,), replace=False)
            target = _ball_jnp(kt, Bf, dim) * radius
            total = total + cfg.w_flat * _mmd2_jnp(z[pick], target)
        return total

    @jax.jit
    def train(key, X, V, r, logPd, h2):
        kinit, kloop = jax.random.split(key)
        params = model.init(kinit, X[:2], V)
        params, steps, last = _train_loop(lambda p, k: loss_fn(p, k, X, V, r, logPd, h2), params, opt, kloop,
                                          cfg.steps, cfg.check_every, cfg.patience, cfg.tol)
        return embed(params, X, V), steps, last

    return train


def _ball_jnp(key, n, dim):
    kd, kr = jax.random.split(key)
    g = jax.random.normal(kd, (n, dim), F32)
    g = g / jnp.linalg.norm(g, axis=1, keepdims=True)
    return g * jax.random.uniform(kr, (n, 1), F32) ** (1.0 / dim)


def _log_affinities(dM_scaled: np.ndarray, h2: float) -> np.ndarray:
    logits = -dM_scaled ** 2 / h2
    np.fill_diagonal(logits, -np.inf)
    m = logits.max(axis=1, keepdims=True)
    return logits - (m + np.log(np.exp(logits - m).sum(axis=1, keepdims=True)))


@dataclass(frozen=True)
class Flattened:
    """A flattened neighbourhood: Z (n, d) in the data's units, centre (row 0) at the origin."""

    Z: np.ndarray
    steps: int
    loss: float
    seconds: float
    extra: dict = field(default_factory=dict)


def fit_rfae(nb: Neighbourhood, dim: int, cfg: RFAEConfig = RFAEConfig(), seed: int = 0) -> Flattened:
    """Train an RFAE on the neighbourhood and return its embedding."""
    t0 = time.perf_counter()
    s = nb.scale
    X = nb.X / s
    dMs = nb.dM / s
    _, _, vt = np.linalg.svd(X, full_matrices=False)
    V = vt[:dim].T
    k = min(cfg.kl_knn, nb.n - 1)
    h2 = float(np.median(np.sort(dMs, axis=1)[:, k]) ** 2)
    logPd = _log_affinities(dMs, h2)
    train = _rfae_trainer(cfg, nb.n, X.shape[1], int(dim))
    Z, steps, last = train(jax.random.PRNGKey(int(seed)), jnp.asarray(X, F32), jnp.asarray(V, F32),
                           jnp.asarray(dMs[0], F32), jnp.asarray(logPd, F32), jnp.asarray(h2, F32))
    Z = np.asarray(Z, dtype=np.float64) * s
    Z[0] = 0.0
    return Flattened(Z=Z, steps=int(steps), loss=float(last), seconds=time.perf_counter() - t0)


# ============================================================================ MIOFlattener

@dataclass(frozen=True)
class MIOConfig:
    """MIOFlattener settings (static)."""

    hidden: int = 64             # width of the vector field's hidden layers
    depth: int = 2               # hidden layers of the vector field
    w_mmd: float = 1.0           # weight of MMD^2 to the uniform d-ball
    w_radial: float = 0.1        # weight of the radial-distance penalty
    w_energy: float = 1e-3       # weight of the path energy int_0^1 mean |f|^2 dt
    solver: str = "tsit5"        # diffrax solver: tsit5 | heun | euler
    n_steps: int = 8             # fixed solver steps over [0, 1]
    batch: int = 256             # points (centre included) and uniform targets per step
    steps: int = 300             # step budget
    lr: float = 3e-3             # AdamW learning rate (after global-norm clipping at 1)
    check_every: int = 25        # steps per early-stopping check
    patience: int = 3            # checks without relative improvement > tol before stopping
    tol: float = 1e-3            # relative improvement that counts
    quantile: float = 0.9        # radial quantile that sets the scale and the target ball's radius

    def __post_init__(self) -> None:
        if self.solver not in _SOLVERS:
            raise ValueError(f"solver must be one of {sorted(_SOLVERS)}, got {self.solver!r}")


_SOLVERS = ("tsit5", "heun", "euler")


@functools.cache
def _field_module():
    """The equinox vector field f(z, t) = MLP([z, t]) (last layer zero: the flow starts as the identity);
    as an ODE term it returns (f, mean_j |f(z_j, t)|^2), the second being the energy's integrand."""
    import equinox as eqx

    class Field(eqx.Module):
        mlp: eqx.nn.MLP

        def __init__(self, dim: int, hidden: int, depth: int, key):
            mlp = eqx.nn.MLP(dim + 1, dim, hidden, depth, activation=jax.nn.gelu, key=key)
            last = mlp.layers[-1]
            self.mlp = eqx.tree_at(lambda m: (m.layers[-1].weight, m.layers[-1].bias), mlp,
                                   (jnp.zeros_like(last.weight), jnp.zeros_like(last.bias)))

        def __call__(self, t, y, args):
            z, _ = y
            tz = jnp.concatenate([z, jnp.full((z.shape[0], 1), t, z.dtype)], axis=1)
            f = jax.vmap(self.mlp)(tz)
            return f, jnp.mean(jnp.sum(f * f, axis=1))

    return Field


def _flow(field_, z0, solver: str, n_steps: int):
    import diffrax

    solvers = {"tsit5": diffrax.Tsit5, "heun": diffrax.Heun, "euler": diffrax.Euler}
    sol = diffrax.diffeqsolve(diffrax.ODETerm(field_), solvers[solver](), t0=0.0, t1=1.0,
                              dt0=1.0 / n_steps, y0=(z0, jnp.zeros((), z0.dtype)),
                              saveat=diffrax.SaveAt(t1=True),
                              stepsize_controller=diffrax.ConstantStepSize(), max_steps=n_steps + 1)
    z1, energy = sol.ys
    return z1[0], energy[0]


@functools.lru_cache(maxsize=32)
def _mio_trainer(cfg: MIOConfig, n: int, dim: int):
    import equinox as eqx
    import optax

    Field = _field_module()
    opt = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(cfg.lr))
    B = min(cfg.batch, n)
    radius = 1.0 / cfg.quantile ** (1.0 / dim)

    def loss_fn(params, static, key, z0, r):
        fld = eqx.combine(params, static)
        kb, kt = jax.random.split(key)
        rows = jnp.concatenate([jnp.zeros(1, jnp.int32),
                                1 + jax.random.choice(kb, n - 1, (B - 1,), replace=False).astype(jnp.int32)])
        z1, energy = _flow(fld, z0[rows], cfg.solver, cfg.n_steps)
        z1 = z1 - z1[0]
        norm = jnp.sqrt(jnp.sum(z1[1:] ** 2, 1) + 1e-12)
        radial = jnp.mean((norm - r[rows][1:]) ** 2)
        target = _ball_jnp(kt, B, dim) * radius
        return cfg.w_mmd * _mmd2_jnp(z1, target) + cfg.w_radial * radial + cfg.w_energy * energy

    @jax.jit
    def train(key, z0, r):
        kinit, kloop = jax.random.split(key)
        params, static = eqx.partition(Field(dim, cfg.hidden, cfg.depth, kinit), eqx.is_array)
        params, steps, last = _train_loop(lambda p, k: loss_fn(p, static, k, z0, r), params, opt, kloop,
                                          cfg.steps, cfg.check_every, cfg.patience, cfg.tol)
        z1, energy = _flow(eqx.combine(params, static), z0, cfg.solver, cfg.n_steps)
        return z1 - z1[0], steps, last, energy

    return train


def fit_mioflattener(Z0: np.ndarray, radial: np.ndarray, scale: float, cfg: MIOConfig = MIOConfig(),
                     seed: int = 0) -> Flattened:
    """Flow an embedding Z0 (n, d; row 0 the centre, data units) toward the uniform d-ball.

    radial: the data's radial distances (penalty targets); scale: the unit of training (q-quantile of
    radial). Returns the flowed sample in data units, centre at the origin."""
    t0 = time.perf_counter()
    Z0 = np.asarray(Z0, dtype=np.float64)
    train = _mio_trainer(cfg, len(Z0), Z0.shape[1])
    z0 = jnp.asarray((Z0 - Z0[0]) / scale, F32)
    Z, steps, last, energy = train(jax.random.PRNGKey(int(seed)), z0, jnp.asarray(np.asarray(radial) / scale, F32))
    Z = np.asarray(Z, dtype=np.float64) * scale
    Z[0] = 0.0
    return Flattened(Z=Z, steps=int(steps), loss=float(last), seconds=time.perf_counter() - t0,
                     extra={"energy": float(energy)})


# ============================================================================ flatten one point

@dataclass(frozen=True)
class FlattenSettings:
    """Everything a flattened comparison space needs besides the data and the seed."""

    neighbourhood: int = 500     # points of the neighbourhood flattened (the k nearest, centre included)
    graph_knn: int = 30          # k of the kNN graph whose Dijkstra distances are d_M (10 inflates them by 5-10%)
    rfae: RFAEConfig = RFAEConfig()
    mio: MIOConfig = MIOConfig()


SPACES = ("rfae", "mioflattener")


def flatten(points: np.ndarray, centre: int, dim: int, space: str = "rfae",
            settings: FlattenSettings = FlattenSettings(), seed: int = 0) -> tuple[Flattened, Neighbourhood, dict]:
    """Flatten the neighbourhood of row `centre` with `space` ("rfae" or "mioflattener").

    Returns (result, neighbourhood, quality figures). For "mioflattener" the figures include the
    RFAE input's `rfae_mmd` and `rfae_radial_distortion`; both include `uniform_radial_w1`, the
    radial_w1 of a uniform ball of the same size (the uniform comparison's figure) and timings.
    """
    if space not in SPACES:
        raise ValueError(f"space must be one of {SPACES}, got {space!r}")
    nb = make_neighbourhood(points, centre, settings.neighbourhood, settings.graph_knn, settings.rfae.quantile)
    k_rfae, k_mio, k_q = np.random.default_rng([int(seed), int(centre)]).integers(0, 2**31 - 1, size=3)
    res = fit_rfae(nb, dim, settings.rfae, seed=int(k_rfae))
    extra = {"rfae_seconds": res.seconds, "rfae_steps": float(res.steps)}
    if space == "mioflattener":
        extra.update({"rfae_mmd": flatness(res.Z, int(k_q)),
                      "rfae_radial_distortion": radial_distortion(res.Z, nb.radial)})
        res = fit_mioflattener(res.Z, nb.radial, nb.scale, settings.mio, seed=int(k_mio))
        extra.update({"mio_seconds": res.seconds, "mio_steps": float(res.steps), "energy": res.extra["energy"]})
    q = quality(res.Z, nb, seed=int(k_q))
    U = uniform_ball(nb.n, dim, np.random.default_rng([int(k_q), 11]))
    U[0] = 0.0
    q["uniform_radial_w1"] = radial_w1(U, nb.radial)
    q["n_flat"] = float(nb.n)
    q.update(extra)
    return res, nb, q


# ============================================================================ comparison spaces

_SETTINGS: contextvars.ContextVar[FlattenSettings | None] = contextvars.ContextVar("flatten_settings", default=None)
_RECORD: contextvars.ContextVar[list | None] = contextvars.ContextVar("flatten_record", default=None)


@contextlib.contextmanager
def using(settings: FlattenSettings, record: list | None = None) -> Iterator[None]:
    """Within the block, the "rfae"/"mioflattener" comparison spaces use `settings`; when `record` is a
    list, every flattening appends (eval_row, quality figures) to it."""
    t1, t2 = _SETTINGS.set(settings), _RECORD.set(record)
    try:
        yield
    finally:
        _SETTINGS.reset(t1)
        _RECORD.reset(t2)


def _comparison(space: str):
    def fn(points: np.ndarray, eval_row: int, dim: int, n: int, rng: np.random.Generator) -> np.ndarray:
        seed = int(rng.integers(0, 2**31 - 1))
        res, _, q = flatten(points, int(eval_row), int(dim), space, _SETTINGS.get() or FlattenSettings(), seed)
        rec = _RECORD.get()
        if rec is not None:
            rec.append((int(eval_row), q))
        return res.Z
    fn.__name__ = f"{space}_comparison"
    fn.__doc__ = (f"The {space} flattening of the eval point's neighbourhood (settings from `using`); "
                  "`n` is ignored: the sample has min(neighbourhood, N) points, centre at row 0.")
    return fn


dfn.register_comparison("rfae")(_comparison("rfae"))
dfn.register_comparison("mioflattener")(_comparison("mioflattener"))
