"""The table of scripts/workbench-baselines.sh: per model and decoding settings, the online figures
(frame-wise, and through the segment tracker) on the test split and on the unseen videos.

Usage: baselines_table.py DIR   (DIR = WORK/baselines)
"""
import json
import os
import sys

NAMES = {"asquery": "ASQuery-style segmenter alone", "gru": "plain causal GRU alone",
         "shipped": "ensemble (the default path)"}


def rows(path: str):
    r = json.load(open(path))
    by = {x["decoding"]: x for x in r["rows"]}
    fw = by["online: daemon windows, frame-wise argmax"]
    tr = by["online: daemon windows + segment tracker"]
    return fw, tr, r


def fmt(x) -> str:
    return f"{x['acc']:.1f} / {x['edit']:.1f} / {x['f1@50']:.1f}"


def main() -> None:
    d = sys.argv[1]
    print("| model | tracker settings | test: frame-wise Acc / Edit / F1@50 | test: + tracker | "
          "unseen: frame-wise | unseen: + tracker | latency (test) |")
    print("|---|---|---|---|---|---|---|")
    for name, label in NAMES.items():
        for tag, settings in ((".untuned", "the demo camera's (before)"), ("", "chosen on val")):
            t, u = os.path.join(d, f"{name}{tag}.test.json"), os.path.join(d, f"{name}{tag}.unseen.json")
            if not (os.path.exists(t) and os.path.exists(u)):
                continue
            tf, tt, r = rows(t)
            uf, ut, _ = rows(u)
            print(f"| {label} | {settings} | {fmt(tf)} | {fmt(tt)} | {fmt(uf)} | {fmt(ut)} | "
                  f"{tt.get('boundary_latency_s', '-')} s |")


if __name__ == "__main__":
    main()
