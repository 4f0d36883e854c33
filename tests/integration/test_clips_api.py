"""Clips and the HTTP API against a running daemon.

Phase 1: an H.264 file camera and an H.264 RTSP camera (gst-rtsp-server serving the same file's own
packets) with clips on, and a bearer token. Checked:
  - every segment gets a clip.ready whose MP4 covers [start - pre_s, end + post_s] from the key
    frame at or before the start (decoded: first/last picture times, frame count), whose H.264
    slices are byte for byte the camera's own (no re-encode; parameter sets aside), and that
    decodes to the end without error;
  - every API endpoint, each filter, Range requests on a clip, the SSE stream (and its resume with
    Last-Event-ID), 400 naming the parameter for bad ones, 401 without the token, 404s.
Phase 2: the disk bound under a long run: a synthetic camera (encoded clips) with clips.max_total_mb 1
keeps its folder within the bound and counts what it deleted.

Usage (from ctest): test_clips_api.py --actiond BIN --models DIR --source DIR
"""
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402
from jsonschema import Draft202012Validator  # noqa: E402
from testlib import fail, free_port, write_config  # noqa: E402

Gst.init(None)
PRE, POST = 1.0, 1.0


def make_video(path: str, width: int = 320, height: int = 240) -> None:
    """8 s H.264 at 25 fps, a key frame every 25 frames: 2 s black, 3 s red (the action), 3 s black."""
    cmd = ["gst-launch-1.0", "-q", "concat", "name=c", "!", "videoconvert", "!", "x264enc", "speed-preset=ultrafast",
           "key-int-max=25", "bframes=0", "!", "h264parse", "!", "mp4mux", "!", "filesink", f"location={path}"]
    for pattern, seconds in [("black", 2), ("red", 3), ("black", 3)]:
        cmd += ["videotestsrc", f"pattern={pattern}", f"num-buffers={seconds * 25}", "!",
                f"video/x-raw,format=I420,width={width},height={height},framerate=25/1", "!", "c."]
    subprocess.run(cmd, check=True, timeout=60)


def pull(desc: str, take) -> tuple:
    """Runs a pipeline ending in `appsink name=s` to its end: ([take(sample) for each sample], error text)."""
    pipe = Gst.parse_launch(desc)
    sink = pipe.get_by_name("s")
    pipe.set_state(Gst.State.PLAYING)
    out = []
    while True:
        smp = sink.emit("try-pull-sample", 5 * Gst.SECOND)
        if smp is None:
            break
        out.append(take(smp))
    msg = pipe.get_bus().pop_filtered(Gst.MessageType.ERROR)
    pipe.set_state(Gst.State.NULL)
    return out, (msg.parse_error()[0].message if msg else "")


def access_unit(smp) -> tuple:
    buf = smp.get_buffer()
    ok, info = buf.map(Gst.MapFlags.READ)
    au = (buf.pts / Gst.SECOND, bytes(info.data), not buf.has_flags(Gst.BufferFlags.DELTA_UNIT))
    buf.unmap(info)
    return au


def samples(path: str) -> list:
    """(pts s, bytes, key) of every H.264 access unit of an MP4, in decode order (no decoding)."""
    return pull(f'filesrc location="{path}" ! qtdemux ! h264parse ! video/x-h264,stream-format=avc,alignment=au '
                '! appsink name=s sync=false', access_unit)[0]


def slices(au: bytes) -> list:
    """The slice NAL units (types 1 and 5) of an AVC access unit (4-byte lengths)."""
    out, i = [], 0
    while i + 4 <= len(au):
        n = int.from_bytes(au[i:i + 4], "big")
        nal = au[i + 4:i + 4 + n]
        if nal and (nal[0] & 0x1F) in (1, 5):
            out.append(nal)
        i += 4 + n
    return out


