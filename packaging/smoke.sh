#!/usr/bin/env bash
# Packaging smoke test (a few minutes; CI runs it after the tests, see .ci/run): build a test .deb,
# install it, run the installed app's self-test offline, check that it says how to get video (the
# package leaves PyAV/OpenCV out), start the installed GUI from its .desktop Exec= line under Xvfb
# with two images, take a screenshot, close the app, uninstall.
#
#   bash packaging/smoke.sh                 # build with $PYTHON (default /work/pkgvenv/bin/python), then test
#   bash packaging/smoke.sh --skip-build    # test the newest packaging/dist/nst-desktop_*.deb (the release one)
#   bash packaging/smoke.sh --deb FILE      # test that .deb (e.g. inside a clean chroot)
#   bash packaging/smoke.sh --install-tools # first install what it needs (root + apt-get: the tools and the X11
#                                           # libraries the build copies; pyinstaller into $PYTHON)
# The test build (gzip-compressed, frozen folder included) goes to packaging/build/smoke-dist/: it
# never replaces the release packages in packaging/dist/.
# It also tests the per-user install of the .tar.gz when one newer than the .deb is there.
#
# As root it installs with apt/dpkg (and runs the app without network: unshare -n); otherwise it
# unpacks the .deb with dpkg -x into a temporary root. Needs: dpkg, xvfb, xauth, xdotool,
# imagemagick, x11-utils (see packaging/README.md). Screenshot: packaging/build/smoke-screenshot.png
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
PY=${PYTHON:-/work/pkgvenv/bin/python}
[ -x "$PY" ] || PY=python3
OUT=$REPO/packaging/build
SHOT=$OUT/smoke-screenshot.png
SMOKE_DIST=$OUT/smoke-dist
mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/nst-smoke.XXXXXX)
XVFB_PID=""
APP_PID=""
cleanup() {
    if [ -n "$APP_PID" ]; then kill -9 "$APP_PID" 2>/dev/null || true; fi
    if [ -n "$XVFB_PID" ]; then kill "$XVFB_PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT
step() { printf '\n=== %s\n' "$*"; }
fail() { printf 'SMOKE FAILED: %s\n' "$*" >&2; exit 1; }

MODE=build
DEB=""
while [ $# -gt 0 ]; do
    case "$1" in
        --skip-build) MODE=dist ;;
        --deb) MODE=file; DEB=$(readlink -f "${2:?--deb needs a file}"); shift ;;
        --install-tools) INSTALL_TOOLS=1 ;;
        *) fail "unknown option $1 (see the top of $0)" ;;
    esac
    shift
done
if [ -n "${INSTALL_TOOLS:-}" ]; then
    step "install the tools (apt-get) and PyInstaller (into $PY)"
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || fail "--install-tools needs root and apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        dpkg xvfb xauth xdotool imagemagick x11-utils desktop-file-utils \
        $(python3 nst_desktop/system_libs.py --all) >"$TMP/tools.log" 2>&1 \
        || { cat "$TMP/tools.log"; fail "apt-get install of the tools"; }
    [ "$MODE" != build ] || "$PY" -m pip install -q 'pyinstaller>=6.10' || fail "pip install pyinstaller"
fi

for tool in dpkg-deb Xvfb xdotool import convert xprop; do
    command -v "$tool" >/dev/null || fail "missing $tool (apt-get install dpkg xvfb xauth xdotool imagemagick x11-utils)"
done

if [ "$MODE" = build ]; then
    step "build a test .deb and .tar.gz in $SMOKE_DIST (gzip-compressed .deb to save minutes; SMOKE_DEB_COMPRESSION=xz as released)"
    rm -rf "$SMOKE_DIST"
    "$PY" packaging/build.py --format all --deb-compression "${SMOKE_DEB_COMPRESSION:-gzip}" --out "$SMOKE_DIST"
    DIST_DIR=$SMOKE_DIST
elif [ "$MODE" = dist ]; then
    DIST_DIR=$REPO/packaging/dist
else
    DIST_DIR=$(dirname "$DEB")
fi
[ -n "$DEB" ] || DEB=$(find "$DIST_DIR" -maxdepth 1 -name 'nst-desktop_*.deb' -printf '%T@ %p\n' 2>/dev/null \
    | sort -rn | head -n 1 | cut -d' ' -f2-)
[ -f "$DEB" ] || fail "no $DIST_DIR/nst-desktop_*.deb"
APP_ID=$(dpkg-deb -c "$DEB" | sed -n 's|.*/usr/share/applications/\(.*\)\.desktop$|\1|p' | head -n 1)
echo "package: $DEB ($(du -h "$DEB" | cut -f1)), app id: $APP_ID"

