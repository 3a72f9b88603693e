"""Training of the neural flatteners: one jitted loop, its result, and the seeds of one flattening.

The loop is a `lax.while_loop` over chunks of `check_every` steps, each chunk a `lax.scan`: early
stopping when the chunk-mean loss has not improved by a relative `tol` for `patience` chunks, and
never more than `steps` steps. All randomness comes from the seed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np


@dataclass(frozen=True)
class FlattenKeys:
    """The seeds of one flattening: RFAE training, flow training, and the quality figures' draws."""

    rfae: int
    mio: int
    quality: int


@dataclass(frozen=True)
class Flattened:
    """A flattened neighbourhood: Z (n, d) in the data's units, centre (row 0) at the origin."""

    Z: np.ndarray
    steps: int
    loss: float
    seconds: float
    extra: dict = field(default_factory=dict)


def train_loop(loss_fn, params, opt, key, steps: int, check_every: int, patience: int, tol: float):
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
        mean = jnp.mean(losses).astype(jnp.float32)
        better = jnp.isinf(best) | (mean < best - tol * jnp.abs(best))
        return (p, s, c + 1, jnp.where(better, mean, best), jnp.where(better, 0, bad + 1), mean)

    def cont(state):
        _, _, c, _, bad, _ = state
        return (c < n_chunks) & (bad < patience)

    init = (params, opt.init(params), jnp.int32(0), jnp.asarray(jnp.inf, jnp.float32), jnp.int32(0),
            jnp.asarray(jnp.inf, jnp.float32))
    p, _, c, _, _, last = jax.lax.while_loop(cont, chunk, init)
    return p, c * check_every, last
