#!/usr/bin/python3
"""Milliseconds per frame of each imported pose model on this machine (the TorchScript files the daemon
loads, run by the same LibTorch 1.13 through Python): 1 and 2 intra-op threads, batch 1 and 4.

    /usr/bin/python3 scripts/bench_pose_cost.py build/models/pretrained/*.pt
Prints one JSON line per model, threads and batch.
"""
import json
import sys
import time

import torch


def main() -> None:
    for path in sys.argv[1:]:
        extra = {"manifest.json": ""}
        model = torch.jit.load(path, _extra_files=extra)
        m = json.loads(extra["manifest.json"])
        w, h = m["input"]["width"], m["input"]["height"]
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for batch in (1, 4):
                x = torch.randint(0, 256, (batch, h, w, 3), dtype=torch.uint8)
                with torch.inference_mode():
                    for _ in range(3):
                        model(x)
                    runs = max(4, 40 // batch)
                    t0 = time.perf_counter()
                    for _ in range(runs):
                        model(x)
                    ms = 1000 * (time.perf_counter() - t0) / (runs * batch)
                print(json.dumps({"model": m["name"], "input": f"{w}x{h}", "threads": threads, "batch": batch,
                                  "ms_per_frame": round(ms, 1)}), flush=True)


if __name__ == "__main__":
    main()
