"""The ``skdrop`` command line: ``skdrop analyze`` and ``skdrop demo``.

``_analyze`` runs the study of one table over the public estimators,
:mod:`skdrop.inspection` and :mod:`skdrop.metrics` (``_baselines`` holds
the models set beside the networks); ``_html`` writes its report and
``_cli`` parses the command line.  No other package imports this one.
"""

from ._cli import main

__all__ = ["main"]