def mean_rgb(jpeg: str) -> tuple:
    """(width, height, mean R, G, B) of a JPEG, decoded."""
    pipe = Gst.parse_launch(f'filesrc location="{jpeg}" ! jpegdec ! videoconvert ! video/x-raw,format=RGB ! appsink name=s sync=false')
    sink = pipe.get_by_name("s")
    pipe.set_state(Gst.State.PLAYING)
    smp = sink.emit("try-pull-sample", 5 * Gst.SECOND)
    pipe.set_state(Gst.State.NULL)
    if smp is None:
        fail(f"{jpeg} does not decode")
    st = smp.get_caps().get_structure(0)
    w, h = st.get_value("width"), st.get_value("height")
    ok, info = smp.get_buffer().map(Gst.MapFlags.READ)
    data = bytes(info.data)
    stride = len(data) // h
    rows = [data[y * stride:y * stride + 3 * w] for y in range(0, h, 8)]
    px = [row[x:x + 3] for row in rows for x in range(0, 3 * w, 24)]
    return (w, h) + tuple(sum(p[c] for p in px) / len(px) for c in range(3))


def decoded_times(path: str) -> tuple:
    """(first, last picture time, frames, error) of a full decode."""
    times, err = pull(f'filesrc location="{path}" ! decodebin ! videoconvert ! appsink name=s sync=false',
                      lambda smp: smp.get_buffer().pts / Gst.SECOND)
    return (min(times), max(times), len(times), err) if times else (0, 0, 0, err or "no frame")


class RtspServer:
    """gst-rtsp-server on a free loopback port: the file's own H.264 packets, from the start per client."""

    def __init__(self, video: str) -> None:
        self.port = free_port()
        self.server = GstRtspServer.RTSPServer()
        self.server.set_address("127.0.0.1")
        self.server.set_service(str(self.port))
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(f'( filesrc location="{video}" ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 )')
        self.server.get_mount_points().add_factory("/cam", factory)
        self.loop = GLib.MainLoop()
        self.server.attach(None)
        threading.Thread(target=self.loop.run, daemon=True).start()

    def stop(self) -> None:
        self.loop.quit()


