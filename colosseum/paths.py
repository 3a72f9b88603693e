"""Where the project's folders are: the built-in plugin folders and the Hydra config tree.

The package is installed editable from the repository, so they sit beside `colosseum/`;
`COLOSSEUM_HOME` points elsewhere when needed.
"""
from __future__ import annotations

import os
from pathlib import Path

HOME = Path(os.environ.get("COLOSSEUM_HOME", Path(__file__).resolve().parent.parent))
CONFIGS = HOME / "configs"
METHODS = HOME / "methods"
DATASETS = HOME / "datasets"
DENOISERS = HOME / "denoisers"
RESULTS = HOME / "results"