# A fresh user: own HOME, config and cache (nothing of the build machine's user leaks in).
export HOME=$TMP/home XDG_CONFIG_HOME=$TMP/home/.config XDG_CACHE_HOME=$TMP/home/.cache
mkdir -p "$HOME"
OFFLINE=()
if [ "$(id -u)" = 0 ]; then
    step "install with apt (dependencies) / dpkg"
    if command -v apt-get >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$DEB" >"$TMP/apt.log" 2>&1 \
            || { cat "$TMP/apt.log"; fail "apt-get install of the .deb"; }
        tail -n 2 "$TMP/apt.log"
    else
        dpkg -i "$DEB"
    fi
    ROOT=""
    dpkg -s nst-desktop | grep -E '^(Version|Installed-Size|Depends):'
    if unshare -n true 2>/dev/null; then OFFLINE=(unshare -n); fi   # no network at all
    BIN=/usr/bin
else
    step "unpack with dpkg -x (not root)"
    ROOT=$TMP/root
    dpkg -x "$DEB" "$ROOT"
    BIN=$TMP/bin
    mkdir -p "$BIN"
    for exe in nst-desktop nst-desktop-cli; do   # launchers pointing into the temporary root
        printf '#!/bin/sh\nexec "%s" "$@"\n' "$ROOT/opt/nst-desktop/$exe" >"$BIN/$exe"
        chmod 755 "$BIN/$exe"
    done
fi
DESKTOP=$ROOT/usr/share/applications/$APP_ID.desktop
METAINFO=$ROOT/usr/share/metainfo/$APP_ID.metainfo.xml
for f in "$DESKTOP" "$METAINFO" "$ROOT/usr/share/icons/hicolor/scalable/apps/$APP_ID.svg" \
    "$ROOT/usr/share/icons/hicolor/256x256/apps/$APP_ID.png" "$ROOT/opt/nst-desktop/nst-desktop"; do
    [ -e "$f" ] || fail "not installed: $f"
done
if command -v desktop-file-validate >/dev/null; then
    desktop-file-validate "$DESKTOP" && echo "desktop-file-validate: OK"
fi
if command -v appstreamcli >/dev/null; then
    appstreamcli validate --no-net "$METAINFO"
fi

step "self-test of the installed app${OFFLINE:+ (no network)}"
PATH="$BIN:$PATH" QT_QPA_PLATFORM=offscreen "${OFFLINE[@]}" "$BIN/nst-desktop" --self-test | tee "$TMP/selftest.txt"
grep -q "self-test OK" "$TMP/selftest.txt" || fail "self-test"

step "video: the package has no PyAV/OpenCV, and says so in one line"
set +e
QT_QPA_PLATFORM=offscreen "${OFFLINE[@]}" "$BIN/nst-desktop-cli" video "$TMP/clip.mp4" "$TMP/painting.jpg" \
    -o "$TMP/out.mp4" 2>"$TMP/video.txt"
RC=$?
set -e
cat "$TMP/video.txt"
[ "$RC" = 1 ] && [ "$(wc -l <"$TMP/video.txt")" = 1 ] && grep -q "video is not part of this package" "$TMP/video.txt" \
    || fail "nst-desktop-cli video: expected the one-line hint and exit status 1, got status $RC"

step "start the GUI from the .desktop Exec= line under Xvfb, with two images"
convert -size 480x320 gradient:'#87b4eb'-'#467a3c' -fill '#fadc50' -draw 'circle 90,80 90,40' \
    -fill '#b43c32' -draw 'rectangle 240,120 360,240' "$TMP/photo.png"
convert -size 320x320 xc:'#141e5a' -stroke '#f0d23c' -strokewidth 6 \
    -draw 'line 0,0 320,320' -draw 'line 0,80 240,320' -draw 'line 80,0 320,240' -stroke '#e65a28' \
    -draw 'line 0,160 160,320' -draw 'line 160,0 320,160' "$TMP/painting.jpg"
