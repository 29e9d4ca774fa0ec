"""Interop with efax, an independent fax implementation (its own T.30, Ed Casas's efax 0.9a,
Debian package efax), over a software Class 1 modem (spandsp's T.31 on a pty: only the
modulations are spandsp's on that side; tests/interop/efax_modem.py).

Both directions, one real-time call each (efax's timers are real seconds): efax sends a
2-page document (its own raw T.4 files, a blank 20-line header band) to our FaxSession, and our
FaxSession sends a page that efax receives; the pages arrive pixel-identical."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cti.fax import available, document
from cti.fax.session import FaxSession

ok, why = available()
pytestmark = [pytest.mark.interop,
              pytest.mark.skipif(not ok, reason=f"fax engine unavailable: {why}"),
              pytest.mark.skipif(shutil.which("efax") is None or shutil.which("efix") is None
                                    ,
                                 reason="efax / efix (Debian package efax) not installed")]

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]
from efax_modem import SoftModem
from fax_rig import make_document


def _run(modem: SoftModem, efax: subprocess.Popen[bytes], make: Any, limit: float = 150.0) -> FaxSession | None:
    """Real-time loop: the modem's line audio <-> our session (made when the modem connects)."""
    ours: FaxSession | None = None
    to_modem = b"\xd5" * 160
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < limit:
        modem.pump_at()
        out = modem.block(to_modem)
        if modem.connected and ours is None:
            ours = make()
        to_modem = ours.process(out, n * 0.02) if ours is not None else b"\xd5" * 160
        n += 1
        if efax.poll() is not None and (ours is None or ours.done):
            break
        delay = t0 + n * 0.02 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    if ours is not None and not ours.done:
        ours.hangup(n * 0.02)
    return ours


def _efax_log(p: subprocess.Popen[bytes]) -> str:
    try:
        out, _ = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    return out.decode("utf-8", "replace")


def test_efax_sends_two_pages_to_us(tmp_path: Path) -> None:
    pages = []
    for i in range(2):            # efax's own input format: raw T.4 ("fax"), made by its efix from PBM
        src = make_document(tmp_path / f"p{i}.tif", pages=1, seed=11 + i)
        from PIL import Image
        Image.open(src).save(tmp_path / f"p{i}.pbm")
        raw = subprocess.run(["efix", "-i", "pbm", "-o", "fax", str(tmp_path / f"p{i}.pbm")], capture_output=True,
                             check=True).stdout
        (tmp_path / f"p{i}.fax").write_bytes(raw)
        pages.append((src, tmp_path / f"p{i}.fax"))
    modem = SoftModem()
    efax = subprocess.Popen(["efax", "-d", modem.device, "-o1", "-l", "+86 10 1234", "-v", "ewin",
                             "-h", "", "-t", "12345", *(str(d) for _, d in pages)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        ours = _run(modem, efax, lambda: FaxSession.receive(tmp_path / "in.tif", calling=False))
        log = _efax_log(efax)
    finally:
        modem.close()
    assert efax.returncode == 0, log
    assert ours is not None and ours.completed is not None, log
    done = ours.completed
    assert (done.ok, done.result, done.pages, done.remote_ident) == (True, 0, 2, "+86 10 1234"), log
    got = document.pages(tmp_path / "in.tif")
    for (src, _), page in zip(pages, got, strict=True):
        want = document.pages(src)[0]
        top = page.shape[0] - want.shape[0]     # efax's header band (-h "": blank), 20 lines at 98 lpi
        assert top == 20 and not page[:top].any()
        assert np.array_equal(page[top:], want)                  # the page, pixel for pixel


def test_we_send_a_page_to_efax(tmp_path: Path) -> None:
    doc = make_document(tmp_path / "doc.tif", pages=1, seed=21)
    modem = SoftModem()
    modem.ring()                                                   # efax answers a ringing line
    efax = subprocess.Popen(["efax", "-d", modem.device, "-o1", "-l", "+86 10 9999", "-v", "ewin",
                             "-r", str(tmp_path / "rx")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        ours = _run(modem, efax, lambda: FaxSession.send(doc, calling=True))
        log = _efax_log(efax)
    finally:
        modem.close()
    assert efax.returncode == 0, log
    assert ours is not None and ours.completed is not None and ours.completed.ok, log
    assert ours.completed.pages == 1 and ours.completed.remote_ident == "+86 10 9999"
    pbm = subprocess.run(["efix", "-i", "fax", "-o", "pbm", str(tmp_path / "rx.001")], capture_output=True,
                         check=True).stdout
    (tmp_path / "rx.pbm").write_bytes(pbm)
    from PIL import Image

    got = ~np.asarray(Image.open(tmp_path / "rx.pbm").convert("1"), dtype=bool)
    assert np.array_equal(got, document.pages(doc)[0])
