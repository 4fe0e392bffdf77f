"""Code mode at the desk (issue 12.5): the service takes a student's 图像采集码 typed by a scanner
or read from the QR code the student holds up to the camera (OpenCV's decoder on real pixels: a
rendered portrait with a phone-sized code in it), refuses codes of the wrong form, of another
student, in card mode, and keeps the photo back until a code is set."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from station.config import default_settings
from station.errors import InputError, RefusedError
from station.session.service import CaptureService
from station.session.states import State
from station.sim.portrait import render

from .conftest import PHO_PIN, PHOTOGRAPHER, MarkerChecker, person, rows, table_match

CODE = "Xq7mA2kP9zR4tB1c"


def service(store, mode: str, people):
    settings = default_settings()
    settings = settings.model_copy(update={"session": settings.session.model_copy(update={"mode": mode})})
    op = store.operators.authenticate(PHOTOGRAPHER, PHO_PIN)
    return CaptureService(store, op, checker=MarkerChecker(), settings=settings,
                          match=table_match({p.id_number: [] for p in people}))


def qr(text: str, module_px: int) -> np.ndarray:
    """The QR code of ``text`` as a phone shows it: black modules on white, a quiet zone."""
    code = cv2.QRCodeEncoder.create().encode(text)
    code = cv2.resize(code, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST)
    return cv2.copyMakeBorder(code, 4 * module_px, 4 * module_px, 4 * module_px, 4 * module_px,
                              cv2.BORDER_CONSTANT, value=255)


def held_up(frame: np.ndarray, code: np.ndarray, x: int, y: int, angle: float = 12.0) -> np.ndarray:
    """``frame`` with ``code`` pasted at (x, y), turned by ``angle`` degrees and a little blurred
    (a phone held by hand in front of the lens)."""
    h, w = code.shape
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    turned = cv2.warpAffine(code, turn, (w, h), borderValue=255)
    mask = cv2.warpAffine(np.full_like(code, 255), turn, (w, h), borderValue=0) > 0
    out = frame.copy()
    patch = out[y:y + h, x:x + w]
    patch[mask] = cv2.cvtColor(turned, cv2.COLOR_GRAY2BGR)[mask]
    return cv2.GaussianBlur(out, (3, 3), 0.8)


def framing(svc, p) -> None:
    svc.identify(p)
    svc.pay()
    assert svc.state is State.FRAMING


def second_after_first_took_the_code(store, first, second):
    """A desk where ``first`` was photographed and accepted under CODE, and ``second`` sits next."""
    svc = service(store, "code", [first, second])
    framing(svc, first)
    svc.set_capture_code(CODE)
    svc.capture(b"GOOD photo")
    svc.accept()
    svc.next()
    framing(svc, second)
    return svc


def test_a_code_held_up_to_the_camera_is_read_and_kept_with_the_capture(store):
    p = person(1)
    svc = service(store, "code", [p])
    framing(svc, p)
    with pytest.raises(RefusedError) as no_code:
        svc.capture(b"GOOD photo")
    assert no_code.value.key == "session.capture_code_required"
    portrait, _ = render(1024, 1365, seed=3)
    assert svc.scan_capture_code(held_up(portrait, qr(CODE, 6), 600, 900)) == CODE
    result = svc.capture(b"GOOD photo")
    assert [c["capture_code"] for c in rows(store, "captures")] == [CODE]
    assert result.capture_id == rows(store, "captures")[0]["id"]
    audit = [a for a in rows(store, "audit") if a["action"] == "session.capture_code"]
    assert len(audit) == 1 and CODE not in str(audit[0])      # a short hash, not the code


def test_a_camera_sized_frame_is_read_on_a_reduced_copy(store):
    p = person(2)
    svc = service(store, "code", [p])
    framing(svc, p)
    portrait, _ = render(3000, 4000, seed=5)
    assert svc.scan_capture_code(held_up(portrait, qr(CODE, 24), 1700, 2500, angle=-8)) == CODE


def test_no_code_two_codes_and_a_code_of_the_wrong_form_are_refused_in_words(store):
    p = person(3)
    svc = service(store, "code", [p])
    framing(svc, p)
    portrait, _ = render(1024, 1365, seed=4)
    with pytest.raises(RefusedError) as none:
        svc.scan_capture_code(portrait)
    assert none.value.key == "session.capture_code_not_found"
    two = held_up(held_up(portrait, qr(CODE, 5), 40, 900, 0), qr("Lw3nE8vH5yU6oI0d", 5), 600, 900, 0)
    with pytest.raises(RefusedError) as several:
        svc.scan_capture_code(two)
    assert several.value.key == "session.capture_code_several"
    with pytest.raises(InputError) as wrong:                 # a URL is not a code: not its form
        svc.scan_capture_code(held_up(portrait, qr("https://example.org/x y", 6), 600, 900))
    # named once, in the reader's words: what the camera read, the field the scanner typed in
    assert wrong.value.location is not None
    assert (wrong.value.location.render("zh"), wrong.value.location.render("en")) == (
        "相机画面中的二维码", "QR code in the camera picture")
    with pytest.raises(InputError) as typed:
        svc.set_capture_code("../../etc/passwd")
    assert typed.value.location is not None and typed.value.location.render("zh") == "扫码框"
    assert svc.person is not None and svc.person.capture_code is None
    assert rows(store, "captures") == []


def test_another_students_code_is_refused_with_their_id_masked(store):
    first, second = person(4), person(5)
    svc = second_after_first_took_the_code(store, first, second)
    with pytest.raises(RefusedError) as taken:
        svc.set_capture_code(f"  {CODE} ")
    assert taken.value.key == "session.capture_code_taken"
    shown = str(taken.value.params)
    assert first.id_number not in shown and first.id_number[-4:] in shown


def test_card_mode_takes_no_code(store):
    p = person(6)
    svc = service(store, "card", [p])
    framing(svc, p)
    assert not svc.needs_capture_code
    portrait, _ = render(1024, 1365, seed=3)
    for give in (lambda: svc.set_capture_code(CODE),
                 lambda: svc.scan_capture_code(held_up(portrait, qr(CODE, 6), 600, 900))):
        with pytest.raises(RefusedError) as refused:
            give()
        assert refused.value.key == "session.capture_code_card_mode"
    svc.capture(b"GOOD photo")                               # card mode: no code needed
    assert [c["capture_code"] for c in rows(store, "captures")] == [None]


def test_a_scan_while_a_photo_is_on_screen_never_rekeys_the_student(store):
    """The next student's phone under the scanner while A's photo is on screen: refused, and the
    retake keeps A's code; only a code typed on purpose (the desk's ``k`` field) replaces it."""
    a, other = person(4), "Zz9yY8xX7wW6vV5u"
    svc = service(store, "code", [a])
    framing(svc, a)
    svc.set_capture_code(CODE)
    svc.capture(b"GOOD photo")
    with pytest.raises(RefusedError) as refused:
        svc.set_capture_code(other)
    assert refused.value.key == "session.capture_code_other"
    svc.retake()
    svc.capture(b"GOOD photo")
    svc.accept()
    assert [c["capture_code"] for c in rows(store, "captures")] == [CODE, CODE]
    assert svc.person is not None and svc.person.capture_code == CODE


def test_a_code_typed_on_purpose_replaces_a_wrong_one_before_the_photo(store):
    a, right = person(5), "Rr1sS2tT3uU4vV5w"
    svc = service(store, "code", [a])
    framing(svc, a)
    svc.set_capture_code(CODE)
    assert svc.set_capture_code(right, replace=True) == right
    svc.capture(b"GOOD photo")
    assert [c["capture_code"] for c in rows(store, "captures")] == [right]


def test_a_code_differing_only_in_case_is_another_students_code(store):
    """The batch names the photo by the code and the pipeline's Windows tools (and any zip
    unpacked there) fold case: ``abc….jpg`` would overwrite ``ABC….jpg``, one student's photo
    delivered as another's. A code equal to a taken one but for case is taken."""
    first, second = person(6), person(7)
    svc = second_after_first_took_the_code(store, first, second)
    with pytest.raises(RefusedError) as taken:
        svc.set_capture_code(CODE.swapcase())
    assert taken.value.key == "session.capture_code_taken"
