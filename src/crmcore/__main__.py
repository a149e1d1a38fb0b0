"""``python -m crmcore`` runs the command line."""

from crmcore.cli import main

raise SystemExit(main())
