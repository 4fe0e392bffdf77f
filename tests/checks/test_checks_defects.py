"""Each defect fails its own check and nothing unrelated; what the crop can fix is not a defect."""

import pytest

from station.checks.pipeline import analyse
from station.sim.portrait import render
from tests.checks.drawing import close_eyes, drop_shoulder, exposed, open_mouth, vignette

GEOMETRY = {"framing", "head_top", "eye_line", "face_width", "centring", "resolution"}
BACKDROP = {"backdrop_colour", "backdrop_uniformity", "backdrop_shadow"}

# name: (render parameters, the check that must fail, other checks allowed to fail with it)
DEFECTS = {
    "blue_top": (dict(shirt=(95, 185, 245)), "clothing_contrast", set()),
    "tilt": (dict(roll=8), "roll", set()),
    # the best window left is half off the student: the shoulders measured there say little
    "cut_at_the_left_edge": (dict(centre_x=150), "framing", GEOMETRY | {"clothing_contrast"}),
    "too_small": (dict(face_width=150), "framing", GEOMETRY),
    # the face fills the frame: little backdrop is left to judge, and the renderer's small
    # source face, enlarged this much, is genuinely soft
    "too_large": (dict(face_width=1000), "framing", GEOMETRY | BACKDROP | {"sharpness"}),
    "blur": (dict(blur=5), "sharpness", set()),
    # exposure changes the whole frame, so the backdrop's colour goes with it
    "dark": (dict(exposure=0.45), "exposure", {"backdrop_colour"}),
    "over_exposed": (dict(exposure=1.5), "exposure", {"backdrop_colour"}),
    "two_faces": (dict(face_width=300, second_face=True), "face_count", set()),
    "no_face": (dict(face=False), "face_count", set()),
    "shadowed_backdrop": (dict(shadow=0.5), "backdrop_shadow", {"backdrop_uniformity"}),
    "uneven_light": (dict(side_light=0.5), "lighting", set()),
    "glasses_glare": (dict(glare=True), "glasses_glare", set()),
}

# defects of an export-size photo, checked as it is (nothing to re-frame)
EXPORT_DEFECTS = {
    "off_centre": (dict(face_width=250, eye_y=250, centre_x=190), "centring", set()),
    "head_low": (dict(face_width=250, eye_y=330), "eye_line", {"head_top"}),
    "face_small": (dict(face_width=150, eye_y=250), "face_width", {"head_top"}),
}


def test_good_capture_passes_everything(profile, good_capture):
    report = analyse(good_capture[0], profile).report
    assert report.passed and not report.failed(), report.failed()
    names = {c.name for c in report.checks}
    assert {"face_count", "framing", "head_top", "eye_line", "face_width", "centring", "roll",
            "backdrop_colour", "backdrop_uniformity", "backdrop_shadow", "clothing_contrast",
            "sharpness", "exposure", "lighting", "eyes_open", "mouth_closed", "facing",
            "glasses_glare", "resolution"} <= names


def _assert_fails_only(report, expected, allowed, name):
    failed = set(report.failed())
    assert expected in failed, (name, failed)
    assert failed <= {expected} | allowed, (name, failed)
    check = next(c for c in report.checks if c.name == expected)
    assert check.message_zh and check.message_en and check.message_en != check.message_zh
    assert report.top_instruction is not None


@pytest.mark.parametrize("name", sorted(DEFECTS))
def test_defect_fails_the_right_check_only(profile, name):
    params, expected, allowed = DEFECTS[name]
    img, _ = render(1200, 1600, **params)
    _assert_fails_only(analyse(img, profile).report, expected, allowed, name)


@pytest.mark.parametrize("name", sorted(EXPORT_DEFECTS))
def test_export_size_defect_fails_its_check(profile, name):
    params, expected, allowed = EXPORT_DEFECTS[name]
    img, _ = render(480, 640, **params)
    _assert_fails_only(analyse(img, profile).report, expected, allowed, name)


