"""Images: what a file really is (judged from its bytes, never its name) and the barcodes in
it.

Decoding uses zxing-cpp (the C++ port of ZXing, a maintained wheel on PyPI) through Pillow:
it reads EAN-8/13, UPC-A/E, Code 128 (GS1-128), DataMatrix and QR codes. It reads in zxing's
``Plain`` text mode, so a GS1 symbol comes back as its element string with the ASCII 29
group separators intact (not the parenthesised human-readable form), and
:attr:`DecodedCode.value` prefixes it with the symbol's AIM identifier (``]d2``, ``]C1``,
``]Q3``...), which :mod:`scanserve.domain.gs1` reads as "this is GS1 data", like any typed value.

Bounded memory (every path that opens an image: ``upload-image``, a presigned photo at its
registration, the pipeline's decoding, extraction and OCR). One pixel limit
(``image_max_pixels``) is checked from the image's header, before a pixel is decoded. Decoding
then draws on one budget of decoded bytes per process (``image_decode_budget_bytes``,
:class:`DecodeBudget`): each decode reserves what it will hold at its peak (the pixels in
Pillow's storage, 1 byte a pixel for ``L``/``P``/``1`` and 4 for every other mode, plus
zxing-cpp's own working copies when it searches for codes) and waits, first come first served,
until that much is free; a request that waits longer than ``image_decode_wait_seconds`` gets
a ``503`` with ``Retry-After``, background work waits as long as it takes. A JPEG is decoded
by libjpeg straight to greyscale, and scaled down in the DCT where a smaller image will do
(``Image.draft``): a fraction of the memory and time.

Memory comes back after a burst: glibc's malloc serves a freed 16 MiB block of Pillow's
image storage from its heap arenas after the first, raising its mmap threshold as it goes,
and never returns the arenas' memory to the system (40 threads decoding a 40-megapixel PNG
left 600 MB resident after they were done). :func:`configure` fixes the mmap threshold at
1 MiB (``mallopt(M_MMAP_THRESHOLD)``), so every large block is its own mapping, unmapped
when freed: the same run came back to 31 MB, and ran in half the time. What stays on the
heap (request bodies, smaller buffers) is handed back by ``malloc_trim(0)`` a second after
image work goes idle (:func:`_trim`): a server after 40 concurrent uploads of a
40-megapixel PNG came back to 126 MB (114 MB before; 184 MB without the trim).

It stays one module, a little over 500 lines: the readers, the decode budget and the trim
after idle share one process-wide state (``budget`` and the limits, replaced by
:func:`configure`; the count of image work in flight, which the trim and the budget's release
both read), and extractors reach the budget as ``imaging.budget`` (docs/extraction.md). Split
along the budget, every reader would go through a second module's global, and a name
re-exported here would keep pointing at the budget :func:`configure` replaced.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import struct
import sys
import threading
import time
import zlib
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scanserve.errors import ServiceUnavailable

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

    from scanserve.settings import Settings

JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"
EXTENSIONS = {JPEG: ".jpg", PNG: ".png", WEBP: ".webp"}
_NAMES = {JPEG: "JPEG", PNG: "PNG", WEBP: "WebP"}

# Defaults of the settings of the same names (lower case), until configure() is called.
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_DECODE_BUDGET_BYTES = 256 * 1024 * 1024
DEFAULT_DECODE_WAIT_SECONDS = 10.0
# Measured: zxing-cpp holds about five bytes a pixel of working copies (binarised bit
# matrix, downscaled pyramid) beside the greyscale image it reads.
ZXING_BYTES_PER_PIXEL = 5
_MMAP_THRESHOLD = 1024 * 1024
_M_MMAP_THRESHOLD = -3  # glibc's malloc.h


class ImageError(ValueError):
    """The bytes are not a complete image of a supported type; the message says why."""


class ImageTooLarge(ImageError):
    """The image has more pixels than ``image_max_pixels``."""


class DecoderBusy(RuntimeError):
    """The decode budget stayed spent for the whole wait; ``retry_after`` seconds is a fair
    guess of when it frees."""

    def __init__(self, waited: float):
        self.retry_after = max(1, round(waited / 2))
        super().__init__(f"every image decoder stayed busy for {waited:g} s")

    def problem(self, what: str) -> ServiceUnavailable:
        """The 503 a request answers, naming ``what`` could not be done."""
        return decoders_busy(f"{what}: {self}.", self.retry_after)


def decoders_busy(detail: str, retry_after: int) -> ServiceUnavailable:
    return ServiceUnavailable(
        {"image_decoders": "busy"}, detail, headers={"Retry-After": str(retry_after)}
    )


class DecodeBudget:
    """Bytes of decoded images held at once in this process, at most ``total``. Reservations
    are served in the order they were asked for (a large image is never overtaken for ever by
    small ones); one larger than the whole budget waits for all of it."""

    def __init__(self, total: int):
        self.total = total
        self.in_use = 0
        self.peak = 0  # the most reserved at once, for tests and operators
        self._cond = threading.Condition()
        self._queue: deque[object] = deque()

    @contextmanager
    def reserve(self, nbytes: int, timeout: float | None) -> Iterator[None]:
        """Hold ``nbytes`` of the budget for the ``with`` block; raises :class:`DecoderBusy`
        when it is not free within ``timeout`` seconds (None: wait as long as it takes)."""
        wanted = max(1, min(nbytes, self.total))
        ticket = object()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._queue.append(ticket)
            try:
                while self._queue[0] is not ticket or self.in_use + wanted > self.total:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        raise DecoderBusy(timeout or 0.0)
                    self._cond.wait(left)
            finally:
                self._queue.remove(ticket)
                self._cond.notify_all()
            self.in_use += wanted
            self.peak = max(self.peak, self.in_use)
        try:
            yield
        finally:
            with self._cond:
                self.in_use -= wanted
                idle = self.in_use == 0
                self._cond.notify_all()
            if idle:
                _trim()


@dataclass(frozen=True)
class Limits:
    max_pixels: int = DEFAULT_MAX_PIXELS
    wait_seconds: float = DEFAULT_DECODE_WAIT_SECONDS


_limits = Limits()
budget = DecodeBudget(DEFAULT_DECODE_BUDGET_BYTES)


def configure(settings: Settings) -> None:
    """Apply the image settings to this process (the pixel limit, the decode budget) and fix
    glibc's mmap threshold (see the module docstring). Called by ``build_services``; the
    last call wins, as there is one server per process."""
    global _limits, budget  # noqa: PLW0603 - one process-wide pool, as the docstring says
    _limits = Limits(settings.image_max_pixels, settings.image_decode_wait_seconds)
    if budget.total != settings.image_decode_budget_bytes:
        budget = DecodeBudget(settings.image_decode_budget_bytes)
    _fix_mmap_threshold()


_mmap_fixed = False


def _fix_mmap_threshold() -> None:
    global _mmap_fixed  # noqa: PLW0603
    if _mmap_fixed or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt): nothing to fix
        return
    mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
    _mmap_fixed = True


# Image work in flight in this process outside the budget (a request checking a PNG holds
# none of it, but its body is on the heap): see work_started / work_finished.
_work_in_flight = 0
_work_lock = threading.Lock()
_trim_timer: threading.Timer | None = None
TRIM_AFTER_IDLE_SECONDS = 1.0


def work_started() -> None:
    global _work_in_flight  # noqa: PLW0603
    with _work_lock:
        _work_in_flight += 1


def work_finished() -> None:
    global _work_in_flight  # noqa: PLW0603
    with _work_lock:
        _work_in_flight -= 1
    _trim()


def work_in_flight() -> int:
    return _work_in_flight


def _idle() -> bool:
    return _work_in_flight == 0 and budget.in_use == 0


def _trim() -> None:
    """Image work went idle: give the heap's free memory back to the system
    (``malloc_trim``) a second later if it is still idle then; at most one trim waits."""
    global _trim_timer  # noqa: PLW0603
    if not _mmap_fixed or not _idle():
        return
    with _work_lock:
        if _trim_timer is not None:
            return
        _trim_timer = threading.Timer(TRIM_AFTER_IDLE_SECONDS, _trim_now)
        _trim_timer.daemon = True
        _trim_timer.start()


def _trim_now() -> None:
    global _trim_timer  # noqa: PLW0603
    with _work_lock:
        _trim_timer = None
    if _idle():
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).malloc_trim(0)


def max_pixels() -> int:
    return _limits.max_pixels


def request_wait_seconds() -> float:
    return _limits.wait_seconds


def sniff(data: bytes) -> str | None:
    """The media type the bytes' signature says, for the types we take, else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


