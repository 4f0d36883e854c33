"""Writes the tracker settings `actiond eval --workbench --tune --json` chose (on held-out data) into a
segmenter's manifest as its `decoding` section, where cameras pick them up unless they set their own.

Usage: actiond eval ... --tune --json | set_decoding.py --model segmenter.pt --chosen-on "val split of ..."
       set_decoding.py --model segmenter.pt --clear --out copy.pt   (a copy without settings: the camera's own apply)
"""
import argparse
import json
import sys


import torch

from actiond_train.common import load_with_manifest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--chosen-on", help="what the settings were chosen on (recorded)")
    ap.add_argument("--clear", action="store_true", help="remove the settings instead (with --out: into a copy)")
    ap.add_argument("--out", help="write here instead of over --model")
    args = ap.parse_args()
    out = args.out or args.model
    if args.clear:
        model, manifest = load_with_manifest(args.model)
        manifest.pop("decoding", None)
        manifest.get("training", {}).pop("decoding_chosen_on", None)
        torch.jit.save(model, out, _extra_files={"manifest.json": json.dumps(manifest, indent=2)})
        print(f"set_decoding: {out}: no decoding settings", file=sys.stderr)
        return
    if not args.chosen_on:
        raise SystemExit("set_decoding: --chosen-on is required (what the settings were chosen on)")
    result = json.load(sys.stdin)
    if "tuned" not in result:
        raise SystemExit("set_decoding: the input has no 'tuned' settings (run actiond eval with --tune --json)")
    model, manifest = load_with_manifest(args.model)
    manifest["decoding"] = result["tuned"]
    online = [r for r in result["rows"] if r["decoding"].startswith("online") and "tracker" in r["decoding"]][0]
    manifest.setdefault("training", {})["decoding_chosen_on"] = {
        "data": args.chosen_on, "f1@50": online["f1@50"], "edit": online["edit"],
        "repetitions": {k: v for k, v in result.get("repetitions", {}).items() if k != "per_video"}}
    torch.jit.save(model, out, _extra_files={"manifest.json": json.dumps(manifest, indent=2)})
    print(f"set_decoding: {out}: decoding {json.dumps(result['tuned'])}", file=sys.stderr)


if __name__ == "__main__":
    main()
