"""Entry script of the frozen app.

PyInstaller builds two executables from this one script into the same folder:
``nst-desktop`` (the window; windowed on Windows and macOS) and ``nst-desktop-cli``
(the command line; a console program on Windows). Which one runs is told from the
executable's own name; both accept ``--self-test``.
"""

from __future__ import annotations

import multiprocessing
import sys
from pathlib import Path


def _main() -> int:
    if Path(sys.executable).stem.lower().endswith("-cli") and "--self-test" not in sys.argv[1:]:
        from nst_desktop.cli import main as cli_main

        return cli_main()
    from nst_desktop.__main__ import main as gui_main

    return gui_main()


if __name__ == "__main__":
    multiprocessing.freeze_support()
    raise SystemExit(_main())
