"""Progress bars of the verbose fits and searches (tqdm, no scikit-learn).

Every layer may import this module: the estimators, the searches and the
torch engine's callers report progress through it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from tqdm.auto import tqdm

Progress = Callable[[int, float], None]


def progress_bar(
    iterable: Iterable[Any] | None = None,
    *,
    total: int | None = None,
    verbose: bool,
    desc: str,
    unit: str,
) -> Any:
    """A tqdm bar over ``iterable`` (or of ``total`` steps, advanced with
    ``update``), shown only when ``verbose``."""
    return tqdm(iterable, total=total, disable=not verbose, desc=desc, unit=unit)


@contextmanager
def loss_progress(
    total: int, *, verbose: bool, desc: str, unit: str
) -> Iterator[Progress]:
    """A bar of ``total`` steps, and the callback ``progress(step, loss)``
    that the solvers call once per iteration (or epoch): it advances the
    bar and shows the loss."""
    with progress_bar(total=total, verbose=verbose, desc=desc, unit=unit) as bar:

        def progress(step: int, loss: float) -> None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4g}")

        yield progress
