"""Geodesic caps of the d-sphere: uniformly sampled patches of constant positive curvature."""
import jax.numpy as jnp
import numpy as np

from colosseum.registry import register_dataset
from colosseum.sampling import cloud_from_parameters, geodesic_cap, interior_rows


def stereographic(radius: float):
    """Sphere of the given radius, parametrized by stereographic coordinates from the south pole.

    u = 0 is the north pole; smooth everywhere except at the south pole, so autodiff works
    at the cap's centre (geodesic polar coordinates do not).
    """
    def embed(u):
        s = jnp.sum(u * u)
        return radius * jnp.concatenate([2 * u, (1 - s)[None]]) / (1 + s)
    return embed


@register_dataset("sphere_cap")
def sphere_cap(*, seed: int, dim: int = 2, radius: float = 1.0, cap_angle: float = 1.0,
               n_points: int = 1000, n_eval: int = 8, eval_margin: float = 0.5, noise: float = 0.0,
               ambient_dim: int | None = None, zero_tol: float = 1e-6):
    if dim < 1 or radius <= 0 or not 0 < cap_angle < np.pi:
        raise ValueError(f"sphere_cap needs dim >= 1, radius > 0 and 0 < cap_angle < pi; "
                         f"got dim={dim}, radius={radius}, cap_angle={cap_angle}")
    if not 0 <= eval_margin < 1:
        raise ValueError(f"eval_margin is a fraction of the cap angle in [0, 1), got {eval_margin}")
    rng = np.random.default_rng(seed)
    direction, psi = geodesic_cap(dim, cap_angle, n_points - 1, rng)
    u = np.concatenate([np.zeros((1, dim)), direction * np.tan(psi / 2)[:, None]])  # row 0: the pole
    psi = np.concatenate([[0.0], psi])
    rows = interior_rows(cap_angle - psi, eval_margin * cap_angle, n_eval, rng)
    return cloud_from_parameters(stereographic(radius), u, rows, dim=dim, ambient_dim=ambient_dim,
                                 noise=noise, rng=rng, meta={"kind": "patch"})