class Api:
    def __init__(self, port: int, token: str) -> None:
        self.base, self.token = f"http://127.0.0.1:{port}", token

    def get(self, path: str, headers=None, auth=True) -> tuple:
        h = dict(headers or {})
        if auth:
            h["Authorization"] = "Bearer " + self.token
        req = urllib.request.Request(self.base + path, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def json(self, path: str, status: int = 200) -> dict:
        code, _, body = self.get(path)
        if code != status:
            fail(f"GET {path}: {code} {body[:300]!r}, expected {status}")
        return json.loads(body)


def check_bad_params(api: Api) -> None:
    cases = [("/api/events?limit=0", "parameter 'limit': must be an integer from 1 to 1000"),
             ("/api/events?limit=abc", "parameter 'limit': must be an integer from 1 to 1000"),
             ("/api/events?since=yesterday", "parameter 'since': must be a UTC time (2026-11-28T01:02:03Z) or Unix seconds"),
             ("/api/events?until=2026-13-01T00:00:00Z", "parameter 'until': must be a UTC time (2026-11-28T01:02:03Z) or Unix seconds"),
             ("/api/events?since=20&until=10", "parameter 'until': must be after 'since'"),
             ("/api/events?order=up", "parameter 'order': must be \"asc\" or \"desc\""),
             ("/api/events?camera=", "parameter 'camera': must not be empty"),
             ("/api/events?after=-1", "parameter 'after': must be an integer from 0 to 4611686018427387903"),
             ("/api/events?colour=red", "unknown parameter 'colour'"),
             ("/api/segments?type=segment.start", "unknown parameter 'type'"),
             ("/api/events/stream?limit=5", "unknown parameter 'limit'")]
    for path, message in cases:
        got = api.json(path, 400)
        if got != {"error": message}:
            fail(f"GET {path}: {got}, expected error {message!r}")
    code, _, _ = api.get("/api/events/stream", headers={"Last-Event-ID": "x"})
    if code != 400:
        fail(f"Last-Event-ID x: {code}, expected 400")


def check_auth(api: Api) -> None:
    for path in ["/api/events", "/api/cameras", "/api/recordings", "/api/datasets", "/api/train"]:
        code, headers, body = api.get(path, auth=False)
        if code != 401 or headers.get("WWW-Authenticate") != "Bearer" or json.loads(body) != {"error": "a bearer token is required"}:
            fail(f"GET {path} without token: {code} {headers} {body!r}")
    for path in ["/", "/label", "/app.js", "/label.js"]:  # the pages hold no data: they ask /api/ with the token
        if api.get(path, auth=False)[0] != 200:
            fail(f"GET {path} without token is not 200")
    code, _, body = api.get("/api/events", headers={"Authorization": "Bearer nope"}, auth=False)
    if code != 401 or json.loads(body) != {"error": "wrong token"}:
        fail(f"wrong token: {code} {body!r}")
    if api.get(f"/api/cameras?token={api.token}", auth=False)[0] != 200:
        fail("?token= is not accepted")
    if api.get("/metrics", auth=False)[0] != 200:
        fail("/metrics needs no token")


def sse(api: Api, path: str, count: int, headers=None, timeout: float = 20.0) -> list:
    """The first `count` (id, type, event) messages of a live stream."""
    h = {"Authorization": "Bearer " + api.token, **(headers or {})}
    req = urllib.request.Request(api.base + path, headers=h)
    out, cur = [], {}
    end = time.time() + timeout
    with urllib.request.urlopen(req, timeout=timeout) as r:
        if r.headers.get("Content-Type") != "text/event-stream":
            fail(f"{path}: Content-Type {r.headers.get('Content-Type')}")
        while len(out) < count and time.time() < end:
            line = r.readline().decode().rstrip("\n")
            if line.startswith("id: "):
                cur["id"] = int(line[4:])
            elif line.startswith("event: "):
                cur["type"] = line[7:]
            elif line.startswith("data: "):
                cur["event"] = json.loads(line[6:])
            elif line == "" and "event" in cur:
                out.append((cur["id"], cur["type"], cur["event"]))
                cur = {}
    return out


def check_clip(api: Api, cam: str, seg: dict, ready: dict, source: list, root: str) -> None:
    clip = ready["clip"]
    path = os.path.join(root, "clips", clip["file"])
    if clip["codec"] != "h264" or clip["encoded"] or clip["truncated"] or (clip["width"], clip["height"]) != (320, 240):
        fail(f"{cam}: clip {clip}")
    start, end = seg["start"]["pts"], seg["end"]["pts"]
    # A recorded main stream (record_uri) is aligned by wall clock: arrival times, not the same pts.
    slack = 0.6 if cam == "sub" else 1e-3
    # The clip starts at the key frame at or before start - pre (the source has one every second).
    if not (start - PRE - 1.0 - slack <= clip["start_pts"] <= max(0.0, start - PRE) + slack):
        fail(f"{cam}: clip starts at {clip['start_pts']}, segment {start}-{end}, pre {PRE}")
    first, last, frames, err = decoded_times(path)
    if err:
        fail(f"{cam}: the clip does not decode: {err}")
    got = samples(path)
    if frames != len(got):
        fail(f"{cam}: {frames} frames decoded of {len(got)} in the file")
    # No re-encode: the clip's slices are the source's, from one of its key frames on. (An RTSP
    # camera's stream time is the file's plus the offset of its first packet.)
    first_slices = slices(got[0][1])
    k = next((i for i, smp in enumerate(source) if smp[2] and slices(smp[1]) == first_slices), None)
    if k is None:
        fail(f"{cam}: the clip's first access unit is no key frame of the source")
    offset = clip["start_pts"] - source[k][0]
    if cam == "file" and abs(offset) > 0.001:
        fail(f"{cam}: clip start {clip['start_pts']} but its first frame is the source's at {source[k][0]}")
    for i, (_, au, _key) in enumerate(got):
        if k + i >= len(source) or slices(au) != slices(source[k + i][1]):
            fail(f"{cam}: access unit {i} of the clip differs from the source's ({k + i})")
    want_end = min(end + POST, source[-1][0] + offset)
    if not (want_end - 0.05 - slack <= clip["end_pts"] <= end + POST + 0.05 + slack):
        fail(f"{cam}: clip ends at {clip['end_pts']}, segment end {end} + post {POST}")
    if abs((last - first) - (clip["end_pts"] - clip["start_pts"])) > 0.045 or abs(clip["duration_s"] - (last - first + 0.04)) > 0.045:
        fail(f"{cam}: decoded {first}..{last}, clip.ready says {clip}")
    # The snapshot: the segment's most confident frame (red: the tiny models' action), decoded from the clip.
    snap = ready.get("snapshot")
    if not snap or abs(snap["pts"] - seg["peak"]["pts"]) > 1e-6 + slack or snap["confidence"] != seg["peak"]["confidence"]:
        fail(f"{cam}: snapshot {snap} for peak {seg.get('peak')}")
    code, headers, body = api.get(snap["url"])
    if code != 200 or headers.get("Content-Type") != "image/jpeg" or body[:2] != b"\xff\xd8":
        fail(f"{cam}: snapshot download: {code} {headers.get('Content-Type')}")
    w, h, r, g, b = mean_rgb(os.path.join(root, "clips", snap["file"]))
    if (w, h) != (320, 240) or not (r > 150 and g < 80 and b < 80):
        fail(f"{cam}: snapshot {w}x{h} mean colour {r:.0f},{g:.0f},{b:.0f}: not the red action ({snap}, segment {seg}, clip {clip})")
    # Served with Range.
    url = clip["url"]
    code, headers, body = api.get(url, headers={"Range": "bytes=100-299"})
    with open(path, "rb") as f:
        data = f.read()
    if code != 206 or body != data[100:300] or headers.get("Content-Range") != f"bytes 100-299/{len(data)}":
        fail(f"{cam}: Range request: {code} {headers.get('Content-Range')} {len(body)} bytes")
    code, headers, body = api.get(url)
    if code != 200 or body != data or headers.get("Content-Type") != "video/mp4":
        fail(f"{cam}: clip download: {code} {len(body)} of {len(data)} bytes")


def phase_clips_and_api(args, validator) -> None:
    with tempfile.TemporaryDirectory() as root:
        video = os.path.join(root, "cam.mp4")
        make_video(video)
        substream = os.path.join(root, "sub.mp4")  # the same scene, small: analysed while the main stream is recorded
        make_video(substream, 160, 120)
        source = samples(video)
        rtsp = RtspServer(video)
        port, token = free_port(), "s3cret-token"
        with open(os.path.join(root, "token"), "w") as f:
            f.write(token + "\n")
        cameras = {}
        for cam, uri in [("file", "file://" + video), ("rtsp", f"rtsp://127.0.0.1:{rtsp.port}/cam"),
                         ("sub", "file://" + substream)]:
            clips = {"enabled": True, "pre_s": PRE, "post_s": POST}
            if cam == "sub":
                clips["record_uri"] = f"rtsp://127.0.0.1:{rtsp.port}/cam"
            cameras[cam] = {"uri": uri, "fps": 5, "stall_timeout_s": 30, "reconnect": {"initial_s": 30, "max_s": 30},
                            "clips": clips, "tracker": {"min_duration_s": 0.4}, "models": {"backbone": "bb", "segmenter": "seg"}}
        write_config(root, {"metrics": {"listen": f"127.0.0.1:{port}"}, "journal": {"fsync": "always"},
                            "api": {"token_file": "token"}, "model_dir": os.path.abspath(args.models),
                            "models": {"bb": {"path": "backbone.pt"}, "seg": {"path": "segmenter.pt"}}}, cameras)
        daemon = subprocess.Popen([args.actiond, "--config", root])
        api = Api(port, token)
        try:
            t0 = time.time()
            readies = []
            while time.time() - t0 < 40 and len(readies) < 3:
                time.sleep(0.5)
                if daemon.poll() is not None:
                    fail(f"actiond exited with {daemon.returncode}")
                try:
                    readies = api.json("/api/events?type=clip.ready&order=asc")["events"]
                except (urllib.error.URLError, ConnectionError):
                    continue
            if len(readies) < 3:
                fail(f"clip.ready events after 40 s: {readies}")
            events = api.json("/api/events?limit=1000&order=asc")["events"]
            for e in events:
                errors = list(validator.iter_errors(e))
                if errors:
                    fail(f"event does not match events.schema.json: {errors[0].message}: {e}")
            for cam in ["file", "rtsp", "sub"]:
                ends = [e for e in events if e["camera"] == cam and e["type"] == "segment.end"]
                clips = [e for e in events if e["camera"] == cam and e["type"] == "clip.ready"]
                if len(ends) != 1 or len(clips) != 1 or clips[0]["segment_id"] != ends[0]["segment"]["id"]:
                    fail(f"{cam}: segment ends {ends}, clips {clips}")
                check_clip(api, cam, ends[0]["segment"], clips[0], source, root)
                one = api.json(f"/api/segments/{ends[0]['segment']['id']}")
                if one["segment"]["clip"] != clips[0]["clip"] or one["segment"]["open"] or \
                        [e["type"] for e in one["events"]][0] != "segment.start":
                    fail(f"{cam}: /api/segments/ID: {one}")
            check_queries(api, events)
            check_bad_params(api)
            check_auth(api)
            check_stream(api, events)
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=30)
            rtsp.stop()
        print(f"clips: 3 cameras (file, RTSP, a substream recording its main stream over RTSP), clips checked against "
              f"the source; API checked ({len(events)} events)")