@dataclass(frozen=True)
class DecodedCode:
    """One code found in an image. ``text`` is what the symbol holds; ``symbology`` is
    zxing's format name (``EAN13``, ``QRCode``, ``DataMatrix``...); ``gs1`` is true when the
    symbol carries GS1 data (FNC1 in first position); ``symbology_identifier`` is its AIM
    identifier (``]E0`` for EAN-13, ``]d2`` for GS1 DataMatrix...)."""

    text: str
    symbology: str
    gs1: bool
    # The symbol's top-left corner, for ordering several codes in reading order.
    x: int
    y: int
    symbology_identifier: str = ""

    @property
    def value(self) -> str:
        """The text as a capture's ``raw_value``: GS1 element strings keep their AIM
        identifier, so they are never mistaken for plain text."""
        if self.gs1 and self.symbology_identifier:
            return self.symbology_identifier + self.text
        return self.text


def _bytes_per_pixel(mode: str) -> int:
    # Pillow stores 1, L and P in a byte a pixel, every other mode in four (RGB included)
    return 1 if mode in ("1", "L", "P") else 4


def _converted(mode: str) -> int:
    """Bytes a pixel of an image of ``mode`` and of its greyscale copy, both held at once
    while converting."""
    return 1 if mode == "L" else _bytes_per_pixel(mode) + 1


