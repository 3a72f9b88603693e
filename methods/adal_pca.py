"""adal_pca: scalar curvature of a surface from AdaL-PCA's adaptive local PCA and normal curvatures
(reference: Zhang, Mezrag, ..., Wolf, Rieck, arXiv 2502.03750, 2025; LydiaMez/AdaL-PCA `adlPCA.py`). The
algorithm, its scale-free radius grid (in units of the cloud's radius of gyration) and the reference's
bugs left out are in colosseum.estimators.adal_pca. Surfaces only: any d other than 2 is a skipped cell.
The seed is unused."""
from typing import Annotated

from colosseum.contract import SkipCell
from colosseum.params import Count, Range
from colosseum.registry import register_method


@register_method("adal_pca", scalar_units=True)
def adal_pca(points, eval_idx, dim, *, seed: int, target_ratio: Annotated[float, Range(gt=0, lt=1)] = 0.85,
             radius_step: Annotated[float, Range(gt=0)] = 0.01, n_radii: Count = 149,
             principal_fraction: Annotated[float, Range(gt=0, le=0.5)] = 0.3):
    if dim != 2:
        raise SkipCell(f"adal_pca estimates surfaces only (d = 2), got d = {dim}")
    from colosseum.estimators import adal_pca as core
    return core.adal_pca_curvature(points, eval_idx, target_ratio=target_ratio, radius_step=radius_step,
                                   n_radii=n_radii, principal_fraction=principal_fraction)
