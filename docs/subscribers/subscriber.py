#!/usr/bin/python3
"""A subscriber that never misses an actiond event.

Protocol (docs/EVENTS.md):
  1. subscribe to the PUB socket (events start queueing at once);
  2. take a `snapshot` on the control socket: last seq per camera;
  3. for every event: if its seq is not last_seq + 1 for its camera, `replay` the gap from the
     journal first (events already seen are skipped, so nothing is handled twice);
  4. heartbeats carry seq too, so a gap is noticed even when nothing happens.

Usage: subscriber.py [--events tcp://127.0.0.1:7700] [--control tcp://127.0.0.1:7701] [--seconds N]
Prints one JSON line per event, in seq order per camera, each exactly once.
"""
import argparse
import json
import sys
import time

import zmq


class Control:
    def __init__(self, ctx: zmq.Context, endpoint: str):
        self.ctx, self.endpoint = ctx, endpoint

    def request(self, req: dict) -> dict:
        sock = self.ctx.socket(zmq.REQ)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RCVTIMEO, 5000)
        sock.connect(self.endpoint)
        try:
            sock.send_string(json.dumps(req))
            reply = json.loads(sock.recv_string())
        finally:
            sock.close()
        if not reply.get("ok"):
            raise RuntimeError(f"control {req['cmd']}: {reply.get('error')}")
        return reply


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", default="tcp://127.0.0.1:7700")
    ap.add_argument("--control", default="tcp://127.0.0.1:7701")
    ap.add_argument("--seconds", type=float, default=0, help="stop after this long (0 = never)")
    args = ap.parse_args()

    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.setsockopt(zmq.RCVTIMEO, 200)
    sub.connect(args.events)
    control = Control(ctx, args.control)
    time.sleep(0.3)  # let the subscription reach the daemon before the snapshot
    last = {cam: state["seq"] for cam, state in control.request({"cmd": "snapshot"})["cameras"].items()}
    print(f"snapshot: {last}", file=sys.stderr)

    def deliver(event: dict) -> None:
        last[event["camera"]] = event["seq"]
        print(json.dumps(event), flush=True)

    deadline = time.time() + args.seconds if args.seconds > 0 else None
    while deadline is None or time.time() < deadline:
        try:
            _topic, body = sub.recv_multipart()
        except zmq.Again:
            continue
        event = json.loads(body)
        cam, seq = event["camera"], event["seq"]
        expected = last.get(cam, 0) + 1
        if seq < expected:
            continue  # already delivered (from a replay)
        if seq > expected:
            print(f"gap on {cam}: expected {expected}, got {seq}; replaying", file=sys.stderr)
            for missed in control.request({"cmd": "replay", "camera": cam, "from": expected, "max": seq - expected})["events"]:
                if missed["seq"] == last.get(cam, 0) + 1:
                    deliver(missed)
        deliver(event)


if __name__ == "__main__":
    main()
