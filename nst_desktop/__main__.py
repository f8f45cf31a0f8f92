"""``nst-desktop [CONTENT [STYLE]]`` and ``python -m nst_desktop``: start the desktop app.

``--self-test`` checks the installation without opening a window. Before Qt is imported, the
system libraries its X11 window needs are checked: when one is missing, one line names them and
the command that installs them (exit status 1), instead of Qt's abort.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--self-test" in args:
        from nst_desktop.selftest import run_self_test

        return run_self_test()
    from nst_desktop.system_libs import missing_message, missing_window_libraries

    missing = missing_window_libraries()
    if missing:
        print(missing_message(missing), file=sys.stderr)
        return 1
    from nst_desktop.ui.app import run_app

    return run_app(args)


if __name__ == "__main__":
    raise SystemExit(main())
