"""Parameters and CPU cost of an exported segmenter or recognizer, as the daemon calls it: one window
of `window` frames per decision (batch 1), and 16 windows in one call (cameras batched), 1 thread.

Usage: measure.py MODEL.pt  ->  {"params": N, "cpu_ms_per_frame_batch1": x, "cpu_ms_per_frame_batch16": y}
"""
import json
import sys
import time


import numpy as np
import torch

from actiond_train.common import load_with_manifest


def main() -> None:
    path = sys.argv[1]
    model, man = load_with_manifest(path)
    torch.set_num_threads(1)
    out = {"params": int(sum(p.numel() for p in model.parameters()))}
    with torch.no_grad():
        for batch in (1, 16):
            x = torch.randn(batch, man["window"], man["feature_dim"])
            for _ in range(3):
                model(x)
            runs = []
            for _ in range(20):
                t0 = time.perf_counter()
                model(x)
                runs.append(time.perf_counter() - t0)
            out[f"cpu_ms_per_frame_batch{batch}"] = round(1000.0 * float(np.median(runs)) / batch, 3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
