#!/usr/bin/python3
"""The Debian packages, installed into a clean Debian 12 root as an operator would use them.

1. scripts/package.sh makes revision 1 and revision 2 of actiond (+ actiond-pose-models); lintian
   reports no error (package.sh fails otherwise).
2. mmdebstrap makes a minimal bookworm root from the machine's own apt sources (Debian's archive);
   apt installs revision 1 into it, resolving the dependencies the package declares.
3. The install: user actiond in group video, /var/lib/actiond (actiond, 0750), the unit enabled (not
   started), /etc/actiond/* registered as conffiles, the pose models, `actiond --version`.
4. The operator edits /etc/actiond/actiond.json; revision 2 is installed over it; the edit survives
   and `actiond --check-config` passes inside the root; a bad edit is refused naming file and key.
5. remove keeps configuration and state; purge removes both and the unit's enablement.

Needs root (chroot, mounts) and the Debian archive; exit 77 (skipped) without them.
Usage (from ctest): test_deb_package.py --source DIR --build DIR
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

from testlib import fail, skip

EDIT = '"level": "debug"'


def run(cmd, **kw):
    """Runs cmd; on failure prints its output and fails the test naming the command."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if p.returncode != 0:
        print(p.stdout[-6000:], file=sys.stderr)
        fail(f"{' '.join(cmd)} exited {p.returncode}")
    return p.stdout


class Root:
    """A chroot with /proc mounted while it lives; removed at the end."""

    def __init__(self, path: str):
        self.path = path
        self.mounted = False

    def mount(self):
        run(["mount", "-t", "proc", "proc", os.path.join(self.path, "proc")])
        self.mounted = True

    def umount(self):
        if self.mounted:
            subprocess.run(["umount", "-l", os.path.join(self.path, "proc")], check=False)
            self.mounted = False

    def file(self, rel: str) -> str:
        return os.path.join(self.path, rel.lstrip("/"))

    def sh(self, script: str, check=True) -> subprocess.CompletedProcess:
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}
        p = subprocess.run(["chroot", self.path, "/bin/sh", "-c", script], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, env=env)
        if check and p.returncode != 0:
            print(p.stdout[-6000:], file=sys.stderr)
            fail(f"in the root: `{script}` exited {p.returncode}")
        return p


def make_packages(source: str, build: str, release: str, out: str) -> list:
    env = dict(os.environ, BUILD_DIR=build)
    printed = run([os.path.join(source, "scripts/package.sh"), "--release", release, "--out", out], env=env)
    debs = [line for line in printed.splitlines() if line.endswith(".deb")]
    if not any(os.path.basename(d).startswith("actiond_") and f"-{release}_" in d for d in debs):
        fail(f"package.sh --release {release} printed no actiond_*-{release}_*.deb: {printed[-2000:]}")
    return debs


def check_install(root: Root, release: str):
    status = root.sh("dpkg-query -W -f='${Status} ${Version}' actiond").stdout
    if not (status.startswith("install ok installed ") and status.endswith(f"-{release}")):
        fail(f"dpkg says actiond is '{status}', expected installed revision {release}")
    ids = root.sh("id actiond").stdout
    if "(video)" not in ids:
        fail(f"user actiond is not in group video: {ids}")
    owner = root.sh("stat -c '%U:%G %a' /var/lib/actiond").stdout.strip()
    if owner != "actiond:actiond 750":
        fail(f"/var/lib/actiond is {owner}, expected actiond:actiond 750")
    link = root.file("/etc/systemd/system/multi-user.target.wants/actiond.service")
    if not os.path.islink(link):
        fail("the unit is not enabled: no multi-user.target.wants/actiond.service link")
    conffiles = root.sh("dpkg-query -W -f='${Conffiles}' actiond").stdout
    for f in ("/etc/actiond/actiond.json", "/etc/actiond/cameras/workbench.json.example"):
        if f not in conffiles:
            fail(f"{f} is not a conffile: dpkg lists {conffiles!r}")
    version = root.sh("actiond --version").stdout
    if "0.1.0" not in version:
        fail(f"actiond --version printed {version!r}")
    for name in ("movenet-lightning.pt", "movenet-multipose.pt"):
        if not os.path.getsize(root.file(f"/usr/share/actiond/models/pretrained/{name}")) > 1_000_000:
            fail(f"actiond-pose-models did not install {name}")


