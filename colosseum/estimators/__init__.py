"""The shared pieces of every curvature estimator, one home each.

- balls: the one uniform d-ball (and cube) sampler, NumPy and JAX.

This file holds a docstring only: a plugin's code identity is the import closure of its file
(colosseum.codehash), so importing one module here must not pull in the others.
"""
