"""What a file is, decided from its first bytes (the `filetype` package), never from its name
or what the client claims; the allow-list; and images re-encoded without their metadata.

SVG is refused: it is a document that can carry script, and nothing here rasterises it.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote

import filetype

# Enough of a file's start for every matcher filetype has (it reads 8192 bytes itself).
SNIFF_BYTES = 8192


@dataclass(frozen=True)
class Kind:
    kind: str  # image, pdf, office, text
    content_type: str
    extension: str

    @property
    def image(self) -> bool:
        return self.kind == "image"


# The allow-list: MIME type (as filetype names it) -> what Confer calls it.
ALLOWED: dict[str, Kind] = {
    k.content_type: k
    for k in (
        Kind("image", "image/jpeg", "jpg"),
        Kind("image", "image/png", "png"),
        Kind("image", "image/gif", "gif"),
        Kind("image", "image/webp", "webp"),
        Kind("pdf", "application/pdf", "pdf"),
        Kind(
            "office",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "docx",
        ),
        Kind("office", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
        Kind(
            "office",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "pptx",
        ),
        Kind("office", "application/vnd.oasis.opendocument.text", "odt"),
        Kind("office", "application/vnd.oasis.opendocument.spreadsheet", "ods"),
        Kind("office", "application/vnd.oasis.opendocument.presentation", "odp"),
        Kind("office", "application/msword", "doc"),
        Kind("office", "application/vnd.ms-excel", "xls"),
        Kind("office", "application/vnd.ms-powerpoint", "ppt"),
    )
}
TEXT = Kind("text", "text/plain; charset=utf-8", "txt")
KINDS = ("image", "pdf", "office", "text")

# Pillow's own formats for re-encoding, by content type.
_PIL_FORMAT = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}
# A decompression bomb (a small file that decodes to gigapixels) is refused, not decoded.
MAX_PIXELS = 40_000_000


def sniff(head: bytes) -> Kind | None:
    """The kind of a file starting with `head` (at least SNIFF_BYTES, or the whole file), or
    None when it is not on the allow-list (SVG, HTML, executables, archives...)."""
    guessed = filetype.guess_mime(head) if head else None
    if guessed is not None:
        return ALLOWED.get(guessed)
    if _looks_like_markup(head):
        return None  # SVG, HTML or XML: a browser could run it as a document
    if _plain_text(head):
        return TEXT
    return None


def _looks_like_markup(head: bytes) -> bool:
    start = head[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return start.startswith((b"<", b"\x00<", b"<\x00")) or b"<svg" in head[:4096].lower()


def _plain_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        # The sniffed window may end inside a character: only an error at its end is allowed.
        return e.start >= len(head) - 3
    return True


class BadImage(ValueError):
    """The image could not be decoded, or is too large to decode."""


def reencode(data: bytes, content_type: str) -> bytes:
    """The image decoded and encoded again by Pillow: EXIF (GPS location, camera, time), XMP,
    ICC profiles and comments are left behind; only the pixels (and the EXIF orientation,
    applied to them) come through. Runs in a thread (it is CPU work)."""
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.width * im.height > MAX_PIXELS:
                raise BadImage("too many pixels")
            fmt = _PIL_FORMAT[content_type]
            frames_ok = fmt in ("GIF", "WEBP") and getattr(im, "is_animated", False)
            out = io.BytesIO()
            if frames_ok:
                # Animated: frames copied without the source's info (comments, EXIF, XMP).
                im.info.clear()
                im.save(out, format=fmt, save_all=True, exif=b"")
                return out.getvalue()
            im.load()
            clean = ImageOps.exif_transpose(im)
            if fmt == "JPEG" and clean.mode not in ("RGB", "L"):
                clean = clean.convert("RGB")
            pixels = Image.new(clean.mode, clean.size)
            if clean.mode == "P":
                pixels.putpalette(clean.getpalette() or [])
            pixels.paste(clean)
            options: dict[str, object] = {}
            if fmt == "JPEG":
                options = {"quality": 90}
            elif fmt == "GIF" and "transparency" in im.info:
                options = {"transparency": im.info["transparency"]}
            pixels.save(out, format=fmt, **options)
            return out.getvalue()
    except BadImage:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise BadImage(str(e)) from None


_UNSAFE = re.compile(r"[^\w.\- ]+")


def safe_filename(name: str, kind: Kind) -> str:
    """The name a download is saved under: the uploader's name, tamed (no path, no control or
    quoting characters), with the extension of what the file really is."""
    # Some clients (aiohttp among them) percent-encode the name they send.
    name = unicodedata.normalize("NFC", unquote(name)).replace("\\", "/").rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = _UNSAFE.sub("-", stem).strip(" .-")[:120] or "file"
    return f"{stem}.{kind.extension}"