EXEC=$(sed -n 's/^Exec=//p' "$DESKTOP")
[ "${EXEC##* }" = "%F" ] || fail "Exec= does not end in %F: $EXEC"
# Exec= quoting follows the desktop entry spec, a subset of the shell's double quotes.
eval "CMD=(${EXEC% %F})"
echo "Exec=$EXEC  ->  ${CMD[*]} $TMP/photo.png $TMP/painting.jpg"
export DISPLAY=:97
Xvfb "$DISPLAY" -screen 0 1280x860x24 -nolisten tcp >"$TMP/xvfb.log" 2>&1 &
XVFB_PID=$!
for _ in $(seq 50); do xdotool getmouselocation >/dev/null 2>&1 && break; sleep 0.2; done
unset QT_QPA_PLATFORM
T0=$(date +%s)
PATH="$BIN:$PATH" "${OFFLINE[@]}" "${CMD[@]}" "$TMP/photo.png" "$TMP/painting.jpg" >"$TMP/app.log" 2>&1 &
APP_PID=$!
WID=""
for _ in $(seq 120); do
    kill -0 "$APP_PID" 2>/dev/null || { cat "$TMP/app.log"; fail "the app exited early"; }
    WID=$(xdotool search --onlyvisible --pid "$APP_PID" 2>/dev/null | tail -n 1 || true)
    [ -n "$WID" ] && break
    sleep 0.5
done
[ -n "$WID" ] || { cat "$TMP/app.log"; fail "no window within 60 s"; }
echo "window $WID after $(($(date +%s) - T0)) s: '$(xdotool getwindowname "$WID")'," \
    "$(xprop -id "$WID" WM_CLASS 2>/dev/null || echo 'WM_CLASS ?')"
sleep 4   # let it lay out and paint the two images
import -window root "$SHOT"
echo "screenshot: $SHOT ($(identify -format '%wx%h' "$SHOT"))"

step "close the app"
xdotool windowfocus --sync "$WID" 2>/dev/null || true
xdotool key --clearmodifiers ctrl+q
HOW="Ctrl+Q"
for _ in $(seq 20); do kill -0 "$APP_PID" 2>/dev/null || break; sleep 0.5; done
if kill -0 "$APP_PID" 2>/dev/null; then
    HOW="SIGTERM (Ctrl+Q did not close it within 10 s)"
    kill -TERM "$APP_PID"
    for _ in $(seq 20); do kill -0 "$APP_PID" 2>/dev/null || break; sleep 0.5; done
fi
kill -0 "$APP_PID" 2>/dev/null && fail "the app did not exit on Ctrl+Q or SIGTERM"
set +e
wait "$APP_PID"
RC=$?
set -e
APP_PID=""
echo "closed by $HOW, exit status $RC"
if grep -q "Traceback" "$TMP/app.log"; then cat "$TMP/app.log"; fail "Python traceback in the app's output"; fi
[ -s "$TMP/app.log" ] && { echo "--- app output:"; tail -n 20 "$TMP/app.log"; }

if [ -z "$ROOT" ]; then
    step "uninstall"
    dpkg -r nst-desktop
    for f in /opt/nst-desktop /usr/bin/nst-desktop "$DESKTOP"; do
        [ ! -e "$f" ] || fail "left after dpkg -r: $f"
    done
    echo "removed: /opt/nst-desktop, /usr/bin/nst-desktop, $DESKTOP"
fi
TAR=$(find "$DIST_DIR" -maxdepth 1 -name 'nst-desktop-*-linux-*.tar.gz' -newer "$DEB" 2>/dev/null | head -n 1)
if [ -n "$TAR" ]; then
    step "per-user install from $(basename "$TAR") (install.sh, self-test, uninstall.sh)"
    mkdir -p "$TMP/tar" "$TMP/user"
    tar xzf "$TAR" -C "$TMP/tar"
    (
        unset XDG_DATA_HOME NST_BIN_DIR
        export HOME=$TMP/user
        "$TMP/tar/$(basename "$TAR" .tar.gz)/install.sh"
        D=$HOME/.local/share
        desktop-file-validate "$D/applications/$APP_ID.desktop" && grep '^Exec=' "$D/applications/$APP_ID.desktop"
        [ -f "$D/icons/hicolor/48x48/apps/$APP_ID.png" ] && [ -f "$D/metainfo/$APP_ID.metainfo.xml" ]
        QT_QPA_PLATFORM=offscreen "$HOME/.local/bin/nst-desktop" --self-test
        "$D/nst-desktop/uninstall.sh"
        left=$(find "$HOME" -type f)
        [ -z "$left" ] || { echo "left after uninstall: $left"; exit 1; }
    ) || fail "per-user install from the .tar.gz"
    rm -rf "$TMP/tar"
    TAR_OK=", tar.gz install/uninstall OK"
fi
printf '\nSMOKE OK (%s; closed by %s%s; screenshot %s)\n' "$(cat "$TMP/selftest.txt")" "$HOW" "${TAR_OK:-}" "$SHOT"