def _jpeg_grey(mode: str) -> int:
    """Bytes a pixel of a JPEG of ``mode`` drafted to greyscale: libjpeg turns YCbCr (RGB)
    into L itself; CMYK stays CMYK and is converted after, both held at once."""
    return 1 if mode in ("L", "RGB") else 5


def _open(data: bytes) -> tuple[str, PILImage]:
    """The media type and the opened (not yet decoded) image; the pixel limit checked from
    the header. The caller closes the image."""
    from PIL import Image  # noqa: PLC0415 - Pillow loads with the first image, not at start

    media_type = sniff(data)
    if media_type is None:
        raise ImageError("the file is not a JPEG, PNG or WebP image (judged from its bytes)")
    try:
        # the format's own class, as Image.open would pick from the signature, without
        # Image.open's decompression-bomb check: the pixel limit below is the one (Pillow's
        # warns from 89 megapixels, as a warning, and refuses from 179)
        image = _FACTORIES[media_type]()(io.BytesIO(data))
    except (Image.UnidentifiedImageError, SyntaxError):
        name = _NAMES[media_type]
        raise ImageError(
            f"the file has a {name} signature, but what follows cannot be read as a {name} image"
        ) from None
    except (OSError, ValueError) as exc:
        raise ImageError(f"the {media_type} image cannot be read: {exc}") from None
    limit = _limits.max_pixels
    if image.width * image.height > limit:
        image.close()
        raise ImageTooLarge(
            f"the image is {image.width}x{image.height} pixels, more than the "
            f"{limit} pixels this server takes"
        )
    return media_type, image


def _jpeg() -> Any:
    from PIL import JpegImagePlugin  # noqa: PLC0415 - Pillow loads with the first image, not at start

    return JpegImagePlugin.JpegImageFile


def _png() -> Any:
    from PIL import PngImagePlugin  # noqa: PLC0415 - Pillow loads with the first image, not at start

    return PngImagePlugin.PngImageFile


def _webp() -> Any:
    from PIL import WebPImagePlugin  # noqa: PLC0415 - Pillow loads with the first image, not at start

    return WebPImagePlugin.WebPImageFile


_FACTORIES = {JPEG: _jpeg, PNG: _png, WEBP: _webp}


