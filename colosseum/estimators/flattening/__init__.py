"""Neural flattening of one evaluation point's neighbourhood into R^d, and DC2 against it.

- neighbourhood: the k nearest rows of a point, their graph geodesics and unit of length;
- metrics: flattening-quality figures (radial distortion, kNN overlap, MMD^2, flatness, radial W1);
- training: the jitted early-stopping training loop and the `Flattened` result;
- rfae: the radial flattening autoencoder (flax + optax);
- mioflow: the MIOFlattener, a neural ODE flowing an RFAE embedding toward the uniform d-ball
  (equinox + diffrax + optax);
- flattened: flatten a point's neighbourhood with a flattener and run DC2 (colosseum.estimators.dc2)
  against the flattening (dc_rfae, dc_mioflattener).

flax, optax, diffrax and equinox are imported inside the functions that use them (~3 s of imports
that plugin discovery would otherwise pay).
"""
