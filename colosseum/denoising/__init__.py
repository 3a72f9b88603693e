"""Denoisers of point clouds, one per module, each from its literature: the cores of the plugins in
`denoisers/` (docstring only: a plugin's code identity is the import closure of its file).

Every denoiser maps a cloud (N, D) to a cloud of the same shape, row i moved toward the manifold near
row i, and is a pure function of (points, dim, parameters). They work in any ambient dimension; their
neighbourhood sizes are counts of neighbours, so they are scale-free.
"""
