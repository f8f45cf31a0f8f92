"""``python -m nst_desktop.cli``: the same as ``nst-desktop-cli``."""

from nst_desktop.cli import main

raise SystemExit(main())
