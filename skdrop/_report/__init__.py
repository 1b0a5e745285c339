"""The ``skdrop`` command line: ``skdrop analyze`` and ``skdrop demo``.

:mod:`._analyze` runs the study of one table over the public estimators,
:mod:`.inspection` and :mod:`.metrics`; :mod:`._html` writes its report and
:mod:`._cli` parses the command line.  Nothing below imports this package.
"""

from ._cli import main

__all__ = ["main"]
