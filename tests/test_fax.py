"""Fax: T.30 over G.711 between two timeslots of the simulated network, through libspandsp's engine."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cti.fax import FaxOptions, Modem, available, document
from cti.fax.document import FaxDocumentError
from cti.fax.runner import FaxBusy, FaxInbox, FaxReceived
from cti.fax.session import (T30_ERR_CALLDROPPED, T30_ERR_OK, FaxCompleted, FaxPage, FaxSession,
                             FaxStarted, completion_text)
from cti.ivr.resources import ResourceExhausted, ResourcePools
from cti.voicemail.messages import MessageStore

ok, why = available()
pytestmark = pytest.mark.skipif(not ok, reason=f"fax engine unavailable: {why}")

from fax_rig import Impairment, Rig, make_document

#: T.30 completion codes of a call that never got through phase B (spandsp t30_err_e).
PHASE_B_FAILURES = {2, 3, 6, 13, 14, 20, 36, 48}


@pytest.fixture(scope="module")
def doc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_document(tmp_path_factory.mktemp("fax") / "doc.tif", pages=3)


def _send(rig: Rig, doc: Path, out: Path, seconds: float = 240.0) -> tuple[FaxCompleted, FaxCompleted]:
    rig.a.send("tx", (0, rig.ts), doc, 0.0)
    rig.b.receive("rx", (1, rig.ts), 0.0, path=out)
    rig.run(seconds)
    (tx,) = rig.of("tx", "FaxCompleted")
    (rx,) = rig.of("rx", "FaxCompleted")
    return tx, rx


def _identical(a: Path, b: Path) -> bool:
    pa, pb = document.pages(a), document.pages(b)
    return len(pa) == len(pb) and all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(pa, pb, strict=True))


def test_result_code_names_match_the_library() -> None:
    from cti.fax import _native, session

    lib = _native.native().lib
    for name in ("T30_ERR_OK", "T30_ERR_T0_EXPIRED", "T30_ERR_T1_EXPIRED", "T30_ERR_CANNOT_TRAIN",
                 "T30_ERR_FILEERROR", "T30_ERR_BADTIFF", "T30_ERR_RETRYDCN", "T30_ERR_CALLDROPPED"):
        assert getattr(session, name) == getattr(lib, name), name
    assert completion_text(T30_ERR_CALLDROPPED) == "The call dropped prematurely"


def test_three_pages_arrive_pixel_identical_at_14400_ecm(doc: Path, tmp_path: Path) -> None:
    rig = Rig()
    tx, rx = _send(rig, doc, tmp_path / "in.tif")
    assert (tx.ok, tx.result, tx.reason, tx.pages) == (True, T30_ERR_OK, "OK", 3)
    assert (rx.ok, rx.pages, rx.bit_rate, rx.ecm) == (True, 3, 14400, True)
    assert _identical(doc, tmp_path / "in.tif")
    pages = rig.of("rx", "FaxPage")
    assert [p.page for p in pages] == [1, 2, 3]
    assert [p.post_page for p in pages] == ["MPS", "MPS", "EOP"]
    assert all(p.width == 1728 and p.y_resolution == 3850 for p in pages)      # standard resolution
    assert next(type(e).__name__ for e in rig.events if getattr(e, "call", "") == "tx") == "FaxStarted"


@pytest.mark.parametrize("modems,rate", [(Modem.V29, 9600), (Modem.V27TER, 4800), (Modem.V17, 14400)])
def test_each_modem_fine_resolution_without_ecm(tmp_path: Path, modems: Modem, rate: int) -> None:
    doc = make_document(tmp_path / "fine.tif", pages=2, fine=True, length=900)
    rig = Rig(options=FaxOptions(ecm=False, modems=int(modems)), wire=True)
    tx, rx = _send(rig, doc, tmp_path / "in.tif")
    assert tx.ok and rx.ok and (rx.bit_rate, rx.ecm) == (rate, False)
    assert {p.y_resolution for p in rig.of("rx", "FaxPage")} == {7700}       # fine: 7.7 lines/mm
    assert _identical(doc, tmp_path / "in.tif")


@pytest.mark.system
def test_dropped_blocks_during_training_fall_back_in_speed(doc: Path, tmp_path: Path) -> None:
    imp = Impairment(drop_blocks=(400, 600, 800))
    rig = Rig(a_to_b=imp)
    tx, rx = _send(rig, doc, tmp_path / "in.tif")
    assert imp.dropped == 3
    assert tx.ok and rx.ok and tx.bit_rate < 14400        # TCF failed at 14400 (FTT): fell back
    assert _identical(doc, tmp_path / "in.tif")


@pytest.mark.parametrize("imp", [Impairment(noise_dbm0=-42.0), Impairment(gain_db=-15.0),
                                 Impairment(noise_dbm0=-46.0)], ids=["noise-42dBm0", "loss-15dB", "noise-46dBm0"])
@pytest.mark.system
def test_bad_line_fails_with_a_t30_phase_b_code(doc: Path, tmp_path: Path, imp: Impairment) -> None:
    rig = Rig(a_to_b=imp, b_to_a=Impairment(gain_db=imp.gain_db, noise_dbm0=imp.noise_dbm0, seed=2),
              options=FaxOptions(timeout=150.0), wire=True)
    tx, rx = _send(rig, doc, tmp_path / "in.tif", seconds=200.0)
    assert not tx.ok and not rx.ok and tx.pages == 0
    assert tx.result in PHASE_B_FAILURES | {3}, (tx.result, tx.reason)
    assert tx.reason == completion_text(tx.result) or "exceeded" in tx.reason
    assert not rig.of("rx", "FaxReceived")


def test_e1_bit_errors_from_the_simulator_do_not_corrupt_an_ecm_fax(doc: Path, tmp_path: Path) -> None:
    rig = Rig()
    rig.board.faults(1).set(ber=2e-6)
    tx, rx = _send(rig, doc, tmp_path / "in.tif")
    assert rig.board.faults(1).counts.bit_errors > 0
    assert tx.ok and rx.ok and _identical(doc, tmp_path / "in.tif")      # ECM repeats the bad frames


@pytest.mark.system
def test_voice_answer_instead_of_a_fax_ends_with_t1(doc: Path) -> None:
    rig = Rig()
    rig.a.send("tx", (0, rig.ts), doc, 0.0)
    t = np.arange(160)
    voice = [bytes(np.frombuffer(_tone(hz, t), np.uint8)) for hz in (300, 450, 700)]
    for i in range(3000):                       # somebody says "hello? hello?" for a minute
        rig.board.span(1).write_audio(rig.ts, voice[(i // 25) % 3] if (i // 50) % 2 == 0 else b"\xd5" * 160)
        rig.step()
        if not rig.a.jobs:
            break
    (tx,) = rig.of("tx", "FaxCompleted")
    assert not tx.ok and tx.result in {2, 3} and tx.pages == 0      # T0/T1: no fax machine answered
    assert "Timed out" in tx.reason


def _tone(hz: float, t: np.ndarray) -> bytes:
    from _boardcore import g711

    return bytes(g711.alaw_encode((6000 * np.sin(2 * np.pi * hz * t / 8000)).astype(np.int16)))


def test_no_answer_times_out_cleanly(doc: Path) -> None:
    rig = Rig(wire=True)
    rig.a.send("tx", (0, rig.ts), doc, 0.0)
    rig.run(90)
    (tx,) = rig.of("tx", "FaxCompleted")
    assert not tx.ok and tx.result in {2, 3} and tx.pages == 0 and not rig.a.jobs


def test_far_end_hangs_up_mid_page(doc: Path, tmp_path: Path) -> None:
    rig = Rig(pools=ResourcePools({"fax": 2}))
    rig.a.send("tx", (0, rig.ts), doc, 0.0)
    rig.b.receive("rx", (1, rig.ts), 0.0, path=tmp_path / "in.tif")
    while not rig.of("rx", "FaxPage"):
        rig.step()
    for _ in range(100):          # 2 s into page 2
        rig.step()
    rig.events += rig.b.hangup("rx", rig.board.now())
    rig.hung_up = True            # the line goes dead both ways
    rig.run(120)
    (rx,) = rig.of("rx", "FaxCompleted")
    (tx,) = rig.of("tx", "FaxCompleted")
    assert (rx.ok, rx.result, rx.pages) == (False, T30_ERR_CALLDROPPED, 1)
    assert not tx.ok and tx.pages == 1 and tx.result != T30_ERR_OK and tx.reason
    assert rig.a.pools is not None and rig.a.pools.usage()["fax"]["busy"] == 0


def test_inbox_keeps_a_received_fax_with_metadata(doc: Path, tmp_path: Path) -> None:
    store = MessageStore(tmp_path / "messages.sqlite")
    inbox = FaxInbox(tmp_path / "inbox", store)
    rig = Rig(wire=True)
    rig.b.inbox = inbox
    rig.a.send("tx", (0, rig.ts), doc, 0.0)
    rig.b.receive("rx", (1, rig.ts), 0.0, caller="01088886666", box="sales")
    rig.run(120)
    (got,) = [e for e in rig.events if isinstance(e, FaxReceived)]
    assert (got.call, got.caller, got.box, got.pages, got.ok) == ("rx", "01088886666", "sales", 3, True)
    (m,) = store.list("fax", box="sales")
    assert m.id == got.id and m.status == "new" and m.meta["pages"] == 3 and m.meta["result"] == 0
    assert _identical(doc, Path(m.path))


def test_fax_pool_refuses_when_full_with_an_event(doc: Path, tmp_path: Path) -> None:
    pools = ResourcePools({"fax": 1})
    rig = Rig(pools=pools)
    rig.a.send("one", (0, 5), doc, 0.0)
    with pytest.raises(FaxBusy, match="no fax channel free") as exc:
        rig.a.send("two", (0, 6), doc, 0.0)
    assert isinstance(exc.value.event, ResourceExhausted)
    assert pools.usage()["fax"] == {"size": 1, "busy": 1, "free": 0, "peak": 1, "taken": 1, "refused": 1}
    assert exc.value.event.to_dict()["kind"] == "fax"
    with pytest.raises(FaxBusy, match="already carries"):
        rig.a.send("three", (0, 5), doc, 0.0)
    rig.a.hangup("one", 0.04)
    assert pools.usage()["fax"]["busy"] == 0


# ---- bad documents ---------------------------------------------------------------------------------
def test_corrupt_tiff_is_refused_before_the_call(doc: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.tif"
    bad.write_bytes(doc.read_bytes()[:300])
    rig = Rig(pools=ResourcePools({"fax": 1}))
    with pytest.raises(FaxDocumentError, match="corrupt"):
        rig.a.send("tx", (0, 5), bad, 0.0)
    (tmp_path / "junk.tif").write_bytes(b"II*\x00garbage" * 10)
    with pytest.raises(FaxDocumentError):
        document.check(tmp_path / "junk.tif")
    assert rig.a.pools is not None and rig.a.pools.usage()["fax"]["busy"] == 0 and not rig.a.jobs


def test_unsupported_page_size_is_refused_and_prepare_fits_it(tmp_path: Path) -> None:
    wide = make_document(tmp_path / "wide.tif", pages=1, width=3000)
    with pytest.raises(FaxDocumentError, match="unsupported page size"):
        document.check(wide)
    pages = document.prepare(wide, tmp_path / "fit.tif", fine=True)
    assert [p.width for p in pages] == [1728] and pages[0].fine


def test_missing_document_and_inbox_directory(tmp_path: Path) -> None:
    with pytest.raises(FaxDocumentError, match="no such file"):
        document.check(tmp_path / "nope.tif")
    with pytest.raises(FileNotFoundError):
        FaxSession.receive(tmp_path / "no" / "dir" / "x.tif")


def test_pdf_to_tiff_with_ghostscript(tmp_path: Path) -> None:
    import shutil

    if shutil.which("gs") is None:
        pytest.skip("ghostscript (Debian package ghostscript) not installed")
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (850, 1100), "white")
    ImageDraw.Draw(im).rectangle((100, 100, 700, 300), fill="black")
    im.save(tmp_path / "doc.pdf", resolution=100.0, save_all=True, append_images=[im.copy()])
    pages = document.prepare(tmp_path / "doc.pdf", tmp_path / "doc.tif", fine=True)
    assert len(pages) == 2 and all(p.width == 1728 and p.fine for p in pages)
    black = document.pages(tmp_path / "doc.tif")[0]
    assert 0.05 < black.mean() < 0.3            # the black box survived
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\nnot really\n")
    with pytest.raises(FaxDocumentError, match="PDF conversion failed"):
        document.prepare(tmp_path / "broken.pdf", tmp_path / "broken.tif")


def test_events_serialise_for_the_bus(doc: Path, tmp_path: Path) -> None:
    rig = Rig(wire=True)
    _send(rig, doc, tmp_path / "in.tif")
    kinds = {type(e) for e in rig.events}
    assert {FaxStarted, FaxPage, FaxCompleted} <= kinds
    for e in rig.events:
        d = e.to_dict()
        assert d["type"] == type(e).__name__ and d["call"] in ("tx", "rx")
