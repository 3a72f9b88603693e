"""The shared pieces of every curvature estimator, one home each.

- balls: the one uniform d-ball (and cube) sampler, NumPy and JAX;
- flat: flat references: the one seeding rule (`flat_rng`), the "uniform" / "cube" comparison
  spaces, `comparison_stats`, interior reference rows of a flat ball;
- knn: the one k-nearest-neighbour graph with Euclidean edge lengths, shortest paths, geodesics;
- kernels: diffusion kernels (curvature-agnostic, fixed, adaptive, graphtools-style) and Markov matrices;
- walks: rows of P^t (dense JAX or sparse), chunked, and the truncation of a measure to its heaviest atoms;
- local_dimension: local-PCA intrinsic dimension at a row.

This file holds a docstring only: a plugin's code identity is the import closure of its file
(colosseum.codehash), so importing one module here must not pull in the others.
"""
