"""IPC benchmark: what it costs to carry a watched camera's packets from a recorder worker
process to the server (recorder/DESIGN.md, "Worker processes"), beside handing them between two
threads of one process as today.

    .venv/bin/python bench/ipc.py [--seconds 60] [--repeats 3] [--json FILE]

The packets are a camera's: ``--seconds`` of 1280x720 at 25 fps, about 2 Mbit/s H.264 with a
2 s GOP, and 48 kHz AAC (≈72 packets a second), encoded once by ffmpeg and demuxed into
``MediaPacket``s. Each way moves all of them as fast as it can, ``--repeats`` times:

- **threads** (the baseline): a producer thread puts each packet on a ``queue.Queue``, a
  consumer thread takes it — the handoff a Hub subscription makes inside one process;
- **socket**: a child process frames each packet (``ingest.wire``: a 52-byte header and the
  packet's bytes in one ``sendmsg``) into a Unix stream socket pair; this process reads and
  decodes the frames back into ``MediaPacket``s;
- **pipe**: the same framing through ``os.pipe``.

For each: packets per second, and CPU per packet (sender + receiver, user + system, from
``getrusage``), shown as the share of one core a watched camera costs at 72 packets a second.
A shared-memory ring is not measured: the socket's cost per packet (below) leaves nothing for a
ring to win that would pay for its locking and wake-ups.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import av

from ingest.packets import MediaPacket, StreamKind
from ingest.wire import FrameReader, packet_frame, send

PACKETS_PER_SECOND = 25 + 47  # video at 25 fps, AAC at 48 kHz in 1024-sample frames
READ_SIZE = 256 * 1024


def make_footage(path: Path, seconds: int) -> Path:
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
            "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-b:v", "2M",
            "-maxrate", "2M", "-bufsize", "1M", "-g", "50", "-bf", "0", "-c:a", "aac",
            str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


def packets_of(path: Path) -> list[MediaPacket]:
    out = []
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        for raw in container.demux(video, audio):
            if raw.dts is None or raw.size == 0:
                continue
            time_base: Fraction = raw.time_base
            us = int(raw.dts * time_base * 1_000_000)
            kind = StreamKind.VIDEO if raw.stream is video else StreamKind.AUDIO
            data = bytes(raw)
            out.append(MediaPacket(data, kind, bool(raw.is_keyframe), us, us, 0, us, 0, time_base))
    return out


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


# -- the ways -------------------------------------------------------------------------------------


def by_threads(packets: list[MediaPacket]) -> tuple[float, float]:
    handoff: queue.Queue[MediaPacket | None] = queue.Queue(maxsize=400)

    def produce() -> None:
        for packet in packets:
            handoff.put(packet)
        handoff.put(None)

    count = 0
    cpu = cpu_seconds(resource.RUSAGE_SELF)
    started = time.perf_counter()
    producer = threading.Thread(target=produce)
    producer.start()
    while handoff.get() is not None:
        count += 1
    producer.join()
    assert count == len(packets)
    return time.perf_counter() - started, cpu_seconds(resource.RUSAGE_SELF) - cpu


def by_process(footage: Path, way: str) -> tuple[float, float, int]:
    """(seconds, CPU seconds of receiver and sender, packets received) of one run."""
    if way == "socket":
        mine, theirs = socket.socketpair()
        read = lambda: mine.recv(READ_SIZE)  # noqa: E731
        fd = theirs.fileno()
    else:
        read_fd, fd = os.pipe()
        read = lambda: os.read(read_fd, READ_SIZE)  # noqa: E731
    cpu = cpu_seconds(resource.RUSAGE_SELF)
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", way, str(fd), str(footage)], pass_fds=[fd]
    )
    if way == "socket":
        theirs.close()
    else:
        os.close(fd)
    reader, received, data = FrameReader(), 0, b"x"
    ready = False
    while data:
        data = read()
        for frame in reader.feed(data):
            if not ready:  # the child's own set-up (demux) is not part of the cost
                ready = True
                started = time.perf_counter()
                cpu = cpu_seconds(resource.RUSAGE_SELF)
            received += isinstance(frame.item, MediaPacket)
    elapsed = time.perf_counter() - started
    receiver = cpu_seconds(resource.RUSAGE_SELF) - cpu
    child.wait()
    sender = float(Path(f"{footage}.{way}.cpu").read_text(encoding="ascii"))
    return elapsed, receiver + sender, received


def child(way: str, fd: int, footage: Path) -> None:
    """Send every packet of ``footage`` framed; write the CPU the sending took (not the demux
    before it) beside the footage for the parent."""
    packets = packets_of(footage)
    setup = cpu_seconds(resource.RUSAGE_SELF)
    if way == "socket":
        sock = socket.socket(fileno=fd)
        for packet in packets:
            send(sock, packet_frame(0, packet))
        sock.close()
    else:
        with os.fdopen(fd, "wb", buffering=0) as pipe:
            for packet in packets:
                header, payload = packet_frame(0, packet)
                pipe.write(header)
                pipe.write(payload)
    spent = cpu_seconds(resource.RUSAGE_SELF) - setup
    Path(f"{footage}.{way}.cpu").write_text(f"{spent}\n", encoding="ascii")


def measure(seconds: int, repeats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="casewatch-ipc-") as work:
        footage = make_footage(Path(work) / "camera.mkv", seconds)
        packets = packets_of(footage)
        megabytes = sum(len(p.packet) for p in packets) / 1e6
        results: dict[str, Any] = {
            "packets": len(packets),
            "megabytes": round(megabytes, 1),
            "camera_packets_per_second": PACKETS_PER_SECOND,
        }
        for way in ("threads", "socket", "pipe"):
            runs = []
            for _ in range(repeats):
                if way == "threads":
                    elapsed, cpu = by_threads(packets)
                    received = len(packets)
                else:
                    elapsed, cpu, received = by_process(footage, way)
                assert received == len(packets), (way, received)
                runs.append((elapsed, cpu))
            elapsed, cpu = min(runs, key=lambda run: run[1])
            per_packet_us = 1e6 * cpu / len(packets)
            results[way] = {
                "packets_per_second": round(len(packets) / elapsed),
                "cpu_us_per_packet": round(per_packet_us, 2),
                "core_percent_per_watched_camera": round(
                    100 * per_packet_us * PACKETS_PER_SECOND / 1e6, 3
                ),
            }
        base = results["threads"]["cpu_us_per_packet"]
        for way in ("socket", "pipe"):
            results[way]["cpu_vs_threads"] = round(results[way]["cpu_us_per_packet"] / base, 2)
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--child", nargs=3, metavar=("WAY", "FD", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        way, fd, footage = args.child
        child(way, int(fd), Path(footage))
        return
    results = measure(args.seconds, args.repeats)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