def test_a_second_person_outside_the_export_photo_is_not_a_retake(profile):
    """CHSI receives the export photo only: a person well outside its window (someone waiting at
    the edge of a wide camera frame, over two face widths beyond the crop) does not fail the
    capture, and the crop is made; one just beside the student does (the defects above)."""
    from station.checks.pipeline import check_and_crop

    img, truth = render(3000, 1600, face_width=300, second_face=True, second_face_at=4.5)
    assert truth["faces"] == 2
    report, jpeg = check_and_crop(img, profile)
    count = next(c for c in report.checks if c.name == "face_count")
    assert report.passed and count.value == 1 and jpeg[:2] == b"\xff\xd8"


def test_off_centre_subject_is_recentred_by_the_crop(profile):
    """A student sitting left of centre is not a retake while the frame has room: the crop moves."""
    img, truth = render(1200, 1600, centre_x=420)
    result = analyse(img, profile)
    assert result.report.passed, result.report.failed()
    (left, _), (right, _) = result.report.geometry["cheeks"]
    assert abs((left + right) / 2 - 240) < 3


@pytest.mark.parametrize(("params", "reason", "word"), [
    (dict(centre_x=150), "no_room_left", "move the camera left"),
    (dict(centre_x=1050), "no_room_right", "move the camera right"),
    (dict(eye_y=170), "no_room_above", "raise"),
    (dict(face_width=150), "too_small", "zoom in"),
    (dict(face_width=1000), "too_large", "zoom out"),
])
def test_framing_failure_says_what_to_change(profile, params, reason, word):
    report = analyse(render(1200, 1600, **params)[0], profile).report
    framing = next(c for c in report.checks if c.name == "framing")
    assert framing.status == "fail" and framing.value == reason, (framing.value, report.failed())
    assert word in framing.message_en and framing.message_zh != framing.message_en
    assert report.top_instruction == (framing.message_zh, framing.message_en)


def test_tilt_within_the_limit_passes_and_beyond_is_a_retake(profile):
    ok = analyse(render(1200, 1600, roll=1.5)[0], profile).report
    assert ok.passed, ok.failed()
    assert ok.geometry["roll_deg"] == pytest.approx(1.5, abs=0.4)
    tilted = analyse(render(1200, 1600, roll=4)[0], profile).report
    assert tilted.failed() == ["roll"]
    roll = next(c for c in tilted.checks if c.name == "roll")
    assert roll.value == pytest.approx(4, abs=0.4)
    assert "hold the head straight" in roll.message_en and "摆正" in roll.message_zh


def test_closed_eyes_and_open_mouth_are_caught(profile):
    img, truth = render(480, 640, face_width=221, eye_y=250)
    base = analyse(img, profile).report
    assert base.status("eyes_open") == "pass" and base.status("mouth_closed") == "pass"
    shut = analyse(close_eyes(img, truth), profile).report
    assert shut.status("eyes_open") == "fail", shut.failed()
    assert shut.status("mouth_closed") == "pass"
    yawn = analyse(open_mouth(img, truth), profile).report
    assert yawn.status("mouth_closed") == "fail", [(c.name, c.value) for c in yawn.checks]
    assert yawn.status("eyes_open") == "pass"


def test_a_refused_crop_says_what_to_do_in_each_language(profile):
    """The crop's refusal carries the photographer's instruction, each rendering in its language."""
    from station.checks.errors import CropError
    from station.checks.pipeline import check_and_crop

    with pytest.raises(CropError) as caught:
        check_and_crop(render(1200, 1600, face_width=1000)[0], profile)
    zh, en = caught.value.messages
    assert en.endswith("zoom out or move the camera back"), en
    assert zh.endswith("请拉远镜头或让相机后退"), zh


@pytest.mark.parametrize(("backdrop_delta_l", "face_mean", "status"), [
    (0.0, 128.0, "pass"),     # a well-exposed frame
    (18.0, 128.0, "fail"),    # a dark face 1.5 EV over: nothing clips on it, the backdrop washes out
    (18.0, 85.0, "pass"),     # a dark face, well exposed, in front of an over-lit backdrop
])
def test_an_over_exposed_frame_is_told_by_its_backdrop(profile, good_capture, backdrop_delta_l,
                                                        face_mean, status):
    from station.checks.verdict import _exposure

    values = dict(analyse(good_capture[0], profile).measurements.values)
    values.update(backdrop_delta_l=backdrop_delta_l, face_mean=face_mean, over_share=0.0,
                  under_share=0.0)
    check = _exposure(values, profile)
    assert check.status == status, (check.status, check.message_en)


