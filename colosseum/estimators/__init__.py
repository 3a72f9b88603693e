"""The shared pieces of every curvature estimator, one home each; the method plugins in `methods/` are
thin wrappers around them (their signature, typed parameters, and one call into a module here).

What lives here:
- balls: the one uniform d-ball (and cube) sampler, NumPy and JAX;
- flat: flat references: the one seeding rule (`flat_rng`), the "uniform" / "cube" comparison
  spaces, `comparison_stats`, interior reference rows of a flat ball;
- knn: the one k-nearest-neighbour graph with Euclidean edge lengths, shortest paths, geodesics;
- kernels: diffusion kernels (curvature-agnostic, fixed, adaptive, graphtools-style) and Markov matrices;
- walks: rows of P^t (dense JAX or sparse), chunked, and the truncation of a measure to its heaviest atoms;
- local_dimension: local-PCA intrinsic dimension at a row;
- dc2 (diffusion entropy), laziness, spread (Wasserstein spread), diffusion_orc, graph_curvature
  (Ollivier-Ricci and Forman-Ricci on the kNN graph), ball_volume (Hickok-Blumberg), quadratic_fit
  (Sritharan), diffusion_geometry (Jones: carré du champ and the Gauss equation): one estimator core each;
- flattening: neural flatteners of a point's neighbourhood (RFAE, MIOFlattener) and DC2 against them.

Rules:
- One job per module, a short docstring saying what and why; pure functions and frozen dataclasses.
- No plugin imports another plugin or looks one up in the registry: shared logic lives here.
- This file and every `__init__.py` below it hold a docstring only. A plugin's code identity is the
  import closure of its file (colosseum.codehash), so each module imports only what it uses: editing
  dc2.py changes the hash of dc_entropy, dc_rfae and dc_mioflattener and of nothing else.
- Comparison spaces are passed as values (`flat.ComparisonSpace`), never looked up in a global
  registry: what a method computes never depends on which plugins happen to be loaded.
"""
