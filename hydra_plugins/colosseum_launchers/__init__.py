"""Hydra launcher plugins of the Curvature Colosseum (found by Hydra in the `hydra_plugins` namespace)."""
