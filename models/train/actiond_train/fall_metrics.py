"""Fall-alarm figures from the daemon tracker's decisions (`actiond eval --workbench ... --decisions
FILE` on a world of models/train/actiond_train/falls.py), as an operator sees them:

- an *alarm* is the start of a run of `falling` and/or `lying` frames of the published segments (the
  segment.start of `falling`, or of `lying` when no `falling` segment came right before it); its time
  is when that segment.start was published (the tracker's decision frame, look-ahead included);
- a clip's fall is *found* when an alarm's run overlaps the labelled fall or lying after it;
- a *false alarm* is an alarm whose run overlaps no labelled falling or lying frame; the rate is per
  hour of fall-free footage (labelled background frames of the clips plus the fall-free streams);
- *latency*: alarm time minus the labelled end of the fall (negative: before the body reached the
  floor), over found falls;
- `lying` (and `falling`) F1@50: MS-TCN segmental F1 of that class alone (IoU >= 0.5).

Usage: fall_metrics.py --world W --decisions D.json [--name NAME] [--json OUT] [--pool A.json B.json ...]
(--pool adds up the counts of several rotations' --json outputs into one row.)
"""
import argparse
import json
from typing import Dict, List, Tuple

import numpy as np

FALLING, LYING = 1, 2


def runs(labels: List[int], keep) -> List[Tuple[int, int, int]]:
    """(label, start, end) of maximal runs whose label satisfies keep (end exclusive)."""
    out, start = [], 0
    for t in range(1, len(labels) + 1):
        if t == len(labels) or labels[t] != labels[start]:
            if keep(labels[start]):
                out.append((labels[start], start, t))
            start = t
    return out


def class_f1_counts(pred: List[int], truth: List[int], c: int, iou: float = 0.5) -> Tuple[int, int, int]:
    p = [(s, e) for _, s, e in runs(pred, lambda x: x == c)]
    g = [(s, e) for _, s, e in runs(truth, lambda x: x == c)]
    used = [False] * len(g)
    tp = 0
    for s, e in p:
        best, bi = 0.0, -1
        for i, (gs, ge) in enumerate(g):
            inter = max(0, min(e, ge) - max(s, gs))
            union = max(e, ge) - min(s, gs)
            if union > 0 and inter / union > best:
                best, bi = inter / union, i
        if bi >= 0 and best >= iou and not used[bi]:
            used[bi] = True
            tp += 1
    return tp, len(p) - tp, len(g) - tp


def measure(world: str, decisions: str) -> Dict:
    with open(f"{world}/falls.json") as f:
        meta = json.load(f)
    with open(decisions) as f:
        dec = json.load(f)
    fps = float(dec["fps"])
    c = {"clips": 0, "falls": 0, "found": 0, "false_alarms": 0, "fall_free_s": 0.0, "latencies": [],
         "lying": [0, 0, 0], "falling": [0, 0, 0], "missed": [], "false_by_source": {}}
    for name, s in dec["streams"].items():
        m = meta["streams"][name]
        labels, truth, decided = s["labels"], s["truth"], s["decided_at"]
        true_event = np.isin(np.asarray(truth), [FALLING, LYING])
        c["fall_free_s"] += float((~true_event).sum()) / fps if m["kind"] == "clip" else len(truth) / fps
        alarms = runs([1 if x in (FALLING, LYING) else 0 for x in labels], lambda x: x == 1)
        hit = [bool(true_event[s0:e0].any()) for _, s0, e0 in alarms]
        for (_, s0, _e0), h in zip(alarms, hit):
            if not h:
                c["false_alarms"] += 1
                src = m.get("room", m.get("source", "?"))
                c["false_by_source"][src] = c["false_by_source"].get(src, 0) + 1
        if m["kind"] == "clip":
            c["clips"] += 1
            if m["fall"] is not None:
                c["falls"] += 1
                found = [a for a, h in zip(alarms, hit) if h]
                if found:
                    c["found"] += 1
                    c["latencies"].append((decided[found[0][1]] - m["fall"][1]) / fps)
                else:
                    c["missed"].append(name)
        for cls, key in ((LYING, "lying"), (FALLING, "falling")):
            c[key] = [a + b for a, b in zip(c[key], class_f1_counts(labels, truth, cls))]
    return c


def figures(c: Dict) -> Dict:
    def f1(tp_fp_fn):
        tp, fp, fn = tp_fp_fn
        return round(100.0 * 2 * tp / max(1, 2 * tp + fp + fn), 1)
    hours = c["fall_free_s"] / 3600.0
    lat = sorted(c["latencies"])
    return {"clips": c["clips"], "falls": c["falls"], "found": c["found"],
            "recall": round(c["found"] / max(1, c["falls"]), 3),
            "false_alarms": c["false_alarms"], "fall_free_hours": round(hours, 3),
            "false_alarms_per_hour": round(c["false_alarms"] / hours, 2) if hours > 0 else None,
            "latency_median_s": round(float(np.median(lat)), 2) if lat else None,
            "latency_p90_s": round(float(lat[int(0.9 * (len(lat) - 1))]), 2) if lat else None,
            "lying_f1@50": f1(c["lying"]), "falling_f1@50": f1(c["falling"]),
            "false_by_source": c["false_by_source"], "missed": c["missed"]}


def pool(files: List[str]) -> Dict:
    total = None
    for path in files:
        with open(path) as f:
            c = json.load(f)["counts"]
        if total is None:
            total = c
            continue
        for k, v in c.items():
            if isinstance(v, dict):
                for s, n in v.items():
                    total[k][s] = total[k].get(s, 0) + n
            elif isinstance(v, list) and k in ("lying", "falling"):
                total[k] = [a + b for a, b in zip(total[k], v)]
            else:
                total[k] = total[k] + v
    return total


def row(name: str, f: Dict) -> str:
    return (f"{name:<28} {f['found']:>3}/{f['falls']:<3} {f['recall']:>6.3f} {f['false_alarms']:>5} "
            f"{f['fall_free_hours']:>7.3f} {str(f['false_alarms_per_hour']):>7} {str(f['latency_median_s']):>7} "
            f"{f['lying_f1@50']:>6} {f['falling_f1@50']:>6}")


HEADER = (f"{'model / test':<28} {'found':>7} {'recall':>6} {'false':>5} {'hours':>7} {'per h':>7} {'lat s':>7} "
          f"{'lyF1':>6} {'faF1':>6}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--world", default="")
    ap.add_argument("--decisions", default="")
    ap.add_argument("--pool", nargs="*", default=[], help="--json outputs of several runs to add up")
    ap.add_argument("--name", default="")
    ap.add_argument("--json", default="", help="write the counts and figures here")
    ap.add_argument("--header", action="store_true", help="print the table header (alone without data)")
    args = ap.parse_args()
    if args.header:
        print(HEADER)
        if not (args.pool or args.world):
            return
    if args.pool:
        counts = pool(args.pool)
    elif args.world and args.decisions:
        counts = measure(args.world, args.decisions)
    else:
        raise SystemExit("fall_metrics: give --world and --decisions, or --pool FILES")
    f = figures(counts)
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"name": args.name, "figures": f, "counts": counts}, out, indent=1)
    print(row(args.name or args.decisions, f))
    if f["missed"]:
        print(f"  missed: {' '.join(f['missed'])}")
    if f["false_by_source"]:
        print(f"  false alarms by source: {json.dumps(f['false_by_source'])}")


if __name__ == "__main__":
    main()