def test_deb_package(args) -> None:
    if os.geteuid() != 0:
        skip("installing into a chroot needs root")
    for tool in ("mmdebstrap", "lintian", "chroot"):
        if not shutil.which(tool):
            fail(f"{tool} is not installed (scripts/install-deps.sh installs it)")
    sources = "/etc/apt/sources.list.d/debian.sources"
    if not os.path.exists(sources):
        sources = "/etc/apt/sources.list"

    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="actiond-deb-")
    root = Root(os.path.join(tmp, "root"))
    try:
        r1 = make_packages(args.source, args.build, "1", os.path.join(tmp, "r1"))
        r2 = make_packages(args.source, args.build, "2", os.path.join(tmp, "r2"))
        print(f"packages: {[os.path.basename(d) for d in r1 + r2]} ({time.monotonic() - t0:.0f} s)")

        run(["mmdebstrap", "--variant=apt", "--quiet", "--aptopt=Acquire::Check-Valid-Until \"false\"",
             "bookworm", root.path, sources])
        print(f"clean bookworm root made ({time.monotonic() - t0:.0f} s)")
        root.mount()
        for rev, debs in (("1", r1), ("2", r2)):
            os.makedirs(root.file(f"/tmp/r{rev}"))
            for d in debs:
                shutil.copy(d, root.file(f"/tmp/r{rev}/"))

        # Revision 1, dependencies from the archive (mmdebstrap leaves no package lists behind).
        root.sh("apt-get update -q > /tmp/apt.log 2>&1 || { tail -n 20 /tmp/apt.log; exit 1; }")
        root.sh("apt-get install -y -q --no-install-recommends /tmp/r1/*.deb > /tmp/apt.log 2>&1 "
                "|| { tail -n 40 /tmp/apt.log; exit 1; }")
        print(f"revision 1 installed ({time.monotonic() - t0:.0f} s)")
        check_install(root, "1")
        root.sh("actiond --config /etc/actiond --check-config")

        # The operator's edit, and some state.
        conf = root.file("/etc/actiond/actiond.json")
        text = open(conf).read()
        if '"level": "info"' not in text:
            fail(f"the shipped actiond.json has no log level to edit: {text}")
        open(conf, "w").write(text.replace('"level": "info"', EDIT))
        os.makedirs(root.file("/var/lib/actiond/journal/door"))
        open(root.file("/var/lib/actiond/journal/door/00000000000000000001.jsonl"), "w").write("{}\n")

        # Revision 2 over it: dpkg keeps the edited conffile (the package's version did not change).
        root.sh("apt-get install -y -q --no-install-recommends /tmp/r2/*.deb > /tmp/apt.log 2>&1 "
                "|| { tail -n 40 /tmp/apt.log; exit 1; }")
        check_install(root, "2")
        if EDIT not in open(conf).read():
            fail("the upgrade replaced the operator's /etc/actiond/actiond.json")
        out = root.sh("actiond --config /etc/actiond --check-config").stdout
        print(f"revision 2 over 1: the edit survived; check-config: {out.strip()[:200]}")

        # A bad edit is refused, naming the file and the key.
        open(conf, "w").write(text.replace('"level": "info"', '"level": "info", "colour": true'))
        bad = root.sh("actiond --config /etc/actiond --check-config", check=False)
        if bad.returncode == 0 or "actiond.json: /log/colour: unknown key" not in bad.stdout:
            fail(f"a bad key was not refused by file and key: exit {bad.returncode}: {bad.stdout[-500:]}")
        open(conf, "w").write(text.replace('"level": "info"', EDIT))

        # remove: configuration and state stay; purge: both go, and the enablement.
        root.sh("dpkg -r actiond-pose-models actiond")
        if not os.path.exists(conf) or not os.path.exists(root.file("/var/lib/actiond/journal/door")):
            fail("remove took configuration or state away (only purge should)")
        if "deinstall ok config-files" not in root.sh("dpkg-query -W -f='${Status}' actiond").stdout:
            fail("after remove, actiond is not in state config-files")
        root.sh("dpkg -P actiond actiond-pose-models")
        for gone in ("/etc/actiond", "/var/lib/actiond",
                     "/etc/systemd/system/multi-user.target.wants/actiond.service"):
            if os.path.lexists(root.file(gone)):
                fail(f"purge left {gone}")
        if root.sh("dpkg-query -W actiond", check=False).returncode == 0 and \
                "not-installed" not in root.sh("dpkg-query -W -f='${Status}' actiond", check=False).stdout:
            fail("dpkg still knows actiond after purge")
        print(f"removed, then purged: configuration and state gone ({time.monotonic() - t0:.0f} s)")
        print("PASS: .deb builds lint-clean, installs, upgrades keeping edits, checks config, purges")
    finally:
        root.umount()
        shutil.rmtree(tmp, ignore_errors=True)
