"""Write the saved models that ``tests/test_saved_models.py`` loads.

The committed files were written by skdrop 0.2.0 at commit e8dc0b2, the
last commit before the engine and package layout changed (issue 26): an old
pickle names modules such as ``skdrop._mlp_classifier`` that now live
elsewhere.  Each case is a small estimator fitted on a fixed table; the file
``expected.npz`` holds what it predicted when it was saved.  Running this
script again overwrites the files with the current code's, which is only
right when the saved format changes on purpose.

    python tests/data/saved_models/make_saved_models.py
"""

from __future__ import annotations

import pickle
import sys
import warnings
from pathlib import Path

import numpy as np
import skops.io as sio

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent.parent.parent))

import skdrop  # noqa: E402
from tests.data.saved_models.cases import CASES, outputs, table  # noqa: E402


def main() -> None:
    warnings.simplefilter("ignore")
    expected = {}
    for name, (make, data) in CASES.items():
        X, y = table(data)
        model = make().fit(X, y)
        (HERE / f"{name}.pkl").write_bytes(pickle.dumps(model, protocol=4))
        sio.dump(model, HERE / f"{name}.skops")
        for key, value in outputs(model, X).items():
            expected[f"{name}/{key}"] = value
    np.savez_compressed(HERE / "expected.npz", **expected)
    (HERE / "VERSION").write_text(f"{skdrop.__version__}\n")


if __name__ == "__main__":
    main()
