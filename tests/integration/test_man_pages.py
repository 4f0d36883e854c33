#!/usr/bin/python3
"""The man pages render without a single groff warning (groff -ww), lexgrog reads their NAME lines,
and they describe what the programs accept: every option of `--help` (and of every subcommand) and
every key of the configuration schemas appears in its page.

Usage (from ctest): test_man_pages.py --man DIR --actiond BIN --actionctl BIN --source DIR
"""
import json
import os
import re
import subprocess

from testlib import fail


def long_options(binary: str, *words: str) -> set:
    text = subprocess.run([binary, *words, "--help"], capture_output=True, text=True, check=True).stdout
    found = set(re.findall(r"(--[a-z][a-z0-9-]*)", text.split("Options:", 1)[-1].split("Subcommands:", 1)[0]))
    subs = re.findall(r"^  ([a-z][a-z-]*)\s{2,}", text.split("Subcommands:", 1)[1], re.M) if "Subcommands:" in text else []
    for sub in subs:
        found |= long_options(binary, *words, sub)
    return found - {"--help"}


def schema_keys(props: dict) -> set:
    out = set()
    for key, p in props.items():
        out.add(key)
        inner = p.get("properties") or (p.get("items") or {}).get("properties") or {}
        out |= schema_keys(inner)
    return out - {"$schema"}


def test_man_pages(args) -> None:
    pages = {"actiond.8": args.actiond, "actionctl.1": args.actionctl, "actiond.json.5": None,
             "actiond-train.1": None}
    for page, binary in pages.items():
        path = os.path.join(args.man, page)
        r = subprocess.run(["groff", "-ww", "-man", "-Tutf8", path], capture_output=True, text=True)
        if r.returncode != 0 or r.stderr.strip():
            fail(f"{page}: groff -ww: {r.stderr.strip() or r.returncode}")
        r = subprocess.run(["lexgrog", path], capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"{page}: lexgrog: {r.stdout.strip()} {r.stderr.strip()}")
        rendered = subprocess.run(["man", "-l", "-P", "cat", path], capture_output=True, text=True,
                                  env=dict(os.environ, MANWIDTH="200", LANG="C.UTF-8")).stdout.replace("\u2010", "-")
        if binary:
            missing = sorted(o for o in long_options(binary) if o not in rendered)
            if missing:
                fail(f"{page}: options of --help missing: {missing}")
        elif page == "actiond.json.5":
            for schema in ("actiond.schema.json", "camera.schema.json"):
                props = json.load(open(os.path.join(args.source, "config", "schema", schema)))["properties"]
                missing = sorted(k for k in schema_keys(props) if "/" + k not in rendered)
                if missing:
                    fail(f"{page}: keys of {schema} missing: {missing}")
        print(f"{page}: renders cleanly, {len(rendered.splitlines())} lines")