@pytest.mark.parametrize(("shirt", "status"), [
    ((180, 215, 235), "fail"),   # a pale blue shirt, ΔE ≈ 25 from the backdrop: its edge melts into it
    ((235, 235, 235), "pass"),   # white, ΔE ≈ 43
    ((60, 90, 150), "pass"),     # dark navy, ΔE ≈ 42
])
def test_pale_blue_clothes_fail_and_white_or_navy_pass(profile, shirt, status):
    report = analyse(render(1200, 1600, shirt=shirt)[0], profile).report
    assert report.status("clothing_contrast") == status, report.failed()


@pytest.fixture(scope="module")
def empty_backdrop():
    """The 1200×1600 render without anyone: the backdrop as the portraits below have it."""
    return render(1200, 1600, person=False)[0]


@pytest.mark.parametrize("narrow", [0.6, 0.7])
@pytest.mark.parametrize("side", ["left", "right"])
def test_a_shoulder_out_of_the_band_is_not_blue_clothes(profile, empty_backdrop, side, narrow):
    """An asymmetric pose leaves most of the shoulder band empty backdrop: the person mask tells
    that from clothes, so a dark top passes (colour alone read the band as blue clothes)."""
    img, truth = render(1200, 1600, shirt=(45, 50, 60))
    report = analyse(drop_shoulder(img, truth, empty_backdrop, side, narrow), profile).report
    assert report.status("clothing_contrast") == "pass", report.failed()
    assert report.passed, report.failed()


@pytest.mark.parametrize("side", ["left", "right"])
def test_blue_clothes_with_a_shoulder_out_of_the_band_still_fail(profile, empty_backdrop, side):
    """The same pose in a top of the backdrop's blue: the mask holds the clothes, which fail."""
    img, truth = render(1200, 1600, shirt=(95, 185, 245))
    report = analyse(drop_shoulder(img, truth, empty_backdrop, side), profile).report
    assert report.status("clothing_contrast") == "fail", report.failed()


@pytest.mark.parametrize(("shirt", "status"), [((45, 50, 60), "pass"), ((95, 185, 245), "fail")])
def test_a_backdrop_lit_less_toward_the_corners_is_not_blue_clothes(profile, empty_backdrop,
                                                                      shirt, status):
    """One shoulder out of the band under 0.7 EV of vignetting: a dark top passes, a top of
    the backdrop's blue still fails."""
    img, truth = render(1200, 1600, shirt=shirt)
    frame = vignette(drop_shoulder(img, truth, empty_backdrop, "left", 0.6), 0.7)
    report = analyse(frame, profile).report
    assert report.status("clothing_contrast") == status, report.failed()


@pytest.mark.parametrize("ev", [0.25, 0.5])
def test_empty_backdrop_lit_less_is_not_counted_as_clothes(profile, ev):
    """A shoulder band that is 70 % empty backdrop, lit ``ev`` less than beside the head (one
    background light, vignetting), and 30 % black top: the darker backdrop is the same blue, so
    it is not clothes (by plain ΔE it was, and its median failed the top as blue clothes); the
    same blue held by the person mask still is."""
    import numpy as np

    from station.checks.framing import shade_distance2, to_lab
    from station.checks.measure import _clothes_figures

    backdrop_bgr = np.array([[[219, 142, 67]]], np.uint8)  # the CHSI blue, as sRGB BGR
    colour = to_lab(backdrop_bgr)[0, 0]
    gain = 2.0 ** -ev
    linear = (backdrop_bgr / 255.0) ** 2.2 * gain
    darker = to_lab(np.round(255.0 * linear ** (1 / 2.2)).astype(np.uint8))[0, 0]
    black = to_lab(np.array([[[30, 28, 28]]], np.uint8))[0, 0]
    assert np.linalg.norm(darker - colour) > profile.clothing.empty_delta_e  # plain ΔE: "not backdrop"
    assert shade_distance2(darker[None], colour, profile.backdrop.mask_l_weight)[0] < \
        profile.clothing.empty_delta_e ** 2
    px = np.array([darker] * 700 + [black] * 300, np.float32)
    backdrop_like = np.array([True] * 700 + [False] * 300)
    nobody = np.array([0.0] * 700 + [1.0] * 300, np.float32)
    figures = _clothes_figures(px, backdrop_like, nobody, colour, profile)
    assert figures is not None and figures["clothing_delta_e"] > profile.clothing.min_delta_e_warn
    held = _clothes_figures(px, backdrop_like, np.ones(1000, np.float32), colour, profile)
    assert held is not None and held["clothing_delta_e"] < profile.clothing.min_delta_e_fail


