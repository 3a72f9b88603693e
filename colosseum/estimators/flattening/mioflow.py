"""MIOFlattener (equinox + diffrax + optax): a neural ODE dz/dt = f(z, t) flows an RFAE
embedding from t = 0 to 1 toward a uniform distribution on the d-ball.

Losses: MMD^2 to fresh uniform draws of the d-ball, the radial loss of the RFAE kept as a penalty, and
an energy penalty  int_0^1 mean_j |f(z_j, t)|^2 dt  integrated along the path as an extra ODE state.
Deterministic solve (no noise in the field), gradients through the solver (discretise-then-optimise:
diffrax's RecursiveCheckpointAdjoint with a checkpoint at every step, so the backward pass reads the
stored steps instead of recomputing them; the gradients are bit-identical to diffrax's default, ~15 %
cheaper). Fixes of the reference bugs: energy integrated along the path; no noise inside the
deterministic solve; ball targets as Gaussian direction x U^(1/d); the scale and the target ball's
radius from the radial q-quantile, as for the RFAE.

Solver: Heun (2 field evaluations per step, 8 fixed steps) by default. Training time is the field's
evaluations and their backward pass, so Tsit5 (6 per step) costs ~2x as much per flattening. Against
Tsit5, on the quick preset's 32 points and 8-16 d = 3 quadric points (bench/bench_flattening.py), Heun
moved no dc_mioflattener estimate by more than 2e-4 (median 5e-6: the size of float noise carried
through training, 7e-5 at most from rewriting GELU in a float-equivalent form), under 1/20 of the median
change that retraining with other seeds makes (4e-3; the estimates' spread is 0.16), and changed no sign
and no early-stopping decision. Euler (1 per step) moved them by up to 5e-3, more than that median, and
is not the default.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from ..balls import uniform_ball_jax
from .metrics import flatness, mmd2_jax, radial_distortion
from .neighbourhood import Neighbourhood
from .rfae import RFAEConfig, RFAEFlattener
from .training import Flattened, FlattenKeys, train_loop

F32 = jnp.float32


@dataclass(frozen=True)
class MIOConfig:
    """MIOFlattener settings (static)."""

    hidden: int = 64             # width of the vector field's hidden layers
    depth: int = 2               # hidden layers of the vector field
    w_mmd: float = 1.0           # weight of MMD^2 to the uniform d-ball
    w_radial: float = 0.1        # weight of the radial-distance penalty
    w_energy: float = 1e-3       # weight of the path energy int_0^1 mean |f|^2 dt
    solver: str = "heun"         # diffrax solver: heun | tsit5 | euler (fixed steps; see the module docstring)
    n_steps: int = 8             # fixed solver steps over [0, 1]
    batch: int = 256             # points (centre included) and uniform targets per step
    steps: int = 300             # step budget
    lr: float = 3e-3             # AdamW learning rate (after global-norm clipping at 1)
    check_every: int = 25        # steps per early-stopping check
    patience: int = 3            # checks without relative improvement > tol before stopping
    tol: float = 1e-3            # relative improvement that counts
    quantile: float = 0.9        # radial quantile that sets the scale and the target ball's radius
    store_steps: bool = True     # backward pass from stored solver steps (False: diffrax's default checkpointing,
                                 # which recomputes them: the same gradients, slower; kept for the bench's before/after)

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


def _flow(field_, z0, solver: str, n_steps: int, store_steps: bool = True):
    import diffrax

    solvers = {"tsit5": diffrax.Tsit5, "heun": diffrax.Heun, "euler": diffrax.Euler}
    # a checkpoint per step: the backward pass recomputes nothing (None: diffrax's default, ~log2(steps) of them)
    adjoint = diffrax.RecursiveCheckpointAdjoint(checkpoints=n_steps + 1 if store_steps else None)
    sol = diffrax.diffeqsolve(diffrax.ODETerm(field_), solvers[solver](), t0=0.0, t1=1.0,
                              dt0=1.0 / n_steps, y0=(z0, jnp.zeros((), z0.dtype)),
                              saveat=diffrax.SaveAt(t1=True),
                              stepsize_controller=diffrax.ConstantStepSize(), max_steps=n_steps + 1,
                              adjoint=adjoint)
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
        z1, energy = _flow(fld, z0[rows], cfg.solver, cfg.n_steps, cfg.store_steps)
        z1 = z1 - z1[0]
        norm = jnp.sqrt(jnp.sum(z1[1:] ** 2, 1) + 1e-12)
        radial = jnp.mean((norm - r[rows][1:]) ** 2)
        target = uniform_ball_jax(kt, B, dim) * radius
        return cfg.w_mmd * mmd2_jax(z1, target) + cfg.w_radial * radial + cfg.w_energy * energy

    @jax.jit
    def train(key, z0, r):
        kinit, kloop = jax.random.split(key)
        params, static = eqx.partition(Field(dim, cfg.hidden, cfg.depth, kinit), eqx.is_array)
        params, steps, last = train_loop(lambda p, k: loss_fn(p, static, k, z0, r), params, opt, kloop,
                                          cfg.steps, cfg.check_every, cfg.patience, cfg.tol)
        z1, energy = _flow(eqx.combine(params, static), z0, cfg.solver, cfg.n_steps, cfg.store_steps)
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


@dataclass(frozen=True)
class MIOFlattener:
    """Flatten a neighbourhood by a neural ODE flowed toward the uniform d-ball (dc_mioflattener), starting
    from the RFAE embedding (`rfae_stage`, the default) or from the linear tangent chart (PCA of the
    neighbourhood), which tells what the RFAE stage adds.

    Its figures add the starting embedding's `rfae_mmd` and `rfae_radial_distortion` (the RFAE's, or the
    linear chart's without it), the flow's seconds, steps and path energy."""

    rfae: RFAEConfig = RFAEConfig()
    mio: MIOConfig = MIOConfig()
    rfae_stage: bool = True
    name: ClassVar[str] = "mioflattener"

    @property
    def quantile(self) -> float:
        return self.rfae.quantile

    def __call__(self, nb: Neighbourhood, dim: int, keys: FlattenKeys) -> tuple[Flattened, dict[str, float]]:
        if self.rfae_stage:
            first, extra = RFAEFlattener(self.rfae)(nb, dim, keys)
            start = first.Z
        else:
            _, _, vt = np.linalg.svd(nb.X - nb.X.mean(axis=0), full_matrices=False)
            start = (nb.X - nb.X[0]) @ vt[:dim].T
            extra = {"rfae_seconds": 0.0, "rfae_steps": 0.0}
        extra.update({"rfae_mmd": flatness(start, keys.quality),
                      "rfae_radial_distortion": radial_distortion(start, nb.radial)})
        res = fit_mioflattener(start, nb.radial, nb.scale, self.mio, seed=keys.mio)
        extra.update({"mio_seconds": res.seconds, "mio_steps": float(res.steps), "energy": res.extra["energy"]})
        return res, extra
