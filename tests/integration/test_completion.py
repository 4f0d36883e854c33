#!/usr/bin/python3
"""Bash completion: the script is sourced in a real bash and asked to complete words the way bash
does (COMP_WORDS/COMP_CWORD), for subcommands, options of subcommands, and option values.

Usage (from ctest): test_completion.py --script FILE --actiond BIN --actionctl BIN
"""
import os
import subprocess
import tempfile

from testlib import fail


def complete(script: str, words: list) -> list:
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    program = f"source '{script}'\nCOMP_WORDS=({quoted})\nCOMP_CWORD={len(words) - 1}\n" \
              "_actiond_complete\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], capture_output=True, text=True, timeout=60)
    if r.returncode != 0 or r.stderr:
        fail(f"completing {words}: rc {r.returncode}: {r.stderr}")
    return [w for w in r.stdout.splitlines() if w]


def test_completion(args) -> None:
    d, c = args.actiond, args.actionctl
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "confdir"))
        open(os.path.join(tmp, "cam.json"), "w").close()
        os.chdir(tmp)
        cases = [
            ([d, "--ch"], ["--check-config"]),
            ([d, "ev"], ["eval"]),
            ([d, "eval", "--sco"], ["--scores"]),
            ([d, "--config", "conf"], ["confdir"]),
            ([c, "cl"], ["cluster"]),
            ([c, "cluster", ""], ["events", "ls", "put", "rm", "status"]),
            ([c, "cluster", "put", "ca"], ["cam.json"]),
            ([c, "cluster", "--con"], ["--config"]),
            ([c, "tail", "--ca"], ["--camera"]),
            ([c, "--server-key", "cam"], ["cam.json"]),
        ]
        for words, want in cases:
            got = complete(args.script, words)
            if want == ["events", "ls", "put", "rm", "status"]:
                got = sorted(w for w in got if not w.startswith("-"))
            if got != want:
                fail(f"completing {words[1:]}: got {got}, want {want}")
            print(f"{' '.join(words[1:])!r} -> {got}")
