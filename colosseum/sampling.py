"""Sampling point clouds on parametrized manifolds: uniform in Riemannian volume, then rotated and noised.

Volume-uniform sampling is rejection on the parameter domain with acceptance sqrt(det g)/M.
M must bound sqrt(det g): it comes from the caller (exact, e.g. a convex density's vertices) or
from a dense grid times a safety margin; every proposal is checked against it, and a violation
enlarges M and redraws (counted in the returned info), so the bound is never silently clipped.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .domains import Domain
from .geometry import Embedding, volume_element


def density_bound(embed: Embedding, domain: Domain, margin: float = 1.2, max_grid: int = 20_000) -> float:
    """An upper bound of sqrt(det g) over the domain: max over a dense grid and the vertices, times margin."""
    per_axis = max(3, int(round(max_grid ** (1.0 / domain.dim))))
    pts = np.concatenate([domain.grid(per_axis), domain.vertices()])
    return float(volume_element(embed, pts).max()) * margin


@dataclass(frozen=True)
class DensityGradient:
    """A sampling density that grows linearly across the manifold along one coordinate: relative density
    1 + slope * (x - centre) / extent, from 1 - slope at one edge to 1 + slope at the other (1 at the
    centre). x is the first parameter u_0 (patches: a chart axis) or, when `coordinate` is given, that
    function of the parameters (closed manifolds: the first clean ambient coordinate, see
    `ambient_gradient`). It changes where points fall, never the truth: the known confound of diffusion
    methods, whose walks drift toward the denser side. `acceptance(u)` is the density over its maximum."""

    slope: float
    extent: float
    coordinate: Callable[[np.ndarray], np.ndarray] | None = None
    centre: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.slope < 1 or not self.extent > 0:
            raise ValueError(f"density_slope must be in [0, 1) and the extent > 0, got {self.slope}, {self.extent}")

    def acceptance(self, u: np.ndarray) -> np.ndarray:
        u = np.atleast_2d(u)
        x = u[:, 0] if self.coordinate is None else np.asarray(self.coordinate(u), dtype=np.float64)
        rel = 1.0 + self.slope * np.clip((x - self.centre) / self.extent, -1.0, 1.0)
        return rel / (1.0 + self.slope)


def ambient_gradient(embed: Embedding, domain: Domain, slope: float,
                     coordinate: Callable[[np.ndarray], np.ndarray] | None = None,
                     per_axis: int = 101) -> DensityGradient | None:
    """The density gradient of a closed manifold (no chart axis runs across it): along the first ambient
    coordinate x_1 of the clean embedding (`coordinate(u)` when given in closed form, else by evaluating
    `embed`), centred and scaled by its range over a dense parameter grid, so the relative density runs
    from 1 - slope to 1 + slope across the cloud. None when slope is 0."""
    if not slope:
        return None
    if coordinate is None:
        from .geometry import point_function

        embedded = point_function(embed)

        def coordinate(u: np.ndarray) -> np.ndarray:
            return embedded(u)[:, 0]
    x = coordinate(domain.grid(max(3, int(round(per_axis ** (2.0 / domain.dim))))))
    lo, hi = float(x.min()), float(x.max())
    return DensityGradient(slope, (hi - lo) / 2, coordinate=coordinate, centre=(hi + lo) / 2)


def thin(draw, n: int, gradient: DensityGradient | None, rng: np.random.Generator) -> np.ndarray:
    """n rows of `draw(k)` (k candidate rows, uniform in volume), each kept with the gradient's acceptance."""
    if gradient is None or gradient.slope == 0:
        return draw(n)
    out, count = [], 0
    while count < n:
        cand = draw(max(1024, 3 * (n - count)))
        keep = cand[rng.uniform(size=len(cand)) < gradient.acceptance(cand)]
        out.append(keep)
        count += len(keep)
    return np.concatenate(out)[:n]


