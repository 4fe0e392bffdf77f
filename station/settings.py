"""The station's settings: one typed, validated object, every key documented here once.

Layers, later wins: the defaults below < ``<data-dir>/station.toml`` < environment variables
``STATION__<SECTION>__<KEY>`` (double underscores, e.g. ``STATION__CAMERA__DRIVER=sim``; lists and
tables as JSON). A misspelt key or a wrong type is an error naming the file (or the variable),
the line and the key — never a silent default. ``station config show --defaults`` prints every
key with its documentation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

CONFIG_FILE = "station.toml"
ENV_PREFIX = "STATION__"


def _text(value: Any) -> Any:
    """TOML numbers where text is meant (``school_code = 10673``, ``iso = 200``)."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


# ASCII digits only: \d would take full-width １０６７３ (one rule with station.domain.schools)
SchoolCode = Annotated[str, BeforeValidator(_text), StringConstraints(pattern=r"^[0-9]{5}$")]
Text = Annotated[str, BeforeValidator(_text)]
StudyMode = Literal["full_time", "part_time"]


class Section(BaseModel):
    """A ``[section]`` of station.toml: unknown keys are errors, values are checked."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class StationSection(Section):
    lang: Literal["zh", "en"] = Field(
        "zh", description='Language of every screen and message: "zh" (default) or "en".')
    school_code: SchoolCode = Field(
        "10673", description="School code (学校代码) of the campaign this station serves; "
                             "10673 = Yunnan University.")


class CameraSection(Section):
    driver: Literal["gphoto2", "virtual", "sim"] = Field(
        "gphoto2", description='Which driver: "gphoto2" (a real tethered camera), "virtual" '
                               "(libgphoto2's virtual camera, images from vcamera_dir) or \"sim\" "
                               "(the in-process simulator used by the demo).")
    sim_scene: Literal["student", "empty"] = Field(
        "student", description='Simulator only: who sits in front of the simulated camera: '
                               '"student" (a rendered portrait) or "empty" (the empty backdrop, '
                               'e.g. to try `station calibrate`).')
    port: str = Field("", description='Only use the camera on this libgphoto2 port (e.g. '
                                      '"usb:001,007"); empty = the first camera found.')
    vcamera_dir: str = Field("", description="Folder of JPEGs the virtual camera serves; empty = "
                                             "a generated portrait in a temporary folder.")
    fps: float = Field(25, gt=0, le=120, description="Live-view frame rate cap (frames per "
                       "second). Real bodies deliver 10-60; more only heats them.")
    live_view_idle_s: float = Field(120, ge=0, description="Stop live view when nobody has looked "
                                    "at a frame for this many seconds (0 = never).")
    capture_timeout_s: float = Field(8.0, gt=0, description="Seconds a capture may take from the "
                                     "shutter to the downloaded file before the operator is told.")
    busy_retries: int = Field(5, ge=0, description='How many times a "camera busy" (-110) answer '
                              "is retried.")
    busy_retry_delay_s: float = Field(0.3, ge=0, description="Pause between those tries (seconds).")
    download_raw: bool = Field(False, description="Also download the RAW file when the camera "
                               "shoots RAW+JPEG.")
    delete_after_download: bool = Field(True, description="Delete the photo from the camera after "
                                        "downloading it (false = keep it on the card as a backup).")
    reconnect_initial_s: float = Field(2.0, gt=0, description="Reconnect back-off: the first pause "
                                       "between attempts (seconds); it doubles up to "
                                       "reconnect_max_s.")
    reconnect_max_s: float = Field(20.0, gt=0, description="Reconnect back-off: the longest pause "
                                   "between attempts (seconds).")
    detect_interval_s: float = Field(0.5, gt=0, description="How often (seconds) to look for a "
                                     "camera that is absent (cheap port scan, no session).")
    preview_failure_limit: int = Field(10, ge=1, description="Consecutive live-view failures after "
                                       "which the camera is closed and reconnected.")
    preset: dict[str, Text] = Field(
        default_factory=dict,
        description='Settings applied after every (re)connect, by station name, e.g. iso = "200", '
                    'aperture = "f/8", shutter = "1/125", white_balance = "daylight", '
                    'image_quality = "jpeg_fine", image_size = "large", capture_target = "card" '
                    '(or "ram"). Values go through drivers/cameras/*.toml.')

    @model_validator(mode="after")
    def _backoff_order(self) -> CameraSection:
        if self.reconnect_max_s < self.reconnect_initial_s:
            raise ValueError("reconnect_max_s must not be below reconnect_initial_s")
        return self


class FeeSection(Section):
    cents: int = Field(3000, gt=0, description="The fee per student in fen (30 yuan). A person "
                       "is paid when payments on record reach it.")
    web_cents: int = Field(1500, ge=0, description="Its web/maintenance part (网络维护费), in fen.")
    capture_cents: int = Field(1500, ge=0, description="Its capture/certification part "
                               "(采集认证费), in fen.")

    @model_validator(mode="after")
    def _parts_add_up(self) -> FeeSection:
        if self.web_cents + self.capture_cents != self.cents:
            raise ValueError(f"web_cents + capture_cents ({self.web_cents} + "
                             f"{self.capture_cents}) must equal cents ({self.cents})")
        return self


class ExportsSection(Section):
    profile: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]+$")] = Field(
        "chsi", description="The export profile: captures are checked and cropped by "
                            "exports/<profile>.toml, batches laid out by "
                            "exports/<profile>-batch.toml.")
    utc_offset_hours: float = Field(8, ge=-12, le=14, description="The station's local time, "
                                    "hours east of UTC (China: 8, no daylight saving): the desk's "
                                    "slot matching, reports and batch dates all use it, whatever "
                                    "the machine's zone (doctor warns when they differ).")
    cjk_font: str = Field("", description="A font file with Chinese glyphs for print sheets and "
                          'PDF reports; "" = look in the usual places (/usr/share/fonts: WenQuanYi '
                          "Micro Hei from fonts-wqy-microhei, Noto Sans CJK from fonts-noto-cjk).")
    throttle_ms: int = Field(0, ge=0, description="Pause after each photo written, in "
                             "milliseconds. Only tests of interruption set it; keep 0.")
    batch_profile: Annotated[str, StringConstraints(pattern=r"^([A-Za-z0-9_-]+)?$")] = Field(
        "", description='Batch layout exports/<name>-batch.toml; "" = the station mode\'s: '
                        "<profile> in card mode (chsi), <profile>-code in code mode (chsi-code).")
    lock_wait_seconds: float = Field(600, ge=0, description="How long `export build` waits for "
                                     "another export of this station to finish before it gives "
                                     "up (seconds); only one export runs at a time per station.")


class IdcardSection(Section):
    reader: Annotated[str, StringConstraints(
        pattern=r"^(pcsc(:.+)?|usb(:.+)?|serial:.+|virtual|sim|manual)$")] = Field(
        "pcsc", description='Which reader: "pcsc" (first PC/SC reader), "pcsc:NAME" (reader whose '
                            'name contains NAME), "usb" (a known SAM reader model on raw USB, e.g. '
                            'Routon iDR200), "usb:PROFILE", "serial:/dev/ttyUSB0" (SAM_V reader on '
                            'a serial port), "virtual" (pcscd + vpcd), "sim" (simulated), "manual" '
                            "(typed entry).")
    timeout: float = Field(30, gt=0, description="Seconds `station idcard read` waits for a card.")
    profile: str = Field("", description="Reader profile in drivers/readers/ (envelope, endpoints, "
                         "baud rate, poll interval and per-command deadlines of the reader model); "
                         '"" = choose by reader name (PC/SC), by USB id (usb) or the transport\'s '
                         "default.")
    wlt_library: str = Field("", description="Path of the reader vendor's WLT photo decoder "
                             'library (e.g. /opt/vendor/libwlt2bmp.so); "" = none.')
    wlt_function: str = Field("unpack", description="Name of the decoder function in that library.")


class EligibilityRule(Section):
    """One ``[[roster.eligibility]]`` rule: eligible when every key it names matches."""

    name: str = Field(description="The rule's name, recorded with each person it admits.")
    label_zh: str = Field("", description="The rule in Chinese, shown on the desk.")
    label_en: str = Field("", description="The rule in English.")
    degree: Literal["phd", "master", "bachelor"] | None = Field(None, description="Degree.")
    entry_year: int | None = Field(None, ge=1950, le=2100, description="Year of entry.")
    program_years: float | None = Field(None, ge=1, le=10, description="Length of the program.")

    def named(self) -> dict[str, Any]:
        """The keys this rule names (the others match anything)."""
        return {k: v for k, v in (("degree", self.degree), ("entry_year", self.entry_year),
                                  ("program_years", self.program_years)) if v is not None}


REFERENCE_RULES = (
    EligibilityRule(name="phd_2014", label_zh="2014 级博士", label_en="PhD, entered 2014",
                    degree="phd", entry_year=2014),
    EligibilityRule(name="master_3y_2015", label_zh="2015 级三年制硕士",
                    label_en="3-year master, entered 2015", degree="master", program_years=3,
                    entry_year=2015),
    EligibilityRule(name="master_2y_2016", label_zh="2016 级两年制硕士",
                    label_en="2-year master, entered 2016", degree="master", program_years=2,
                    entry_year=2016),
)


class RosterSection(Section):
    max_cell_chars: int = Field(200, ge=1, description="Longest text accepted in one cell; longer "
                                "cells are an error (pasted documents, binary junk).")
    max_rows: int = Field(200000, ge=1, description="Most data rows accepted in one roster file.")
    default_study_mode: StudyMode = Field(
        "full_time", description="Study mode assumed when the roster has no 学习方式 column or "
                                 "the cell is empty.")
    eligible_study_modes: list[StudyMode] = Field(
        ["full_time"], description='Study modes whose students may be photographed at all '
                                   '("part_time" = 非全日制/在职).')
    earlier_uncaptured_eligible: bool = Field(
        True, description='Whether people flagged "earlier graduate, not yet captured" '
                          "(往届未采集) are eligible.")
    makeup_weekdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(
        [4], description="Weekdays (Monday = 0) that are walk-in make-up days: no slot check "
                         "(Friday = 4).")
    eligibility: list[EligibilityRule] = Field(
        list(REFERENCE_RULES),
        description="Who graduates this campaign ([[roster.eligibility]] tables). A person is "
                    "eligible when one rule matches all the keys it names (degree: phd, master "
                    "or bachelor; entry_year; program_years) and the study mode is eligible. The "
                    "default is the reference notice (Yunnan University, 2017 autumn): PhD "
                    "students who entered in 2014, 3-year masters who entered in 2015 and 2-year "
                    "masters who entered in 2016.")


class SessionSection(Section):
    payment_method: str = Field("wechat", description="How the fee is paid at the desk.")
    auto_capture_seconds: float = Field(0.0, ge=0, description="Capture by itself once every live "
                                        "check has passed steadily for this many seconds "
                                        "(0 = off).")
    card_poll_seconds: float = Field(0.5, gt=0, description="Reader poll timeout of the desk's "
                                     "card worker, in seconds.")
    mode: Literal["card", "code"] = Field(
        "card", description='How students are identified: "card" (the ID card, the 2017 '
                            'procedure) or "code" (the ID card and the student\'s 图像采集码 from '
                            "学信网, scanned at the desk, as the pipeline has required since "
                            "2022-09).")
    check_threads: int = Field(
        2, ge=1, le=8, description="Threads the checks of one capture may use: its independent "
                                   "stages (a finer decode, BlazeFace, the export encode beside "
                                   "the frame measurements) run side by side, with the same "
                                   "results (`station check`/`crop` also give OpenCV as many "
                                   "threads); 1 = all in turn. The live view always uses one.")


class TuiSection(Section):
    picture: Annotated[Literal["auto", "graphics", "halfblock"], BeforeValidator(_lower)] = Field(
        "auto", description='How the live view and the last capture are drawn: "auto" (real '
                            "images where textual-image detects Kitty TGP or Sixel, half-block "
                            'characters elsewhere: tmux, headless, other terminals), "graphics" '
                            '(always the textual-image widget) or "halfblock" (works everywhere, '
                            "over ssh and in tmux).")


class HubSection(Section):
    images_dir: str = Field(
        "", description="This station's path to the PostgreSQL hub's image folder, for a hub "
                          "set up with one (station hub init --images DIR; on a campaign a "
                          "network share every station mounts, each at its own path). The folder "
                          "must carry that hub's marker file. --images on sync push/pull "
                          "overrides it. Empty: none (a hub that keeps its images in the database).")


REFERENCE_SCHOOLS = {
    "10673": "云南大学", "10674": "昆明理工大学", "10676": "云南农业大学", "10681": "云南师范大学",
    "10678": "昆明医科大学", "10689": "云南财经大学", "10691": "云南民族大学", "10679": "大理大学",
}


class Settings(BaseModel):
    """Every setting of a station, checked. Load with :func:`station.config.load_settings`."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    station: StationSection = Field(default_factory=StationSection,
                                    description="Station-wide settings.")
    camera: CameraSection = Field(default_factory=CameraSection, description="The tethered camera.")
    idcard: IdcardSection = Field(default_factory=IdcardSection, description="The ID card reader.")
    roster: RosterSection = Field(default_factory=RosterSection,
                                  description="Roster and schedule import, eligibility, matching.")
    session: SessionSection = Field(default_factory=SessionSection,
                                    description="The capture session at the desk.")
    fee: FeeSection = Field(default_factory=FeeSection,
                            description="The fee (15 web/maintenance + 15 capture/certification).")
    exports: ExportsSection = Field(default_factory=ExportsSection,
                                    description="Export profile, batches, print sheets, reports.")
    tui: TuiSection = Field(default_factory=TuiSection, description="The terminal UI.")
    hub: HubSection = Field(default_factory=HubSection,
                            description="Syncing through a PostgreSQL hub (station sync push/pull).")
    schools: dict[SchoolCode, str] = Field(
        default_factory=lambda: dict(REFERENCE_SCHOOLS),
        description="Walk-in (Friday make-up) schools: school code (教育部学校代码, 5 digits) = "
                    "name. A station adds schools (or renames one) under the same [schools] "
                    "table; the ones listed here stay.")

    _source: Path | None = PrivateAttr(None)

    @property
    def source(self) -> Path | None:
        """The station.toml these settings were read from (None: defaults and environment)."""
        return self._source


class EnvSettings(BaseSettings, Settings):
    """The settings with the environment read over the values given (pydantic-settings)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__",
                                      extra="forbid", frozen=True, case_sensitive=False,
                                      validate_default=True)

    @classmethod
    def settings_customise_sources(
            cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values come in as init arguments; the environment wins over them.
        return env_settings, init_settings


# Keys of earlier versions and where they went (a station.toml that still has them is told).
RENAMED = {
    "session.fee_cents": "fee.cents",
    "exports.fee_cents": "fee.cents",
    "exports.fee_web_cents": "fee.web_cents",
    "exports.fee_capture_cents": "fee.capture_cents",
    "session.profile": "exports.profile",
}