@pytest.mark.parametrize("side", ["left", "right"])
def test_a_top_of_the_backdrops_blue_on_one_side_only_fails(profile, side):
    """A one-shoulder top (or a jacket over one shoulder only) of the backdrop's blue: the
    band's median can be the other side's colour, so each side the student fills is judged."""
    dark, truth = render(1200, 1600, shirt=(45, 50, 60))
    blue, _ = render(1200, 1600, shirt=(95, 185, 245))
    cx = int(truth["eye_mid"][0])
    chin = int(truth["eye_mid"][1] + 1.2 * truth["iod"])
    cols = slice(cx, None) if side == "right" else slice(None, cx)
    dark[chin:, cols] = blue[chin:, cols]
    report = analyse(dark, profile).report
    assert report.status("clothing_contrast") == "fail", report.failed()


def test_the_person_mask_is_made_only_when_the_band_alone_would_not_pass(
        profile, good_capture, empty_backdrop, monkeypatch):
    """The mask only clears empty backdrop out of the band, so a band that passes never needs it:
    the usual capture and every live-view frame keep their cost."""
    import station.checks.measure as measure_module

    made = []
    real = measure_module.person_probability
    monkeypatch.setattr(measure_module, "person_probability",
                        lambda frame: made.append(frame.shape) or real(frame))
    assert analyse(good_capture[0], profile).report.status("clothing_contrast") == "pass"
    assert made == []
    img, truth = render(1200, 1600, shirt=(45, 50, 60))
    report = analyse(drop_shoulder(img, truth, empty_backdrop, "left"), profile).report
    assert report.status("clothing_contrast") == "pass" and made == [(640, 480, 3)]


def test_cheek_light_with_the_nose_outside_the_frame_falls_back_to_the_eye_boxes(profile,
                                                                                good_capture):
    """A face mesh whose nose points lie outside the frame (a face at the frame's edge) gives
    no skin reference: the cheeks are then judged in the boxes under the eyes, never a crash."""
    import cv2

    from station.checks.measure import cheek_balance

    result = analyse(good_capture[0], profile)
    m = result.measurements
    assert m is not None and m.landmarks is not None and m.face is not None
    frame = result.frame
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    away = m.landmarks.mapped(lambda a: a + [0.0, 5000.0])
    assert cheek_balance(frame, gray, m.face, away) == cheek_balance(frame, gray, m.face, None)


def _cool(img):
    """The white balance 8 % too blue, as an uncalibrated camera gives it: the backdrop's blue,
    already 255 in the CHSI reference, clips; its shadows do not."""
    import numpy as np

    return np.clip(img.astype(np.float32) * np.array([1.08, 1.0, 0.92], np.float32), 0, 255).astype(np.uint8)


@pytest.mark.parametrize(("shadow", "status"), [(0.0, "pass"), (0.2, "pass"), (0.35, "fail"), (0.5, "fail")])
def test_a_shadow_on_a_clipped_blue_backdrop_reads_as_under_a_neutral_balance(profile, shadow, status):
    img, _ = render(1200, 1600, shadow=shadow)
    neutral, cool = (next(c for c in analyse(frame, profile).report.checks if c.name == "backdrop_shadow")
                     for frame in (img, _cool(img)))
    assert neutral.status == cool.status == status, (shadow, neutral.value, cool.value)
    assert abs(cool.value - neutral.value) < 1.0, (shadow, neutral.value, cool.value)


