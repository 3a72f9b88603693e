"""dc_peer: the published PyPI package diffusion-curvature 0.0.3, run as it is (a peer reference).

It builds `graphtools.Graph(points, knn=, decay=, anisotropy=)`, raises the random walk to t
(dense float64), takes PHATE distances and the Wasserstein spread, and compares with one flat
uniform sample of [-1, 1]^d drawn from NumPy's *global* RNG: `DiffusionCurvature(t).curvature(G,
dimension=dim).ks`. Here the global RNG is seeded from `seed` for the call and restored afterwards,
so the cell is reproducible and leaves no trace. Its bugs are kept on purpose (one flat draw);
`dc_wasserstein` is the re-implementation.

Optional: `pip install -e .[peers]`. Without the package the cell is `skipped` (SkipCell), not an
error. Clouds above `max_points` are skipped too: the package holds about six dense n x n float64
matrices (n = 10^4: ~5 GB).
"""
import numpy as np

from colosseum.contract import SkipCell
from colosseum.params import Count, Positive, Probability
from colosseum.registry import register_method


@register_method("dc_peer")
def dc_peer(points, eval_idx, dim, *, seed: int, t: Count = 8, knn: Count = 30, decay: Positive = 40.0,
            anisotropy: Probability = 1.0, max_points: Count = 10000):
    try:
        import graphtools
        from diffusion_curvature.graphtools import DiffusionCurvature
    except Exception as exc:  # any import failure means the peer cannot run here
        raise SkipCell("diffusion-curvature is not installed: pip install -e .[peers]"
                       f" ({type(exc).__name__}: {exc})") from exc
    n = len(points)
    if n > max_points:
        raise SkipCell(f"dc_peer: n = {n} > max_points = {max_points} (the package holds several dense "
                       f"n x n float64 matrices, ~{6 * 8 * n * n / 1e9:.1f} GB)")
    state = np.random.get_state()
    try:
        np.random.seed(seed)  # the package draws its flat sample from the global RNG
        G = graphtools.Graph(np.array(points, dtype=np.float64), knn=int(knn), decay=decay,
                             anisotropy=anisotropy, verbose=False)
        G = DiffusionCurvature(t=int(t)).curvature(G, dimension=int(dim))
        ks = np.asarray(G.ks, dtype=np.float64)
    finally:
        np.random.set_state(state)
    return ks[np.asarray(eval_idx)]
