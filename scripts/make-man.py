#!/usr/bin/python3
"""Writes the man pages from what the programs and schemas say themselves, so the pages and --help
never disagree: actiond(8) and actionctl(1) from each binary's --help (and every subcommand's),
actiond.json(5) from config/schema/*.schema.json (every key, its type, default and description),
actiond-train(1) from its --help,
placed into docs/man/*.in. Run by the build (target `man`).

Usage: make-man.py --actiond BIN --actionctl BIN --source DIR --out DIR --version V --date YYYY-MM-DD
"""
import argparse
import json
import os
import re
import subprocess


def roff(text: str) -> str:
    """Text safe in a roff line: backslashes escaped, no line starting with a control character."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(("\\&" + ln if ln[:1] in (".", "'") else ln) for ln in text.split("\n"))


def parse_help(text: str):
    """CLI11 help -> (first line, [(flags, description)], [(subcommand, summary)])."""
    lines = text.splitlines()
    options, subs, section = [], [], None
    for ln in lines:
        if ln.startswith("Options:"):
            section = "options"
        elif ln.startswith("Subcommands:"):
            section = "subs"
        elif section and ln.startswith("  ") and not ln.startswith("    "):
            m = re.match(r"  (\S.*?)(?:\s{2,}(\S.*))?$", ln)
            if section == "options":
                options.append([m.group(1), m.group(2) or ""])
            else:
                subs.append((m.group(1), m.group(2) or ""))
        elif section and ln.startswith("    ") and ln.strip():
            target = options if section == "options" else subs
            if target and section == "options":
                target[-1][1] += " " + ln.strip()
        elif not ln.strip():
            section = None if section == "subs" else section
    return lines[0] if lines else "", options, subs


def help_of(binary: str, *words: str) -> str:
    return subprocess.run([binary, *words, "--help"], capture_output=True, text=True, check=True).stdout


def options_roff(options) -> str:
    out = []
    for flags, desc in options:
        if flags.startswith("-h,--help"):
            continue
        out.append(".TP\n.B " + roff(flags) + "\n" + roff(desc or "(no description)"))
    return "\n".join(out)


def commands_roff(binary: str, subs, prefix=()) -> str:
    out = []
    for name, summary in subs:
        words = (*prefix, name)
        _first, options, nested = parse_help(help_of(binary, *words))
        out.append(".SS " + roff(" ".join(words)) + "\n" + roff(summary))
        body = options_roff(options)
        if body:
            out.append(body)
        if nested:
            out.append(commands_roff(binary, nested, words))
    return "\n".join(out)


def program_page(template: str, binary: str, version: str, date: str) -> str:
    _first, options, subs = parse_help(help_of(binary))
    page = open(template).read()
    return (page.replace("@OPTIONS@", options_roff(options)).replace("@COMMANDS@", commands_roff(binary, subs))
            .replace("@VERSION@", version).replace("@DATE@", date))


def schema_type(p: dict) -> str:
    t = p.get("type", "")
    if "enum" in p:
        return "one of " + ", ".join(json.dumps(v) for v in p["enum"])
    if isinstance(t, list):
        return " or ".join(t)
    return t


def keys_roff(props: dict, path: str) -> str:
    out = []
    for key, p in props.items():
        if key == "$schema":
            continue
        full = f"{path}/{key}"
        details = schema_type(p)
        if "default" in p:
            details += f", default {json.dumps(p['default'])}"
        if "minimum" in p or "maximum" in p:
            details += f", {p.get('minimum', '')}..{p.get('maximum', '')}"
        desc = p.get("description", "")
        out.append(".TP\n.B " + roff(full) + "\n" + roff(f"({details}) {desc}".strip()))
        inner = p.get("properties") or (p.get("items") or {}).get("properties") or \
            (p.get("additionalProperties") if isinstance(p.get("additionalProperties"), dict) else {}).get("properties")
        if inner:
            sub = full + ("/N" if p.get("type") == "array" else ("/NAME" if "additionalProperties" in p and not p.get("properties") else ""))
            out.append(keys_roff(inner, sub))
    return "\n".join(out)


def config_page(source: str, version: str, date: str) -> str:
    daemon = json.load(open(os.path.join(source, "config", "schema", "actiond.schema.json")))
    camera = json.load(open(os.path.join(source, "config", "schema", "camera.schema.json")))
    page = open(os.path.join(source, "docs", "man", "actiond.json.5.in")).read()
    return (page.replace("@DAEMON_KEYS@", keys_roff(daemon["properties"], ""))
            .replace("@CAMERA_KEYS@", keys_roff(camera["properties"], ""))
            .replace("@VERSION@", version).replace("@DATE@", date))


def train_page(source: str, version: str, date: str) -> str:
    """actiond-train(1): its argparse --help, verbatim."""
    env = dict(os.environ, PYTHONPATH=os.path.join(source, "models", "train"), COLUMNS="100")
    text = subprocess.run(["/usr/bin/python3", "-m", "actiond_train.teach", "--help"], capture_output=True, text=True,
                          env=env, check=True).stdout
    page = open(os.path.join(source, "docs", "man", "actiond-train.1.in")).read()
    return page.replace("@HELP@", roff(text.rstrip())).replace("@VERSION@", version).replace("@DATE@", date)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--actiond", required=True)
    ap.add_argument("--actionctl", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--date", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    pages = {"actiond.8": program_page(os.path.join(args.source, "docs", "man", "actiond.8.in"), args.actiond,
                                       args.version, args.date),
             "actionctl.1": program_page(os.path.join(args.source, "docs", "man", "actionctl.1.in"), args.actionctl,
                                         args.version, args.date),
             "actiond.json.5": config_page(args.source, args.version, args.date),
             "actiond-train.1": train_page(args.source, args.version, args.date)}
    for name, text in pages.items():
        with open(os.path.join(args.out, name), "w") as f:
            f.write(text if text.endswith("\n") else text + "\n")


if __name__ == "__main__":
    main()