def volume_uniform(embed: Embedding, domain: Domain, n: int, rng: np.random.Generator,
                   bound: float | None = None, batch: int = 4096,
                   gradient: DensityGradient | None = None) -> tuple[np.ndarray, dict]:
    """n parameters distributed uniformly in the Riemannian volume of `embed` over `domain` (times the
    density gradient, when one is given).

    Returns (u (n, d), info) where info records the bound used and how often it had to grow.
    """
    m = density_bound(embed, domain) if bound is None else float(bound)
    info = {"density_bound": m, "bound_violations": 0, "proposals": 0}
    accepted: list[np.ndarray] = []
    count = 0
    while count < n:
        u = domain.propose(max(batch, 2 * (n - count)), rng)
        dens = volume_element(embed, u)
        info["proposals"] += len(u)
        if dens.max() > m:  # the bound was not a bound: enlarge it and start over, unbiased
            info["bound_violations"] += 1
            m = float(dens.max()) * 1.2
            info["density_bound"] = m
            accepted, count = [], 0
            continue
        if gradient is not None and gradient.slope > 0:
            dens = dens * gradient.acceptance(u)
        keep = u[rng.uniform(size=len(u)) * m < dens]
        accepted.append(keep)
        count += len(keep)
        info["accepted"] = info.get("accepted", 0) + len(keep)
    info["acceptance_rate"] = info.pop("accepted", 0) / info["proposals"]
    return np.concatenate(accepted)[:n], info