def inspect(data: bytes) -> tuple[str, int, int]:
    """The media type, width and height from the header (nothing decoded); raises
    :class:`ImageError` (:class:`ImageTooLarge` past the pixel limit)."""
    media_type, image = _open(data)
    with image:
        return media_type, image.width, image.height


def _load(media_type: str, image: PILImage, grey_size: tuple[int, int] | None) -> PILImage:
    """Decode every pixel (a truncated file fails here). ``grey_size``: the image is wanted
    in greyscale, at least that large; a JPEG is then decoded by libjpeg to that (its DCT
    scaling), every entropy-coded byte still read."""
    from PIL import Image  # noqa: PLC0415 - Pillow loads with the first image, not at start

    try:
        if grey_size is not None and media_type == JPEG:
            image.draft("L", grey_size)
        image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageError(f"the {media_type} image cannot be read: {exc}") from None
    return image


def _grey(image: PILImage) -> PILImage:
    if image.mode == "L":
        return image
    grey = image.convert("L")
    image.close()  # its pixels are freed now, not when the garbage collector comes by
    return grey


def _timeout(wait: float | bool | None) -> float | None:
    """``wait``: seconds; None waits as long as it takes; True the request's wait."""
    if wait is True:
        return _limits.wait_seconds
    if wait is False:
        return 0.0
    return wait


def decode_codes(data: bytes, *, wait: float | bool | None = None) -> list[DecodedCode]:
    """Every code zxing-cpp reads in the image, in reading order (top to bottom, then left to
    right). Raises :class:`ImageError` when the bytes are not a whole JPEG, PNG or WebP within
    the pixel limit, :class:`DecoderBusy` when the decode budget stays spent for ``wait``."""
    import zxingcpp  # noqa: PLC0415 - zxing-cpp loads with the first image to decode

    media_type, image = _open(data)
    pixels = image.width * image.height
    cost = pixels * max(_bytes_per_pixel(image.mode) + 1, 1 + ZXING_BYTES_PER_PIXEL)
    with image, budget.reserve(cost, _timeout(wait)):
        grey = _grey(_load(media_type, image, image.size))
        try:
            results = zxingcpp.read_barcodes(grey, text_mode=zxingcpp.TextMode.Plain)
        finally:
            grey.close()
    codes = []
    for result in results:
        if not result.valid or not result.text:
            continue
        top_left = result.position.top_left
        codes.append(
            DecodedCode(
                text=result.text,
                symbology=result.format.name,
                gs1=bool(getattr(result.content_type, "name", "") == "GS1"),
                x=top_left.x,
                y=top_left.y,
                symbology_identifier=str(getattr(result, "symbology_identifier", "") or ""),
            )
        )
    codes.sort(key=lambda c: (c.y, c.x))
    return codes