def _check(img, profile, name):
    return next(c for c in analyse(img, profile).report.checks if c.name == name)


@pytest.mark.parametrize(("shirt", "status"), [
    ((150, 160, 170), "pass"),   # a grey-blue top: ΔE 34 under a neutral balance
    ((175, 175, 175), "pass"),   # light grey: ΔE 39
    ((95, 185, 245), "fail"),    # the backdrop's own blue
    ((150, 180, 200), "fail"),   # pale blue, ΔE 25
])
def test_clothes_under_a_cool_balance_are_judged_as_under_a_neutral_one(profile, shirt, status):
    """A cool white balance (blue up 8 %, red down) turns a grey top bluish while the backdrop's
    blue, its B already 255, barely moves: a grey-blue top that passes read ΔE 27.9 and failed as
    blue clothes (a grey T-shirt of the real-face bench: 32.7 → 26.6). With the balance read off
    the backdrop undone in the shoulder band, it is not blue clothes; a blue top still fails."""
    img, _ = render(1200, 1600, shirt=shirt)
    neutral, cool = (_check(frame, profile, "clothing_contrast") for frame in (img, _cool(img)))
    assert neutral.status == status, neutral.value
    if status == "fail":
        assert cool.status == "fail", cool.value
    else:
        assert cool.status != "fail", (neutral.value, cool.value)
        assert cool.value > neutral.value - 6.0, (neutral.value, cool.value)


@pytest.mark.parametrize("shirt", [(150, 180, 190), (160, 185, 190)])
def test_clothes_that_pass_or_warn_are_not_blue_clothes_half_a_stop_darker(profile, shirt):
    """Lab distances shrink with the light (L + 16, a and b follow its cube root): 0.5 EV
    darker, a grey-blue top that warns read ΔE 25.7 and failed as blue clothes (a denim shirt
    on the real-face bench: 31.5 → 28.0). Put back on the expected exposure's scale it keeps
    its verdict; a top of the backdrop's blue still fails."""
    img, _ = render(1200, 1600, shirt=shirt)
    at, darker = (_check(frame, profile, "clothing_contrast") for frame in (img, exposed(img, -0.5)))
    assert at.status != "fail" and darker.status != "fail", (at.value, darker.value)
    assert abs(darker.value - at.value) < 1.5, (at.value, darker.value)
    blue, _ = render(1200, 1600, shirt=(95, 185, 245))
    assert _check(exposed(blue, -0.5), profile, "clothing_contrast").status == "fail"


PALE_BLUE = (130, 200, 240)  # a school's own light blue cloth: less saturated than the published blue


@pytest.mark.parametrize("shirt", [
    (185, 190, 200),   # a light grey T-shirt: ΔE 24 from the paler blue, 34 from the published one
    (160, 165, 175),   # mid grey
    (210, 212, 218),   # a white blouse in the shade of the shoulders
])
def test_grey_or_white_clothes_on_a_paler_blue_backdrop_are_not_blue_clothes(profile, shirt):
    """Against a paler blue every colour near neutral is closer than against the published blue
    (a grey top at the backdrop's lightness is just the backdrop's chroma away): on the real-face
    bench's RGB (130, 200, 240) backdrop a grey T-shirt and a white blouse read ΔE 22–26 and
    failed as blue clothes. Judged on the published blue's scale, the same top keeps its
    verdict and nearly its figure on either backdrop."""
    pale = _check(render(1200, 1600, shirt=shirt, backdrop=PALE_BLUE)[0], profile, "clothing_contrast")
    published = _check(render(1200, 1600, shirt=shirt)[0], profile, "clothing_contrast")
    assert published.status != "fail", published.value
    assert pale.status != "fail", (pale.value, published.value)
    assert abs(pale.value - published.value) < 4.0, (pale.value, published.value)