def random_rotation(dim: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-random orthogonal matrix (QR of a Gaussian matrix with the sign fix)."""
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    return q * np.sign(np.diag(r))


def check_ambient(ambient_dim: int | None, natural: int, name: str = "dataset") -> None:
    """SkipCell when a requested ambient dimension is below the dimension the shape itself needs: a
    battery's "rotate into R^20" does not apply to an image manifold in R^256; the cell is declined,
    with the reason, rather than failed."""
    if ambient_dim is not None and ambient_dim < natural:
        from .contract import SkipCell

        raise SkipCell(f"{name}: ambient_dim={ambient_dim} is below the {natural} dimensions its shape needs "
                       f"(null or >= {natural}): a cloud in R^{ambient_dim} does not apply to it")


def place_in_ambient(points: np.ndarray, ambient_dim: int, rng: np.random.Generator,
                     rotate: bool = True) -> np.ndarray:
    """Pad points with zero coordinates up to ambient_dim and apply a random rotation."""
    n, k = points.shape
    check_ambient(ambient_dim, k)
    out = np.concatenate([points, np.zeros((n, ambient_dim - k))], axis=1)
    return out @ random_rotation(ambient_dim, rng).T if rotate else out


def add_noise(points: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Isotropic Gaussian noise N(0, sigma^2 I_D) on every row."""
    if sigma < 0:
        raise ValueError(f"noise must be >= 0, got {sigma}")
    return points + sigma * rng.standard_normal(points.shape) if sigma > 0 else points


def geodesic_cap(dim: int, angle: float, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n points uniform on the geodesic cap of angular radius `angle` around the pole of the unit S^dim.

    Returns (directions (n, dim) on S^(dim-1), polar angles psi (n,)); psi has density
    proportional to sin(psi)^(dim-1) on [0, angle].
    """
    if not 0 < angle <= np.pi:
        raise ValueError(f"cap angle must be in (0, pi], got {angle}")
    peak = 1.0 if angle >= np.pi / 2 else np.sin(angle)
    psi: list[np.ndarray] = []
    count = 0
    while count < n:
        prop = rng.uniform(0.0, angle, size=max(1024, 2 * (n - count)))
        keep = prop[rng.uniform(size=prop.size) * peak ** (dim - 1) < np.sin(prop) ** (dim - 1)]
        psi.append(keep)
        count += keep.size
    direction = rng.standard_normal((n, dim))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    return direction, np.concatenate(psi)[:n]


def pick_rows(eligible: np.ndarray, count: int, rng: np.random.Generator,
              always: tuple[int, ...] = (0,)) -> np.ndarray:
    """Evaluation rows: the rows in `always`, then `count - len(always)` random eligible rows, sorted."""
    pool = np.setdiff1d(np.nonzero(eligible)[0], np.asarray(always, dtype=int))
    extra = max(0, count - len(always))
    if pool.size < extra:
        raise ValueError(f"only {pool.size} points are eligible as evaluation points but {extra} were asked "
                         "for (lower n_eval or eval_margin, or raise n_points)")
    picked = rng.choice(pool, size=extra, replace=False) if extra else np.zeros(0, dtype=int)
    return np.concatenate([np.asarray(always, dtype=int), np.sort(picked)]).astype(np.int64)


def interior_rows(boundary_distance: np.ndarray, margin: float, count: int, rng: np.random.Generator,
                  always: tuple[int, ...] = (0,)) -> np.ndarray:
    """Evaluation rows at least `margin` from the domain's boundary (plus the rows in `always`)."""
    return pick_rows(boundary_distance >= margin, count, rng, always)


def sign_balanced_rows(truth: np.ndarray, eligible: np.ndarray, count: int, threshold: float,
                       rng: np.random.Generator, first_sign: int = 1) -> np.ndarray:
    """Evaluation rows balanced between the signs: count // 2 rows with truth > threshold and as many with
    truth < -threshold, drawn at random among the eligible rows (an odd count gives the extra row to
    `first_sign`); sorted. ValueError when one sign has too few eligible rows (the caller may redraw)."""
    truth, eligible = np.asarray(truth, dtype=np.float64), np.asarray(eligible, dtype=bool)
    half = count // 2
    want = {1: half + (count % 2 if first_sign > 0 else 0), -1: half + (count % 2 if first_sign < 0 else 0)}
    picked = []
    for sign in (1, -1):
        pool = np.nonzero(eligible & (sign * truth > threshold))[0]
        if pool.size < want[sign]:
            raise ValueError(f"only {pool.size} eligible rows have {'S >' if sign > 0 else 'S <'} "
                             f"{sign * threshold:+.3g} but {want[sign]} were asked for")
        picked.append(rng.choice(pool, size=want[sign], replace=False))
    return np.sort(np.concatenate(picked)).astype(np.int64)


def evaluate(embed: Embedding, u: np.ndarray) -> np.ndarray:
    """embed applied to each row of u, in float64, as a numpy array (N, k)."""
    from .geometry import points

    return points(embed, u)


NOISE_SCALES = ("absolute", "diameter")


def diameter(points: np.ndarray, chunk: int = 2048) -> float:
    """The largest distance between two points of a cloud (exact; in blocks, never an n x n matrix)."""
    from scipy.spatial.distance import cdist

    pts = np.asarray(points, dtype=np.float64)
    best = 0.0
    for i in range(0, len(pts), chunk):
        best = max(best, float(cdist(pts[i:i + chunk], pts[i:]).max(initial=0.0)))
    return best


def cloud_from_parameters(embed: Embedding, u: np.ndarray, eval_rows: np.ndarray, *, dim: int,
                          ambient_dim: int | None, noise: float, rng: np.random.Generator,
                          meta: dict | None = None, noise_scale: str = "absolute"):
    """Build a Sample: embed u, rotate into R^ambient_dim, add noise; truth from the Gauss equation.

    noise_scale: "absolute" (noise is the standard deviation) or "diameter" (noise is a fraction of the
    clean cloud's diameter, so clouds of any size are noised alike). The truth at each evaluation row is
    the scalar curvature at its clean parameter (kept as meta["eval_params"]); the evaluation rows are
    noised like every other row (recorded in meta, with the standard deviation used, `noise_sd`).
    """
    from .geometry import scalar_curvature

    clean = evaluate(embed, u)
    truth = scalar_curvature(embed, u[eval_rows])
    return finish_cloud(clean, eval_rows, truth, np.asarray(u[eval_rows]), dim=dim, ambient_dim=ambient_dim,
                        noise=noise, rng=rng, meta=meta, noise_scale=noise_scale)


def finish_cloud(clean: np.ndarray, eval_rows: np.ndarray, truth: np.ndarray, eval_params: np.ndarray, *,
                 dim: int, ambient_dim: int | None, noise: float, rng: np.random.Generator,
                 meta: dict | None = None, noise_scale: str = "absolute"):
    """The Sample of clean embedded points (N, k) whose truth at `eval_rows` is known: rotated into
    R^ambient_dim and noised as `cloud_from_parameters` describes (which ends here). For datasets that
    sample their points directly (exact samplers) and compute the truth through their own charts."""
    from .contract import Sample

    ambient = clean.shape[1] if ambient_dim is None else int(ambient_dim)
    if ambient <= dim:
        raise ValueError(f"ambient_dim must exceed the intrinsic dimension {dim}, got {ambient}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    if noise_scale not in NOISE_SCALES:
        raise ValueError(f"noise_scale must be one of {NOISE_SCALES}, got {noise_scale!r}")
    extra = {}
    sd = float(noise)
    if noise_scale == "diameter":
        extra["diameter"] = diameter(clean)
        sd = float(noise) * extra["diameter"]
    points = add_noise(place_in_ambient(clean, ambient, rng), sd, rng)
    info = {"ambient_dim": ambient, "eval_rows_noised": sd > 0, "eval_params": np.asarray(eval_params),
            "noise_sd": sd, **extra, **(meta or {})}
    return Sample(points=points, eval_idx=np.asarray(eval_rows, dtype=np.int64), curvature=np.asarray(truth),
                  dim=dim, meta=info)
