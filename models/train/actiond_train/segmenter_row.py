"""One scripts/zoo.sh result line for a segmenter trained outside the zoo (the ASQuery reference),
from `actiond eval --workbench ... --json` and models/train/actiond_train/measure.py.

Usage: actiond eval ... --json | segmenter_row.py --bench NAME --model NAME --file SEG.pt [--train-seconds S]
"""
import argparse
import json
import os
import subprocess
import sys


def pick(rows, name):
    r = next(x for x in rows if x["decoding"] == name)
    return {k: r[k] for k in ("acc", "edit", "f1@10", "f1@25", "f1@50")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--file", required=True)
    ap.add_argument("--train-seconds", type=int, default=-1)
    args = ap.parse_args()
    ev = json.load(sys.stdin)
    rows = ev["rows"]
    out = {"benchmark": args.bench, "model": args.model, "window": ev["window"], "lookahead_s": ev["lookahead_s"],
           "online": pick(rows, "online: daemon windows, frame-wise argmax"),
           "offline": pick(rows, "offline: whole video as one window, argmax"),
           "tracker": pick(rows, "online: daemon windows + segment tracker")}
    measure = os.path.join(os.path.dirname(os.path.abspath(__file__)), "measure.py")
    out.update(json.loads(subprocess.check_output([sys.executable, measure, args.file], text=True)))
    if args.train_seconds >= 0:
        out["train_seconds"] = args.train_seconds
    print(json.dumps(out))


if __name__ == "__main__":
    main()
