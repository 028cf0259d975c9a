"""Run the automatic checks of cameras: gather what is known of each, then judge it.

`gather` reads a running camera (its Hub's recent media, its recorder, the catalog) into
`CameraFacts`; `judge` turns facts into one `CheckResult` per check, without any I/O, so the
same judgement runs in the server, in `casewatch patrol check --direct` and in the bench.

A check that cannot judge says so (``ok`` None) instead of failing twice for one cause: with no
picture at all, the picture checks are not judged; a black picture is not also dark, covered,
blurred and frozen; a picture too dark or too bright is not judged for focus or cover; a covered
picture is not also turned, blurred or tinted (and a picture flat all over is blurred or badly
exposed, not covered); once the view has changed, the other checks no longer compare it with
the reference picture of the old view.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from configs.schema import CameraSettings, CheckThresholds
from ingest.hub import Hub
from ingest.redact import hide_addresses
from ingest.runtime import CameraReader
from ingest.snapshot import jpeg
from patrol import equipment, picture
from patrol.equipment import Footage
from patrol.frames import CameraMedia, decode_recent
from patrol.picture import Measurement, Picture
from patrol.results import Check, CheckResult
from recorder.footage import camera_footage, gap_json
from recorder.models import RecordingRun

WHOLE_PICTURE = 0.9
"""A picture in which this share of the detailed blocks went flat lost its detail everywhere."""

UNITS: dict[Check, str] = {
    Check.RECORDING: "s",
    Check.COVERAGE: "%",
    Check.AUDIO: "dBFS",
    Check.CLOCK: "s",
    Check.BLACK: "luma",
    Check.DARK: "luma",
    Check.OVEREXPOSED: "luma",
    Check.NOISY: "σ",
    Check.FROZEN: "ppm",
}


@dataclass
class CameraFacts:
    """What is known of one camera at one instant."""

    camera_id: str
    state: str
    state_detail: str
    records: bool
    newest_footage_us: int | None
    now_us: int
    footage: Footage | None
    media: CameraMedia | None
    media_problem: str = ""
    clock_offset_seconds: float | None = None


def judge(
    facts: CameraFacts,
    thresholds: CheckThresholds,
    *,
    reference: Picture | None = None,
    checks: Collection[Check] = tuple(Check),
) -> list[CheckResult]:
    """One result per check asked for, in `Check` order (pure)."""
    t = thresholds
    measured: dict[Check, Measurement] = {
        Check.ONLINE: equipment.online(facts.state, facts.state_detail),
        Check.RECORDING: equipment.recording(
            records=facts.records,
            newest_footage_us=facts.newest_footage_us,
            now_us=facts.now_us,
            max_age_seconds=t.recording_max_age_seconds,
        ),
        Check.COVERAGE: equipment.coverage(facts.footage, min_percent=t.coverage_min_percent),
        Check.CLOCK: equipment.clock(
            facts.clock_offset_seconds, max_offset_seconds=t.clock_max_offset_seconds
        ),
    }
    media = facts.media
    if media is None:
        measured[Check.AUDIO] = Measurement(
            None, t.audio_min_dbfs, None, facts.media_problem or "nothing received"
        )
    else:
        measured[Check.AUDIO] = equipment.audio(
            has_track=media.has_audio, level_dbfs=media.audio_dbfs, min_dbfs=t.audio_min_dbfs
        )
    measured.update(picture_measurements(facts, t, reference))
    snapshot = jpeg(media.latest_bgr) if media is not None else None
    results = []
    for check in Check:
        if check not in checks:
            continue
        m = measured[check]
        extra = {"gaps": facts.footage.gaps} if check is Check.COVERAGE and facts.footage else {}
        results.append(
            CheckResult(
                camera=facts.camera_id,
                check=check,
                ok=m.ok,
                value=m.value,
                threshold=m.threshold if check is not Check.ONLINE else "live",
                unit=UNITS.get(check, ""),
                detail=m.detail,
                snapshot=snapshot,
                extra=extra,
            )
        )
    return results


def picture_measurements(
    facts: CameraFacts, t: CheckThresholds, reference: Picture | None
) -> dict[Check, Measurement]:
    """The picture checks' measurements, with the precedence between them applied (pure)."""
    thresholds = {
        Check.BLACK: t.black_min_bright_luma,
        Check.FROZEN: t.frozen_max_changed_ppm,
        Check.BLURRED: t.blur_min_sharpness,
        Check.COVERED: t.covered_max_share,
        Check.DARK: t.dark_min_mean_luma,
        Check.OVEREXPOSED: t.overexposed_max_mean_luma,
        Check.COLOUR_CAST: t.colour_cast_max_from_grey,
        Check.NOISY: t.noise_max_sigma,
        Check.SCENE_CHANGED: t.scene_min_similarity,
    }
    media = facts.media
    if media is None:
        reason = facts.media_problem or "no picture"
        return {c: Measurement(None, v, None, reason) for c, v in thresholds.items()}
    latest = media.latest
    result = {Check.BLACK: picture.black(latest, min_bright_luma=t.black_min_bright_luma)}
    if result[Check.BLACK].ok is False:
        return result | {
            c: Measurement(None, v, None, "the picture is black")
            for c, v in thresholds.items()
            if c is not Check.BLACK
        }
    result[Check.DARK] = picture.dark(latest, min_mean_luma=t.dark_min_mean_luma)
    result[Check.OVEREXPOSED] = picture.overexposed(
        latest, max_mean_luma=t.overexposed_max_mean_luma
    )
    result[Check.FROZEN] = picture.frozen(
        media.gop,
        max_changed_ppm=t.frozen_max_changed_ppm,
        min_span_seconds=t.frozen_min_span_seconds,
    )
    result[Check.NOISY] = picture.noisy(latest, max_noise_sigma=t.noise_max_sigma)
    exposure = result[Check.DARK].ok is False or result[Check.OVEREXPOSED].ok is False
    cover = picture.covered(
        latest,
        reference=reference,
        max_covered_share=(
            t.covered_max_share_vs_reference if reference is not None else t.covered_max_share
        ),
        max_dark_share=t.covered_dark_max_share,
    )
    if cover.ok is False and picture.detail_lost(latest, reference) >= WHOLE_PICTURE:
        # no part of the view kept its detail: blur or exposure, judged below, not a cover
        cover = Measurement(cover.value, cover.threshold, None, "the whole picture lost detail")
    elif (
        cover.ok is False
        and reference is None
        and picture.sharpness_beside_flat_region(latest) < t.blur_min_sharpness
    ):
        # the rest of the view is soft too: a blurred view of a plain wall or the sky (what
        # covers a lens leaves the rest of the view as sharp as it was), judged below
        cover = Measurement(cover.value, cover.threshold, None, "the whole picture is soft")
    result[Check.COVERED] = cover
    if cover.ok is False:
        # what covers the lens also hides the scene, its focus and its colours
        return result | {
            c: Measurement(None, thresholds[c], None, "the picture is covered")
            for c in (Check.SCENE_CHANGED, Check.BLURRED, Check.COLOUR_CAST)
        }
    result[Check.SCENE_CHANGED] = picture.scene_changed(
        latest, reference=reference, min_similarity=t.scene_min_similarity
    )
    if result[Check.SCENE_CHANGED].ok is False:
        # another view: comparing its colour or focus with the old one's would say nothing,
        # and its colour balance is that of a part of the room the reference never showed
        reference = None
        result[Check.COLOUR_CAST] = Measurement(
            None, thresholds[Check.COLOUR_CAST], None, "the camera shows another view"
        )
    else:
        result[Check.COLOUR_CAST] = picture.colour_cast(
            latest,
            reference=reference,
            max_shift=t.colour_cast_max_shift,
            max_shift_from_grey=t.colour_cast_max_from_grey,
        )
    if exposure:
        reason = "too dark" if result[Check.DARK].ok is False else "too bright"
        result[Check.BLURRED] = Measurement(
            None, thresholds[Check.BLURRED], None, f"the picture is {reason}"
        )
    else:
        result[Check.BLURRED] = picture.blurred(
            latest,
            reference=reference,
            min_sharpness=t.blur_min_sharpness,
            min_sharpness_ratio=t.blur_min_ratio,
        )
    return result


