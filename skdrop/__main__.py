"""``python -m skdrop`` runs the command-line interface."""

from ._report import main

raise SystemExit(main())
