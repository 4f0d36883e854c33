"""Markdown tables (docs/RESULTS.md) from scripts/zoo.sh's results.jsonl, one table per benchmark.

Usage: zoo_table.py build/zoo/results.jsonl
"""
import json
import sys


def fmt_seg(m: dict) -> str:
    return f"{m['acc']} / {m['edit']} / {m['f1@10']} / {m['f1@25']} / {m['f1@50']}"


def main() -> None:
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    for bench in dict.fromkeys(r["benchmark"] for r in rows):
        print(f"\n**{bench}**\n")
        print("| model | online, frame-wise: Acc / Edit / F1@10 / 25 / 50 | online + tracker (daemon): Acc / Edit / "
              "F1@10 / 25 / 50 | offline (whole stream): Acc / Edit / F1@10 / 25 / 50 | trimmed clip acc. % | "
              "params | CPU ms/frame (batch 1 / 16) | train s |")
        print("|---|---|---|---|---|---|---|---|")
        for r in rows:
            if r["benchmark"] != bench:
                continue
            name = r["model"]
            if r.get("lookahead_s"):
                name += f" (look-ahead {r['lookahead_s']} s)"
            if "focal_fraction" in r:
                name += f" (focal path on {100 * r['focal_fraction']:.0f} % of frames"
                if "online_all_focal" in r:
                    name += f"; on all frames, online frame-wise: {fmt_seg(r['online_all_focal'])}"
                name += ")"
            clip = r.get("clip_accuracy", "-")
            offline = fmt_seg(r["offline"]) if "offline" in r else "-"
            online = fmt_seg(r["online"]) if "online" in r else "-"
            print(f"| {name} | {online} | {fmt_seg(r['tracker'])} | {offline} | {clip} | {r['params']:,} | "
                  f"{r['cpu_ms_per_frame_batch1']} / {r['cpu_ms_per_frame_batch16']} | {r.get('train_seconds', '-')} |")


if __name__ == "__main__":
    main()