def check_queries(api: Api, events: list) -> None:
    def ids(path):
        return [(e["camera"], e["seq"]) for e in api.json(path)["events"]]
    newest_first = [(e["camera"], e["seq"]) for e in reversed(events)]
    known = set(newest_first)  # events published since (a camera reconnecting) may come on top
    three = ids("/api/events?limit=3")
    now = ids("/api/events?limit=1000")
    if [x for x in now if x in known] != newest_first:
        fail("/api/events is not every event, newest first")
    k = now.index(three[0]) if three and three[0] in now else -1
    if len(three) != 3 or k < 0 or now[k:k + 3] != three or any(x in known for x in now[:k]):
        fail(f"limit=3: {three}")
    file_only = [(e["camera"], e["seq"]) for e in events if e["camera"] == "file"]
    if ids("/api/events?camera=file&order=asc&limit=1000") != file_only:
        fail("camera=file")
    starts = [(e["camera"], e["seq"]) for e in events if e["type"] == "segment.start"]
    if ids("/api/events?type=segment.start&order=asc") != starts:
        fail("type=segment.start")
    seg_all = [(e["camera"], e["seq"]) for e in events if e["type"].startswith("segment.")]
    if ids("/api/events?type=segment.&order=asc&limit=1000") != seg_all:
        fail("type=segment. (prefix)")
    red = [(e["camera"], e["seq"]) for e in events if e.get("segment", {}).get("label") == "red"]
    if not red or ids("/api/events?label=red&order=asc&limit=1000") != red:
        fail("label=red")
    seg_id = next(e for e in events if e["type"] == "segment.end")["segment"]["id"]
    one_seg = [(e["camera"], e["seq"]) for e in events if e.get("segment", {}).get("id") == seg_id or e.get("segment_id") == seg_id]
    if ids(f"/api/events?segment={seg_id}&order=asc") != one_seg:
        fail("segment=ID")
    times = sorted({e["time"] for e in events if "time" in e})
    mid = times[len(times) // 2]
    after_mid = [(e["camera"], e["seq"]) for e in events if e.get("time", e["emitted_at"]) >= mid]
    if ids(f"/api/events?since={mid}&order=asc&limit=1000") != after_mid:
        fail(f"since={mid}")
    before_mid = [(e["camera"], e["seq"]) for e in events if e.get("time", e["emitted_at"]) < mid]
    if ids(f"/api/events?until={mid}&order=asc&limit=1000") != before_mid:
        fail(f"until={mid}")
    segs = api.json("/api/segments")["segments"]
    if sorted(s["camera"] for s in segs) != ["file", "rtsp", "sub"] or any(s["open"] or not s["clip"] or not s["snapshot"] for s in segs):
        fail(f"/api/segments: {segs}")
    # A segment that started before `since` but ended after it is in the window; nothing after the last event.
    end = next(e for e in events if e["type"] == "segment.end" and e["camera"] == "file")
    inside = api.json(f"/api/segments?since={end['time']}&camera=file")["segments"]
    if [x["id"] for x in inside] != [end["segment"]["id"]]:
        fail(f"/api/segments?since=(the file segment's end): {inside}")
    if api.json(f"/api/segments?since={time.time() + 3600:.3f}")["segments"]:
        fail("/api/segments?since=(an hour ahead) is not empty")
    cams = api.json("/api/cameras")["cameras"]
    if sorted(c["id"] for c in cams) != ["file", "rtsp", "sub"] or any("seq" not in c for c in cams):
        fail(f"/api/cameras: {cams}")
    if api.json("/api/cameras/file")["id"] != "file":
        fail("/api/cameras/file")
    for path, msg in [("/api/cameras/nope", "no camera 'nope'"), ("/api/segments/nope", "no segment 'nope'"),
                      ("/api/clips/file/nope.mp4", "no clip 'file/nope.mp4'"),
                      ("/api/snapshots/file/nope.jpg", "no snapshot 'file/nope.jpg'")]:
        if api.json(path, 404) != {"error": msg}:
            fail(f"GET {path}")
    code, headers, body = api.get("/")
    if code != 200 or b"<title>actiond timeline</title>" not in body:
        fail(f"GET /: {code}")


def check_stream(api: Api, events: list) -> None:
    got = sse(api, "/api/events/stream?after=0&camera=file", 5)
    file_events = [e for e in events if e["camera"] == "file"]
    if [g[2]["seq"] for g in got] != [e["seq"] for e in file_events[:5]] or any(g[1] != g[2]["type"] for g in got):
        fail(f"SSE from the start: {[(g[0], g[1]) for g in got]}")
    resumed = sse(api, "/api/events/stream?camera=file", 2, headers={"Last-Event-ID": str(got[2][0])})
    if [r[2]["seq"] for r in resumed] != [e["seq"] for e in file_events[3:5]]:
        fail(f"SSE resumed after id {got[2][0]}: {[(r[0], r[2]['seq']) for r in resumed]}")


def phase_disk_bound(args) -> None:
    with tempfile.TemporaryDirectory() as root:
        port = free_port()
        write_config(root, {"metrics": {"listen": f"127.0.0.1:{port}"}, "clips": {"max_total_mb": 1},
                            "model_dir": os.path.abspath(args.models),
                            "models": {"bb": {"path": "backbone.pt"}, "seg": {"path": "segmenter.pt"}}},
                     {"busy": {"uri": "test://pattern?cycle=snow,red&period=1.5&width=640&height=480&fps=25", "fps": 5,
                               "clips": {"enabled": True, "pre_s": 2, "post_s": 1}, "tracker": {"min_duration_s": 0.4},
                               "models": {"backbone": "bb", "segmenter": "seg"}}})
        daemon = subprocess.Popen([args.actiond, "--config", root])
        api = Api(port, "")
        peak, deleted, written = 0, 0, 0
        try:
            end = time.time() + 45
            while time.time() < end:
                time.sleep(0.5)
                total = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(os.path.join(root, "clips"))
                            for n in ns if n.endswith((".mp4", ".jpg")))
                peak = max(peak, total)
                if total > (1 << 20) + 600_000:  # the bound, plus the one clip being checked in
                    fail(f"clips folder holds {total} bytes, bound 1 MiB")
            _, _, body = api.get("/metrics", auth=False)
            for line in body.decode().splitlines():
                if line.startswith("actiond_clips_deleted_total"):
                    deleted = float(line.split()[-1])
                if line.startswith("actiond_clips_written_total"):
                    written = float(line.split()[-1])
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=30)
        if deleted < 1 or written < deleted:
            fail(f"disk bound: {written} clips written, {deleted} deleted (peak {peak} bytes)")
        print(f"disk bound: {written:.0f} clips written, {deleted:.0f} deleted, folder peak {peak} bytes <= 1 MiB + one clip")


def test_clips_api(args) -> None:
    with open(os.path.join(args.source, "config", "schema", "events.schema.json")) as f:
        validator = Draft202012Validator(json.load(f))
    phase_clips_and_api(args, validator)
    phase_disk_bound(args)
