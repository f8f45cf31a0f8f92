#!/bin/sh
# Install NST Desktop for the current user, without root (from the unpacked .tar.gz).
#
#   ./install.sh                 install (or update) into your XDG folders
#   ./install.sh --uninstall     remove it again (same as $XDG_DATA_HOME/nst-desktop/uninstall.sh)
#
# Where things go (XDG Base Directory spec; XDG_DATA_HOME defaults to ~/.local/share):
#   app folder   $XDG_DATA_HOME/nst-desktop/
#   launchers    ~/.local/bin/nst-desktop, ~/.local/bin/nst-desktop-cli  (override: NST_BIN_DIR)
#   menu entry   $XDG_DATA_HOME/applications/<id>.desktop  ("Open with NST Desktop" for images)
#   icons        $XDG_DATA_HOME/icons/hicolor/*/apps/<id>.{png,svg}
#   metainfo     $XDG_DATA_HOME/metainfo/<id>.metainfo.xml
# Every installed file is listed in <app folder>/.installed-files; uninstall removes exactly those.
set -eu

SRC=$(cd "$(dirname "$0")" && pwd)
NAME=nst-desktop
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
APPDIR=$DATA/$NAME
BINDIR=${NST_BIN_DIR:-$HOME/.local/bin}
MANIFEST=$APPDIR/.installed-files

refresh_caches() {
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q "$DATA/applications" 2>/dev/null || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$DATA/icons/hicolor/index.theme" ]; then
        gtk-update-icon-cache -q -t -f "$DATA/icons/hicolor" 2>/dev/null || true
    fi
}

uninstall() {
    if [ ! -f "$MANIFEST" ]; then
        echo "NST Desktop is not installed in $APPDIR (no $MANIFEST)." >&2
        return 1
    fi
    while IFS= read -r f; do
        [ -n "$f" ] && rm -f -- "$f"
    done <"$MANIFEST"
    # Remove the icon size folders this left empty (nothing above hicolor/<size>).
    for d in "$DATA"/icons/hicolor/*/apps; do
        [ -d "$d" ] || continue
        { rmdir "$d" && rmdir "$(dirname "$d")"; } 2>/dev/null || true
    done
    rm -rf -- "$APPDIR"
    refresh_caches
    # A MIME cache that now lists no application is ours alone: remove it and the folders left empty.
    if ! ls "$DATA"/applications/*.desktop >/dev/null 2>&1; then
        rm -f -- "$DATA/applications/mimeinfo.cache"
    fi
    for d in "$DATA/applications" "$DATA/metainfo" "$DATA/icons/hicolor" "$DATA/icons"; do
        rmdir "$d" 2>/dev/null || true
    done
    echo "NST Desktop removed (your settings in ~/.config/NST Desktop and downloads in ~/.cache/NST Desktop are kept)."
}

# The copy of this script in the app folder, uninstall.sh, uninstalls.
if [ "${1:-}" = "--uninstall" ] || [ "$(basename "$0")" = uninstall.sh ]; then
    uninstall
    exit $?
fi
if [ -n "${1:-}" ]; then
    echo "usage: $0 [--uninstall]" >&2
    exit 2
fi

if [ ! -x "$SRC/$NAME/$NAME" ] || [ ! -d "$SRC/share" ]; then
    echo "Run install.sh from the unpacked NST Desktop folder (it needs $NAME/ and share/ beside it)." >&2
    exit 1
fi
case "$BINDIR$APPDIR" in
    *\"* | *\\* | *\`* | *\$* | *\|* | *\&*)
        echo "Cannot install into a path with quotes, backslashes, dollar signs, | or &: $APPDIR / $BINDIR" >&2
        exit 1
        ;;
esac

# Replace an earlier installation (files of the old version that are gone now must not stay).
if [ -f "$MANIFEST" ]; then
    uninstall >/dev/null
fi

echo "Installing NST Desktop into $APPDIR ..."
mkdir -p "$APPDIR" "$BINDIR"
cp -R "$SRC/$NAME/." "$APPDIR/"
: >"$MANIFEST"

for exe in "$NAME" "$NAME-cli"; do
    printf '#!/bin/sh\nexec "%s" "$@"\n' "$APPDIR/$exe" >"$BINDIR/$exe"
    chmod 755 "$BINDIR/$exe"
    echo "$BINDIR/$exe" >>"$MANIFEST"
done

# share/: menu entry (Exec= pointing at the launcher by absolute path, as ~/.local/bin is not
# always on the PATH of the desktop session), icons, metainfo.
(cd "$SRC/share" && find . -type f) | while IFS= read -r rel; do
    rel=${rel#./}
    mkdir -p "$(dirname "$DATA/$rel")"
    case "$rel" in
        applications/*.desktop)
            sed -e "s|^Exec=$NAME |Exec=\"$BINDIR/$NAME\" |" -e "s|^TryExec=$NAME\$|TryExec=$BINDIR/$NAME|" \
                "$SRC/share/$rel" >"$DATA/$rel"
            ;;
        *) cp "$SRC/share/$rel" "$DATA/$rel" ;;
    esac
    chmod 644 "$DATA/$rel"
    echo "$DATA/$rel" >>"$MANIFEST"
done

cp "$SRC/install.sh" "$APPDIR/uninstall.sh"
chmod 755 "$APPDIR/uninstall.sh"
refresh_caches

echo "Done. Start NST Desktop from your applications menu, or run: $BINDIR/$NAME"
case ":$PATH:" in
    *":$BINDIR:"*) ;;
    *) echo "(Note: $BINDIR is not on your PATH; the menu entry works anyway.)" ;;
esac
echo "Uninstall: $APPDIR/uninstall.sh"
