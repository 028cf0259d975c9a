"""An H.265 camera's H.264 rendition for live viewers: it starts from the cached GOP with the
newest picture as an IDR (no wait for the camera's next keyframe), keeps up with the camera,
and a viewer decodes what it publishes."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import av
from media import camera_packets, make_source

from ingest.hub import Hub, StreamStarted
from ingest.packets import MediaPacket
from relay.transcode import H264Rendition


def wait(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.01)


def test_the_rendition_starts_from_the_cached_gop_and_follows_the_camera(tmp_path: Path) -> None:
    source = make_source(tmp_path / "h265.mkv", seconds=4.0, gop=50, video="hevc")
    loop = asyncio.new_event_loop()
    try:
        with camera_packets(source) as (info, packets):
            assert info.video_codec == "hevc"
            camera = Hub("cam")
            camera.stream_started(info)
            stream = list(packets)
            video = [p for p in stream if p.is_video]
            for packet in video[:30]:  # 30 frames into the GOP when the first viewer comes
                camera.publish(packet)
            rendition = H264Rendition(camera)
            viewer = rendition.hub.subscribe(loop, max_items=1000)
            rendition.start()
            wait(lambda: rendition.frames_encoded >= 1)
            assert rendition.frames_decoded == 30 and rendition.frames_encoded == 1
            for packet in video[30:]:
                camera.publish(packet)
            wait(lambda: rendition.frames_decoded == len(video))
            wait(lambda: rendition.frames_encoded == len(video) - 29)
            rendition.stop()
        items = []
        while viewer.pending():
            items.append(loop.run_until_complete(viewer.get()))
    finally:
        loop.close()
    started = [i for i in items if isinstance(i, StreamStarted)]
    assert started and started[0].info.video_codec == "h264"
    out = [i for i in items if isinstance(i, MediaPacket)]
    assert out[0].keyframe  # the newest cached picture, as an IDR
    assert out[0].pts_us == video[29].pts_us
    assert [p.pts_us for p in out] == sorted(p.pts_us for p in out)
    assert sum(p.keyframe for p in out) >= 2  # one with the camera's next keyframe too
    decoder = av.CodecContext.create("h264", "r")
    frames = [f for p in out for f in decoder.decode(av.Packet(bytes(p.packet)))]
    assert len(frames) == len(out) and (frames[0].width, frames[0].height) == (320, 180)


def test_a_rendition_that_falls_behind_drops_and_resumes_at_a_keyframe(tmp_path: Path) -> None:
    source = make_source(tmp_path / "h265.mkv", seconds=8.0, gop=25, video="hevc")
    with camera_packets(source) as (info, packets):
        camera = Hub("cam")
        camera.stream_started(info)
        rendition = H264Rendition(camera)
        rendition.start()
        video = [p for p in packets if p.is_video]
        for packet in video[:150]:  # 6 s of frames at once: more than it may queue
            camera.publish(packet)
        wait(lambda: rendition.frames_encoded > 0 and not rendition._queue, timeout=30)
        rendition.stop()
        rendition._thread.join(10)  # it finishes the frame it is on
    assert rendition.dropped_packets > 0
    assert 0 < rendition.frames_decoded <= 50  # from a keyframe after the drop (100 or 125)
    assert rendition.frames_decoded == rendition.frames_encoded
