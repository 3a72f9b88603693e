"""The flat control: a d-dimensional square patch (truth 0, left out of sign accuracy by zero_tol)."""
import jax.numpy as jnp
import numpy as np

from colosseum.domains import Box
from colosseum.registry import register_dataset
from colosseum.sampling import cloud_from_parameters, interior_rows


@register_dataset("plane")
def plane(*, seed: int, dim: int = 2, half_width: float = 1.0, n_points: int = 1000, n_eval: int = 8,
          eval_margin: float = 0.5, noise: float = 0.0, ambient_dim: int | None = None,
          zero_tol: float = 1e-9):
    if dim < 1 or half_width <= 0:
        raise ValueError(f"plane needs dim >= 1 and half_width > 0; got dim={dim}, half_width={half_width}")
    if not 0 <= eval_margin < 1:
        raise ValueError(f"eval_margin is a fraction of half_width in [0, 1), got {eval_margin}")
    rng = np.random.default_rng(seed)
    box = Box(dim, half_width)
    u = np.concatenate([np.zeros((1, dim)), box.propose(n_points - 1, rng)])  # flat: uniform is volume-uniform

    def embed(x):
        return jnp.concatenate([x, jnp.zeros(1)])

    rows = interior_rows(box.boundary_distance(u), eval_margin * half_width, n_eval, rng)
    return cloud_from_parameters(embed, u, rows, dim=dim, ambient_dim=ambient_dim, noise=noise, rng=rng,
                                 meta={"kind": "patch"})