@pytest.mark.parametrize("shirt", [
    PALE_BLUE,          # dyed the backdrop's own blue
    (118, 188, 228),    # that blue darker …
    (142, 212, 252),    # … and lighter by 12
    (95, 185, 245),     # the published blue
    (180, 215, 235),    # a pale blue shirt
])
def test_blue_clothes_on_a_paler_blue_backdrop_still_fail(profile, shirt):
    img, _ = render(1200, 1600, shirt=shirt, backdrop=PALE_BLUE)
    assert _check(img, profile, "clothing_contrast").status == "fail"


@pytest.mark.parametrize(("shirt", "status"), [
    ((185, 190, 200), "pass"),   # light grey
    ((210, 212, 218), "pass"),   # white in shade
    ((95, 185, 245), "fail"),    # the published blue
    ((180, 215, 235), "fail"),   # a pale blue shirt
    ((150, 180, 200), "fail"),   # pale grey-blue, ΔE 25 from the published blue
])
def test_clothes_on_a_paler_blue_backdrop_under_a_warm_balance(profile, shirt, status):
    """A warm balance makes the paler cloth paler still (saturation 0.21 for its own 0.31): the
    part of that paleness which is the camera's is not undone as the cloth's, so pale blue
    shirts on it still fail (at a factor of 2.0 they read ΔE 29–31 and passed), while grey and
    white tops, which failed before the paleness was taken into account, pass."""
    import numpy as np

    img, _ = render(1200, 1600, shirt=shirt, backdrop=PALE_BLUE)
    warm = np.clip(img.astype(np.float32) * np.array([0.92, 1.0, 1.08], np.float32), 0, 255).astype(np.uint8)
    check = _check(warm, profile, "clothing_contrast")
    assert (check.status == "fail") == (status == "fail"), check.value


def test_the_paleness_scale_follows_saturation_not_exposure(profile):
    """The factor is the published blue's saturation over the backdrop's: 1 on the published
    blue at any exposure (a darker frame is ``light_scale``'s, not counted twice), above 1 on a
    paler blue, never below 1 on a more saturated one."""
    import numpy as np

    from station.checks.framing import rgb_to_lab, to_lab
    from station.checks.measure import PALENESS_SCALE_MAX, paleness_scale

    reference = rgb_to_lab(profile.backdrop.reference_rgb)
    assert paleness_scale(reference, reference) == 1.0
    darker = to_lab(exposed(np.array([[profile.backdrop.reference_rgb[::-1]]], np.uint8), -0.5))[0, 0]
    assert paleness_scale(darker, reference) == pytest.approx(1.0, abs=0.03)
    assert paleness_scale(rgb_to_lab(PALE_BLUE), reference) == pytest.approx(1.37, abs=0.03)
    assert paleness_scale(rgb_to_lab((92, 182, 255)), reference) == 1.0
    assert paleness_scale(rgb_to_lab((128, 128, 128)), reference) == PALENESS_SCALE_MAX


@pytest.mark.parametrize("ev", [-0.5, 0.5])
@pytest.mark.parametrize(("shadow", "status"), [(0.0, "pass"), (0.3, "fail"), (0.5, "fail")])
def test_a_shadow_keeps_its_verdict_half_a_stop_off(profile, shadow, status, ev):
    """A shadow's lightness drop shrinks with the frame's light: 0.5 EV darker a 30 % shadow
    read 5.5 L (6.2 at the expected exposure) and only warned; its depth is the scene's. 0.5 EV
    brighter the lit backdrop's blue clips and its hue turns toward cyan while its shadows keep
    theirs: the mask left a 50 % shadow out as subject and it read 3.1 L (passed)."""
    img, _ = render(1200, 1600, shadow=shadow)
    at, off = (_check(frame, profile, "backdrop_shadow") for frame in (img, exposed(img, ev)))
    assert at.status == off.status == status, (shadow, at.value, off.value)
    assert abs(off.value - at.value) < 0.07 * at.value + 0.3, (shadow, at.value, off.value)


