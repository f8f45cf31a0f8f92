"""What a file really is, from its first bytes, for the message that refuses it.

Only the decoders of :data:`nst_desktop.app_info.IMAGE_FORMATS` ever read a file the user
opens (see :func:`nst_desktop.engine.image.images.decode_image`); a file they do not accept is
named with what its content says it is ("'photo.jpg' is a PostScript file, not an image
NST Desktop opens"). This looks at magic numbers only: no decoder, no external program.
"""

from __future__ import annotations

#: Bytes of a file's start that :func:`describe_content` looks at.
HEAD_BYTES = 64

#: (prefix, offset, what it is), the first match wins.
_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"%!PS", 0, "a PostScript file"),
    (b"\xc5\xd0\xd3\xc6", 0, "an EPS (PostScript) file"),
    (b"%PDF", 0, "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", 0, "a PNG image"),
    (b"\xff\xd8\xff", 0, "a JPEG image"),
    (b"GIF8", 0, "a GIF image"),
    (b"BM", 0, "a BMP image"),
    (b"II*\x00", 0, "a TIFF image"),
    (b"MM\x00*", 0, "a TIFF image"),
    (b"WEBP", 8, "a WebP image"),
    (b"AVI ", 8, "an AVI video"),
    (b"WAVE", 8, "a WAV sound file"),
    (b"ftypheic", 4, "a HEIC image"),
    (b"ftypheix", 4, "a HEIC image"),
    (b"ftypmif1", 4, "a HEIF image"),
    (b"ftypavif", 4, "an AVIF image"),
    (b"ftyp", 4, "an MP4/QuickTime video"),
    (b"\x00\x00\x00\x0cjP  ", 0, "a JPEG 2000 image"),
    (b"\xff\x4f\xff\x51", 0, "a JPEG 2000 image"),
    (b"8BPS", 0, "a Photoshop (PSD) file"),
    (b"\x00\x00\x01\x00", 0, "an icon (ICO) file"),
    (b"icns", 0, "an icon (ICNS) file"),
    (b"DDS ", 0, "a DDS texture"),
    (b"gimp xcf", 0, "a GIMP (XCF) file"),
    (b"\x76\x2f\x31\x01", 0, "an OpenEXR image"),
    (b"#?RADIANCE", 0, "a Radiance HDR image"),
    (b"SIMPLE  =", 0, "a FITS file"),
    (b"PK\x03\x04", 0, "a ZIP archive"),
    (b"\x1f\x8b", 0, "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", 0, "a 7-Zip archive"),
    (b"Rar!", 0, "a RAR archive"),
    (b"BZh", 0, "a bzip2 archive"),
    (b"\xfd7zXZ\x00", 0, "an xz archive"),
    (b"\x7fELF", 0, "a program (ELF)"),
    (b"MZ", 0, "a Windows program"),
    (b"#!", 0, "a script"),
    (b"\x1aE\xdf\xa3", 0, "a Matroska/WebM video"),
    (b"OggS", 0, "an Ogg media file"),
    (b"ID3", 0, "an MP3 sound file"),
    (b"fLaC", 0, "a FLAC sound file"),
    (b"SQLite format 3", 0, "an SQLite database"),
)

#: Text formats recognised by their first word (after whitespace, case-insensitive).
_TEXT_STARTS: tuple[tuple[bytes, str], ...] = (
    (b"<svg", "an SVG drawing"),
    (b"<!doctype html", "an HTML page"),
    (b"<html", "an HTML page"),
    (b"<?xml", "an XML file"),
    (b"{", "a JSON or text file"),
    (b"[", "a JSON or text file"),
)


def describe_content(head: bytes) -> str:
    """What a file starting with ``head`` is, as a phrase ("a PostScript file", "an empty file",
    "a file of an unknown kind"). Looks at :data:`HEAD_BYTES` bytes at most; never raises."""
    head = bytes(head[:HEAD_BYTES])
    if not head:
        return "an empty file"
    for magic, offset, what in _MAGIC:
        if head[offset:offset + len(magic)] == magic:
            return what
    if head[:1] == b"P" and head[1:2] in (b"1", b"2", b"3", b"4", b"5", b"6", b"7") and head[2:3].isspace():
        return "a Netpbm (PBM/PGM/PPM) image"
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    for word, what in _TEXT_STARTS:
        if start.startswith(word):
            return "an SVG drawing" if what == "an XML file" and b"<svg" in head.lower() else what
    if all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return "a text file"
    return "a file of an unknown kind"
