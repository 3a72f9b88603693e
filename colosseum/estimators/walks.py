"""Random walks on a Markov matrix: rows of P^t for the evaluation points only, and the truncation of a
measure to its heaviest atoms.

Rows of P^1 .. P^t come from row-vector products (never a matrix power): dense in JAX (a `lax.scan`,
JAX's default float32) or sparse (CSR, float64). Chunked, so that a few thousand rows of P^t on a
large cloud never sit in memory at once. Used by dc_entropy (and the flattened DC2), dc_laziness and
diffusion_orc; dc_wasserstein's spread engine (colosseum.estimators.spread) has its own products
shaped for its backends.
"""
from __future__ import annotations

import functools
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp

#: Entries of P^t rows held at once by `power_row_chunks`.
MAX_ELEMENTS = 20_000_000


def power_rows(P: np.ndarray | sp.csr_matrix, rows: np.ndarray, t_max: int) -> np.ndarray:
    """Rows `rows` of P^1 .. P^t_max, shape (t_max, len(rows), n), by row-vector products only.

    Sparse P: float64 products with P^T; dense P: JAX (default float32)."""
    rows = np.asarray(rows)
    if sp.issparse(P):
        out = np.empty((t_max, len(rows), P.shape[0]))
        for t, v in enumerate(_sparse_walk(P.T.tocsr(), rows, t_max)):
            out[t] = v.T
        return out
    return np.asarray(_dense_power_rows(jnp.asarray(P), jnp.asarray(rows), t_max))


def last_power_rows(PT: sp.csr_matrix, rows: np.ndarray, t: int) -> np.ndarray:
    """Rows `rows` of P^t alone, t >= 1 (float64, shape (len(rows), n)), given PT = P^T as CSR (transposed
    once by a caller that asks for many row blocks)."""
    for v in _sparse_walk(PT, rows, t):
        pass
    return v.T.copy()


def _sparse_walk(PT: sp.csr_matrix, rows: np.ndarray, t_max: int) -> Iterator[np.ndarray]:
    """For t = 1 .. t_max, the rows `rows` of P^t transposed, (n, len(rows)): t products with PT = P^T."""
    v = np.zeros((PT.shape[0], len(rows)))
    v[np.asarray(rows), np.arange(len(rows))] = 1.0
    for _ in range(t_max):
        v = PT @ v
        yield v


@functools.partial(jax.jit, static_argnums=2)
def _dense_power_rows(P, rows, t_max):
    def step(v, _):
        return v @ P, v
    _, out = jax.lax.scan(step, P[rows], None, length=t_max)  # out[t] = rows of P^(t+1)
    return out


def power_row_chunks(P: np.ndarray | sp.csr_matrix, rows: np.ndarray, t_max: int,
                     max_elements: int = MAX_ELEMENTS) -> Iterator[tuple[slice, np.ndarray]]:
    """`power_rows(P, rows[sl], t_max)` for consecutive slices sl of the rows, each holding at most about
    `max_elements` entries: yields (sl, rows of P^1 .. P^t_max shaped (t_max, len(sl), n)).

    A dense P is converted to CSR first: with ~knn entries per row the sparse row products are ~5x
    faster than the dense ones even at n = 3000 (the dense product reads all n^2 entries at every step).
    """
    rows = np.asarray(rows)
    P = P if sp.issparse(P) else sp.csr_matrix(P)
    chunk = max(1, int(max_elements // (t_max * P.shape[0])))
    for i in range(0, len(rows), chunk):
        sl = slice(i, min(i + chunk, len(rows)))
        yield sl, power_rows(P, rows[sl], t_max)


def truncate(p: np.ndarray, mass: float, max_atoms: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The heaviest atoms of the measure p holding `mass` of its total (all atoms with p > 0 when
    mass >= 1), at most `max_atoms` of them: (rows by decreasing p, ties by row number; their masses p,
    not renormalised)."""
    order = np.argsort(-p, kind="stable")
    ps = p[order]
    c = np.cumsum(ps)
    k = int(np.count_nonzero(ps > 0)) if mass >= 1 else int(np.searchsorted(c, mass * c[-1])) + 1
    k = max(1, min(k, len(p), max_atoms or len(p)))
    return order[:k], ps[:k]
