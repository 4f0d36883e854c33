#!/usr/bin/python3
"""Milliseconds (wall and CPU) per frame of each imported pose model on this machine, run by the same
LibTorch 1.13 through Python: the TorchScript file as saved ("torchscript": 1 and 2 intra-op
threads, batch 1 and 4) and after the XNNPACK rewrite the daemon applies at load ("xnnpack",
torch.utils.mobile_optimizer = torch::jit::optimizeForMobile; one thread per frame, as the daemon
runs it: with 2 intra-op threads the daemon runs two frames at once, one per thread).

    /usr/bin/python3 scripts/bench_pose_cost.py build/models/pretrained/*.pt
Prints one JSON line per model, engine, threads and batch.
"""
import json
import sys
import time

import torch
from torch.utils.mobile_optimizer import optimize_for_mobile


def measure(model, x, batch):
    with torch.inference_mode():
        for _ in range(3):
            model(x)
        runs = max(4, 40 // batch)
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(runs):
            model(x)
        n = runs * batch
        return 1000 * (time.perf_counter() - t0) / n, 1000 * (time.process_time() - c0) / n


def main() -> None:
    for path in sys.argv[1:]:
        extra = {"manifest.json": ""}
        saved = torch.jit.load(path, _extra_files=extra)
        m = json.loads(extra["manifest.json"])
        w, h = m["input"]["width"], m["input"]["height"]
        rewritten = optimize_for_mobile(saved)
        for engine, model, threads_list in (("torchscript", saved, (1, 2)), ("xnnpack", rewritten, (1,))):
            for threads in threads_list:
                torch.set_num_threads(threads)
                for batch in (1, 4):
                    x = torch.randint(0, 256, (batch, h, w, 3), dtype=torch.uint8)
                    ms, cpu_ms = measure(model, x, batch)
                    print(json.dumps({"model": m["name"], "input": f"{w}x{h}", "engine": engine, "threads": threads,
                                      "batch": batch, "ms_per_frame": round(ms, 1),
                                      "cpu_ms_per_frame": round(cpu_ms, 1)}), flush=True)


if __name__ == "__main__":
    main()
