"""report.html of a training run: one self-contained file (no scripts, no fetched files) with the
verdict, the figures of the new model beside the plain baseline, per-class F1, the confusion, and
one timeline per test video (truth above each model's online decisions)."""
import html
from typing import Dict, List

PALETTE = ["#d9d9d9", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#bcbd22", "#7f7f7f", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5"]
ROW = "online: daemon windows + segment tracker"  # the row that is what a camera publishes


def online_row(result: dict) -> dict:
    return next(r for r in result["rows"] if r["decoding"] == ROW)


def verdict(ours: dict, base: dict) -> tuple:
    """(beats, text): ours must beat the baseline on both F1@50 and Edit of the test split."""
    o, b = online_row(ours), online_row(base)
    beats = o["f1@50"] > b["f1@50"] and o["edit"] > b["edit"]
    if beats:
        text = (f"The new model beats the plain baseline on the test videos: F1@50 {o['f1@50']:.1f} against "
                f"{b['f1@50']:.1f}, Edit {o['edit']:.1f} against {b['edit']:.1f}.")
    else:
        text = (f"The new model does NOT beat the plain baseline on the test videos (F1@50 {o['f1@50']:.1f} against "
                f"{b['f1@50']:.1f}, Edit {o['edit']:.1f} against {b['edit']:.1f}). Label more videos, or use the "
                f"baseline (baseline/segmenter.pt) if it is the better one.")
    return beats, text


def _colour(k: int) -> str:
    return PALETTE[k % len(PALETTE)] if k < len(PALETTE) else PALETTE[1 + k % (len(PALETTE) - 1)]


def _track(ids: List[int], y: int, width: int, height: int) -> str:
    """One bar of runs of equal labels."""
    out, n = [], max(1, len(ids))
    start = 0
    for k in range(1, len(ids) + 1):
        if k == len(ids) or ids[k] != ids[start]:
            x0, x1 = width * start / n, width * k / n
            lab = ids[start]
            colour = "#ffffff" if lab < 0 else _colour(lab)
            out.append(f'<rect x="{x0:.1f}" y="{y}" width="{max(x1 - x0, 0.5):.1f}" height="{height}" '
                       f'fill="{colour}"/>')
            start = k
    return "".join(out)


def timeline_svg(truth: List[int], tracks: Dict[str, List[int]], width: int = 900) -> str:
    h, gap = 18, 4
    rows = [("truth", truth)] + list(tracks.items())
    label_w = 80
    body = []
    for i, (name, ids) in enumerate(rows):
        y = i * (h + gap)
        body.append(f'<text x="0" y="{y + 13}" font-size="12">{html.escape(name)}</text>')
        body.append(f'<g transform="translate({label_w},0)">{_track(ids, y, width, h)}</g>')
    total_h = len(rows) * (h + gap)
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width + label_w}" height="{total_h}">{"".join(body)}</svg>'


def _table(headers: List[str], rows: List[List]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f'<div class="wide"><table><tr>{head}</tr>{body}</table></div>'


def write_report(path: str, title: str, ours: dict, base: dict, decisions: Dict[str, dict], facts: Dict[str, str],
                 labels: List[str]) -> bool:
    """Writes the report; returns whether ours beats the baseline."""
    beats, text = verdict(ours, base)
    keys = ["acc", "edit", "f1@10", "f1@25", "f1@50"]
    figures = _table(["model", "decoding"] + keys,
                     [[name, r["decoding"]] + [r.get(k, "") for k in keys]
                      for name, res in (("new model", ours), ("baseline (causal GRU + hysteresis)", base))
                      for r in res["rows"]])
    classes = sorted(set(ours.get("per_class_f1@50", {})) | set(base.get("per_class_f1@50", {})))
    per_class = _table(["class", "new model F1@50", "baseline F1@50"],
                       [[c, ours["per_class_f1@50"].get(c, ""), base["per_class_f1@50"].get(c, "")] for c in classes])
    conf = ours["confusion"]
    confusion = _table(["truth \\ predicted"] + conf["labels"],
                       [[lab] + row for lab, row in zip(conf["labels"], conf["rows_truth_columns_predicted"])])
    legend = "".join(f'<span class="key"><i style="background:{_colour(k)}"></i>{html.escape(n)}</span>'
                     for k, n in enumerate(labels))
    timelines = []
    streams = decisions["ours"]["streams"]
    for video in sorted(streams):
        tracks = {"new model": streams[video]["labels"],
                  "baseline": decisions["baseline"]["streams"].get(video, {}).get("labels", [])}
        timelines.append(f"<h3>{html.escape(video)}</h3>{timeline_svg(streams[video]['truth'], tracks)}")
    fact_rows = _table(["", ""], [[k, v] for k, v in facts.items()])
    style = ("body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:1em 0}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child{text-align:left}"
             ".verdict{font-size:1.2em;padding:.8em;border-radius:6px}.good{background:#e6f4ea}.bad{background:#fde7e7}"
             ".wide{overflow-x:auto}.key{margin-right:1em;white-space:nowrap}.key i{display:inline-block;width:12px;height:12px;"
             "margin-right:4px;vertical-align:middle}")
    doc = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{style}</style></head>
<body><h1>{html.escape(title)}</h1>
<p class="verdict {'good' if beats else 'bad'}">{html.escape(text)}</p>
<h2>Test split</h2>{figures}
<p>The row "{ROW}" is what a camera publishes. F1@k: segments matched at IoU k %; Edit: order of
segments (MS-TCN definitions).</p>
<h2>Per class (F1@50)</h2>{per_class}
<h2>Confusion of the new model (frames)</h2>{confusion}
<h2>Timelines of the test videos</h2><p>{legend}</p>{''.join(timelines)}
<h2>How it was made</h2>{fact_rows}
</body></html>
"""
    with open(path, "w") as f:
        f.write(doc)
    return beats