def _bright(frame, centre, axes):
    """``frame`` with an ellipse at ``centre`` burnt to near-white (soft-edged), as a hot light
    burns skin or a lens reflects it."""
    import cv2
    import numpy as np

    spot = np.zeros(frame.shape[:2], np.float32)
    cv2.ellipse(spot, (int(centre[0]), int(centre[1])), (int(axes[0]), int(axes[1])), 0, 0, 360, 1.0, -1)
    spot = cv2.GaussianBlur(spot, (0, 0), 1.5)[:, :, None]
    return np.clip(frame * (1 - spot) + np.float32([250, 252, 252]) * spot, 0, 255).astype(np.uint8)


def test_a_burnt_cheek_below_the_eye_is_not_glasses_glare(profile, good_capture):
    """A bright exposure burns the cheekbone right below the eye: the bright patch enters the
    eye box from below and runs on down the cheek (a face without glasses 0.5 EV brighter read
    0.099 and failed as glare on the real-face bench). A reflection on a lens ends at the lens:
    the same size of patch on the eye still fails, and so does one at the lens's lower rim."""
    from station.checks.measure import glare_share

    result = analyse(good_capture[0], profile)
    frame, face = result.frame, result.measurements.face
    iod = face.iod
    g = profile.glare
    (lx, ly), (rx, ry) = face.eye_left, face.eye_right
    assert glare_share(frame, face, g.v_level, g.s_level) < g.blob_share_warn
    cheek = _bright(frame, (lx, ly + 0.55 * iod), (0.3 * iod, 0.35 * iod))
    assert glare_share(cheek, face, g.v_level, g.s_level) < g.blob_share_warn
    brow_and_cheek = _bright(cheek, (rx, ry - 0.6 * iod), (0.35 * iod, 0.35 * iod))
    assert glare_share(brow_and_cheek, face, g.v_level, g.s_level) < g.blob_share_warn
    lens = _bright(frame, (lx, ly), (0.2 * iod, 0.13 * iod))
    assert glare_share(lens, face, g.v_level, g.s_level) > g.blob_share_fail
    rim = _bright(frame, (lx, ly + 0.2 * iod), (0.2 * iod, 0.1 * iod))
    assert glare_share(rim, face, g.v_level, g.s_level) > g.blob_share_fail


def test_the_lit_cheeks_burnt_skin_counts_as_its_light(profile):
    """A side light burns part of the lit cheek: its pixels clip (a channel at 255) and lose the
    skin's chroma, and the skin test dropped them, so the lit cheek read darker than it is and
    the 阴阳脸 lighter (a real side-lit face 0.5 EV over: 0.47 → 0.37, a warning; under a warm
    balance 0.42 on the limit). Clipped pixels of a cheek are its skin (hair and shadow are
    never that bright): burnt or not, the lit cheek reads at least as light."""
    import cv2
    import numpy as np

    from station.checks.landmarks import CHEEKS
    from station.checks.measure import cheek_balance

    img, _ = render(1200, 1600, side_light=0.45)
    result = analyse(img, profile)
    frame, face, lm = result.frame, result.measurements.face, result.measurements.landmarks
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    plain, _ = cheek_balance(frame, gray, face, lm)
    lit = max(CHEEKS, key=lambda side: float(np.mean(gray[tuple(np.round(
        lm.mesh[list(CHEEKS[side])].mean(axis=0)).astype(int)[::-1])])))
    poly = np.round(lm.mesh[list(CHEEKS[lit])]).astype(np.int32)
    inside = np.zeros(gray.shape, np.uint8)
    cv2.fillPoly(inside, [poly], 255)
    ys, xs = np.nonzero(inside)
    top = ys.min() + 0.45 * (ys.max() - ys.min())  # its upper part: the cheekbone's highlight
    burnt = frame.copy()
    sel = ys < top
    burnt[ys[sel], xs[sel]] = (248, 252, 255)
    burnt_gray = cv2.cvtColor(burnt, cv2.COLOR_BGR2GRAY)
    with_highlight, _ = cheek_balance(burnt, burnt_gray, face, lm)
    assert with_highlight >= plain + 0.02, (plain, with_highlight)