def check_image(data: bytes, *, wait: float | bool | None = True) -> str:
    """The media type of a whole, readable JPEG, PNG or WebP image within the pixel limit
    (judged from the bytes, all of the image read, so a truncated file is caught); raises
    :class:`ImageError` saying what is wrong, :class:`DecoderBusy` when the decode budget
    stays spent for ``wait`` (default: the request's wait). Cheaper than
    :func:`decode_codes`: no barcode search; a JPEG decoded at an eighth of its size, a PNG
    checked without holding its pixels (:func:`_check_png_stream`)."""
    media_type, image = _open(data)
    with image:
        if media_type == PNG:
            _check_png_stream(data, image.width, image.height)
            return media_type
        size = image.size
        if media_type == JPEG:
            size = (max(1, size[0] // 8), max(1, size[1] // 8))
            cost = size[0] * size[1] * _jpeg_grey(image.mode)
        else:
            cost = image.width * image.height * _bytes_per_pixel(image.mode)
        with budget.reserve(cost, _timeout(wait)):
            _load(media_type, image, size if media_type == JPEG else None)
    return media_type


# Adam7 interlacing: each pass's first column and row, and its steps.
_ADAM7 = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_INFLATE_PIECE = 256 * 1024


def _png_raw_size(width: int, height: int, bits: int, interlaced: bool) -> int:
    """The bytes the PNG's image data inflates to: each row's filter byte and its pixels."""
    passes = _ADAM7 if interlaced else ((0, 0, 1, 1),)
    total = 0
    for x0, y0, dx, dy in passes:
        columns, rows = (width - x0 + dx - 1) // dx, (height - y0 + dy - 1) // dy
        if columns > 0 and rows > 0:
            total += rows * (1 + (columns * bits + 7) // 8)
    return total


def _check_png_stream(data: bytes, width: int, height: int) -> None:
    """Walk the PNG's chunks, checking each one's CRC, and inflate its image data a piece at
    a time, counting: it must end, and hold exactly the bytes its header promises. A
    truncated or corrupted PNG is refused as Pillow would refuse it, in constant memory (a
    40-megapixel RGB PNG held 160 MB of pixels to be checked by decoding it) and a third of
    the time. Raises :class:`ImageError`."""

    def refuse(why: str) -> ImageError:
        return ImageError(f"the image/png image cannot be read: {why}")

    inflater = zlib.decompressobj()
    expected = produced = 0
    pos = 8
    while True:
        if pos + 8 > len(data):
            raise refuse("the file is truncated")
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        crc = data[pos + 8 + length : pos + 12 + length]
        if len(body) != length or len(crc) != 4:
            raise refuse("the file is truncated")
        if zlib.crc32(kind + body) != struct.unpack(">I", crc)[0]:
            raise refuse(f"the {kind.decode('latin-1')!r} chunk is corrupt (CRC)")
        pos += 12 + length
        if kind == b"IHDR" and length == 13:
            _, _, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            bits = depth * _PNG_CHANNELS.get(color, 4)
            expected = _png_raw_size(width, height, bits, interlace == 1)
        elif kind == b"IDAT":
            pending = body
            try:
                while pending and not inflater.eof:
                    produced += len(inflater.decompress(pending, _INFLATE_PIECE))
                    pending = inflater.unconsumed_tail
                    if produced > expected:
                        raise refuse("its image data is larger than its size says")
            except zlib.error as exc:
                raise refuse(f"its image data is corrupt ({exc})") from None
        elif kind == b"IEND":
            break
    if not inflater.eof or produced != expected:
        raise refuse("its image data is truncated")


def grey_for_ocr(
    data: bytes, *, max_side: int, min_height: int, wait: float | bool | None = None
) -> bytes:
    """The image as a greyscale PNG sized for text recognition: the long side at most
    ``max_side`` (scaled down in the JPEG decoder where it can, then by Pillow's ``reduce``
    and a resampling filter), small images enlarged to ``min_height``. Raises
    :class:`ImageError` as :func:`check_image` does."""
    from PIL import Image  # noqa: PLC0415 - Pillow loads with the first image, not at start

    media_type, image = _open(data)
    width, height = image.size
    scale = min(1.0, max_side / max(width, height))
    target = (max(1, round(width * scale)), max(1, round(height * scale)))
    if media_type == JPEG:
        # the DCT scales by 1/2, 1/4 or 1/8 to at least the target: at most 4x its pixels
        scaled = min(width * height, 4 * target[0] * target[1])
        cost = scaled * _jpeg_grey(image.mode) + target[0] * target[1] * 2
    else:
        cost = width * height * _converted(image.mode) + target[0] * target[1] * 2
    with image, budget.reserve(cost, _timeout(wait)):
        grey = _grey(_load(media_type, image, target))
        try:
            if grey.size != target:
                factor = min(grey.width // target[0], grey.height // target[1])
                if factor >= 2:
                    reduced = grey.reduce(factor)
                    grey.close()
                    grey = reduced
                if grey.size != target:
                    resized = grey.resize(target, Image.Resampling.LANCZOS)
                    grey.close()
                    grey = resized
            if grey.height < min_height:
                enlarge = min_height / grey.height
                bigger = grey.resize((max(1, round(grey.width * enlarge)), min_height))
                grey.close()
                grey = bigger
            out = io.BytesIO()
            grey.save(out, format="PNG")
        finally:
            grey.close()
    return out.getvalue()