def picture_checks_pass(results: Iterable[CheckResult]) -> bool:
    """True when every picture check judged and passed (the picture may become the reference)."""
    judged = [r for r in results if r.check.on_picture and r.check is not Check.SCENE_CHANGED]
    return bool(judged) and all(r.ok is True for r in judged)


def recent_media(hub: Hub, thresholds: CheckThresholds) -> tuple[CameraMedia | None, str]:
    """The camera's decoded recent media, or None and why there is none."""
    recent = hub.recent_media()
    if recent is None:
        return None, "no picture: the camera is not sending"
    try:
        return decode_recent(recent, frozen_span_seconds=thresholds.frozen_min_span_seconds), ""
    except ValueError as error:
        return None, str(error)


def gather(
    camera: CameraSettings,
    hub: Hub,
    worker: CameraReader | None,
    session: Session,
    *,
    now_us: int,
    records: bool,
    live_span: tuple[int, int] | None,
    newest_footage_us: int | None,
    thresholds: CheckThresholds,
    coverage_until_us: int | None = None,
) -> CameraFacts:
    """What is known of a camera now: its connection (``worker``), its recent media (``hub``)
    and its footage in the catalog (with ``live_span``, the segment being written). Coverage runs
    up to now, or to ``coverage_until_us`` for a reader that cannot see the segment being
    written (``casewatch patrol check --direct``)."""
    live_end = live_span[1] if live_span else None
    newest = max(filter(None, [newest_footage_us, live_end]), default=None)
    footage = None
    first_run_us = session.scalar(
        select(func.min(RecordingRun.started_us)).where(RecordingRun.camera_id == camera.id)
    )
    if records and first_run_us is not None:
        # from its first recording on: a camera that never recorded is the recording check's
        until = coverage_until_us if coverage_until_us is not None else now_us
        window_us = int(thresholds.coverage_window_hours * 3_600_000_000)
        start = min(max(until - window_us, first_run_us), until)
        result = camera_footage(
            session, camera_id=camera.id, start_us=start, end_us=until, now_us=until,
            live_span=live_span,
        )  # fmt: skip
        gaps = [gap_json(gap) for gap in result.coverage.gaps]
        footage = Footage(start, until, result.coverage.percent, gaps)
    media, problem = recent_media(hub, thresholds)
    offset_us = worker.camera_clock_offset_us if worker is not None else None
    return CameraFacts(
        camera_id=camera.id,
        state=worker.state.value if worker is not None else "disabled",
        state_detail=hide_addresses(worker.detail) if worker is not None else "disabled",
        records=records,
        newest_footage_us=newest,
        now_us=now_us,
        footage=footage,
        media=media,
        media_problem=problem,
        clock_offset_seconds=offset_us / 1_000_000 if offset_us is not None else None,
    )
