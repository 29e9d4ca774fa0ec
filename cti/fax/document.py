"""Fax documents: check a TIFF-F before sending, turn PDFs and other images into one, read pages back.

T.4 pages are 1728 pixels wide at 204 dpi (215 mm; 2048 and 2432 for B4/A3), 98 lines per
inch ("standard") or 196 ("fine"). :func:`check` opens a TIFF with Pillow (which decodes
T.4/T.6 through libtiff) and refuses, with the page and the reason, anything the T.30
engine could not send: a corrupt or truncated file, pages that are not black and white,
an unsupported width or resolution. :func:`prepare` makes a sendable TIFF from a PDF
(ghostscript's ``tiffg4`` device at the chosen resolution, A4 fitted) or from any image
Pillow reads (scaled to 1728 pixels, thresholded), so a CRM can hand us what it has.
:func:`pages` returns the pages as boolean arrays (True = black) for comparison.
"""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

WIDTHS = (1728, 2048, 2432)     #: T.4 page widths at 204 dpi (A4, B4, A3)
MAX_LENGTH = 4800               #: lines: longer than this is not a page we send (about 62 cm fine)


class FaxDocumentError(ValueError):
    """A document that cannot be faxed, with the reason (page numbers count from 1)."""


@dataclass(frozen=True)
class PageInfo:
    width: int
    length: int
    x_dpi: float
    y_dpi: float

    @property
    def fine(self) -> bool:
        return self.y_dpi > 150


def _open(path: Path) -> Image.Image:

    if not path.is_file():
        raise FaxDocumentError(f"{path}: no such file")
    try:
        im = Image.open(path)
        im.load()
        return im
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise FaxDocumentError(f"{path}: corrupt or unreadable image ({exc})") from None


def check(path: str | Path) -> list[PageInfo]:
    """The pages of a TIFF ready to fax; :class:`FaxDocumentError` naming the first problem."""
    p = Path(path)
    im = _open(p)
    if im.format != "TIFF":
        raise FaxDocumentError(f"{p}: a {im.format} image, not a TIFF (use prepare())")
    out: list[PageInfo] = []
    n = getattr(im, "n_frames", 1)
    for i in range(n):
        try:
            im.seek(i)
            im.load()
        except (OSError, ValueError, EOFError) as exc:
            raise FaxDocumentError(f"{p}: page {i + 1} corrupt ({exc})") from None
        if im.mode != "1":
            raise FaxDocumentError(f"{p}: page {i + 1} is {im.mode!r}, not black and white (use prepare())")
        w, h = im.size
        x_dpi, y_dpi = (float(v) for v in im.info.get("dpi", (204.0, 98.0)))
        if w not in WIDTHS:
            raise FaxDocumentError(f"{p}: page {i + 1} is {w} pixels wide: unsupported page size "
                                   f"(T.4 widths are {', '.join(map(str, WIDTHS))} at 204 dpi)")
        if not 0 < h <= MAX_LENGTH:
            raise FaxDocumentError(f"{p}: page {i + 1} is {h} lines long: unsupported page size (1..{MAX_LENGTH})")
        if not (190 <= x_dpi <= 210 and (90 <= y_dpi <= 105 or 190 <= y_dpi <= 210)):
            raise FaxDocumentError(f"{p}: page {i + 1} at {x_dpi:g}x{y_dpi:g} dpi: unsupported resolution "
                                   "(204x98 standard or 204x196 fine)")
        out.append(PageInfo(w, h, x_dpi, y_dpi))
    return out


def prepare(src: str | Path, dst: str | Path, *, fine: bool = True, timeout: float = 60.0) -> list[PageInfo]:
    """Write a sendable TIFF at ``dst`` from a TIFF-F (copied), a PDF (ghostscript) or an image."""
    s, d = Path(src), Path(dst)
    if not s.is_file():
        raise FaxDocumentError(f"{s}: no such file")
    with s.open("rb") as f:
        magic = f.read(5)
    if magic == b"%PDF-":
        _pdf_to_tiff(s, d, fine, timeout)
        return check(d)
    try:
        pages = check(s)
    except FaxDocumentError:
        pages = []
    if pages:
        if s.resolve() != d.resolve():
            shutil.copyfile(s, d)
        return pages
    _image_to_tiff(s, d, fine)
    return check(d)


def _pdf_to_tiff(src: Path, dst: Path, fine: bool, timeout: float) -> None:
    gs = shutil.which("gs")
    if gs is None:
        raise FaxDocumentError("ghostscript (gs) is not installed: cannot convert PDF to TIFF")
    lines = 2292 if fine else 1146          # A4 at 196 / 98 lines per inch
    cmd = [gs, "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=tiffg4", f"-r204x{196 if fine else 98}",
           f"-g1728x{lines}", "-dPDFFitPage", "-dFIXEDMEDIA", f"-sOutputFile={dst}", str(src)]
    try:
        r = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise FaxDocumentError(f"{src}: ghostscript did not finish in {timeout:g} s") from None
    if r.returncode != 0 or not dst.is_file() or dst.stat().st_size == 0:
        why = (r.stderr or r.stdout).decode("utf-8", "replace").strip().splitlines()
        raise FaxDocumentError(f"{src}: PDF conversion failed ({why[-1] if why else f'gs exit {r.returncode}'})")


def _image_to_tiff(src: Path, dst: Path, fine: bool) -> None:
    im = _open(src)
    frames = []
    for i in range(getattr(im, "n_frames", 1)):
        im.seek(i)
        g = im.convert("L")
        w, h = g.size
        if w <= 0 or h <= 0:
            raise FaxDocumentError(f"{src}: page {i + 1} is empty")
        # keep the aspect ratio on a 204 x (196|98) dpi grid
        lines = max(1, round(h * 1728 / w * (1.0 if fine else 0.5) * 196 / 204))
        if lines > MAX_LENGTH:
            raise FaxDocumentError(f"{src}: page {i + 1} would be {lines} lines long: unsupported page size")
        g = g.resize((1728, lines), Image.Resampling.LANCZOS)
        frames.append(g.point(lambda v: 255 if v >= 128 else 0).convert("1"))
    frames[0].save(dst, compression="group4", save_all=True, append_images=frames[1:],
                   dpi=(204, 196 if fine else 98))


def pages(path: str | Path) -> list[np.ndarray]:
    """Every page as a boolean array (True = black), for comparing what was sent and received."""
    p = Path(path)
    im = _open(p)
    out = []
    for i in range(getattr(im, "n_frames", 1)):
        im.seek(i)
        out.append(~np.asarray(im.convert("1"), dtype=bool))
    return out
