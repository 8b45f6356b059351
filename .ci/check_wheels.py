#!/usr/bin/env python3
"""Which of coach's runtime dependencies (and the piper and listen extras') have a wheel for Raspberry Pi
OS 64-bit (aarch64) and 32-bit (armv7l), CPython 3.11 (Debian 12 "bookworm")?

Reads the dependencies from pyproject.toml, so it stays in step with them, and asks PyPI the
ordinary way: `pip download --only-binary=:all: --platform ... --python-version 3.11 --no-deps`
per package and platform. For the piper and listen extras it also checks what those packages
require (one level, from the 64-bit wheel's metadata: onnxruntime is where Piper's and
Moonshine's speed comes from).
Needs the network, so it is NOT part of the test suite; run it by hand and quote its output:

    .venv/bin/python .ci/check_wheels.py            # PyPI only
    .venv/bin/python .ci/check_wheels.py --piwheels # also piwheels.org (Pi OS's extra index)
"""

from __future__ import annotations

import argparse
import email.parser
import re
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# glibc 2.36 on bookworm: every manylinux tag up to 2_36 installs there.
TARGETS = {
    "64-bit (aarch64)": ["manylinux_2_17_aarch64", "manylinux2014_aarch64",
                         "manylinux_2_27_aarch64", "manylinux_2_28_aarch64",
                         "manylinux_2_31_aarch64", "manylinux_2_34_aarch64", "linux_aarch64"],
    "32-bit (armv7l)": ["linux_armv7l", "manylinux_2_17_armv7l", "manylinux2014_armv7l",
                        "manylinux_2_28_armv7l", "manylinux_2_31_armv7l"],
}


def requirements() -> list[tuple[str, str]]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    out = [(r, "runtime") for r in meta["dependencies"]]
    out += [(r, "piper extra") for r in meta["optional-dependencies"]["piper"]]
    out += [(r, "listen extra") for r in meta["optional-dependencies"]["listen"]]
    return out


def download(req: str, platforms: list[str], dest: Path, extra_index: str | None) -> Path | None:
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:",
           "--python-version", "3.11", "--implementation", "cp", "--no-deps", "-d", str(dest)]
    for p in platforms:
        cmd += ["--platform", p]
    if extra_index:
        cmd += ["--extra-index-url", extra_index]
    before = set(dest.iterdir())
    r = subprocess.run(cmd + [req], capture_output=True, text=True)
    new = [p for p in set(dest.iterdir()) - before if p.suffix == ".whl"]
    if r.returncode != 0 or not new:
        return None
    return new[0]


def requires_of(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        msg = email.parser.Parser().parsestr(z.read(name).decode("utf-8"))
    out = []
    for r in msg.get_all("Requires-Dist") or []:
        req, _, marker = r.partition(";")
        if "extra" in marker:
            continue
        out.append(req.strip())
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--piwheels", action="store_true",
                    help="also look in https://www.piwheels.org/simple (Pi OS uses it)")
    args = ap.parse_args()
    extra = "https://www.piwheels.org/simple" if args.piwheels else None
    reqs = requirements()
    missing: dict[str, list[str]] = {t: [] for t in TARGETS}
    with tempfile.TemporaryDirectory() as tmp:
        seen: set[str] = set()
        queue = list(reqs)
        print(f"{'requirement':<32} {'why':<22} " + "  ".join(f"{t:<40}" for t in TARGETS))
        while queue:
            req, why = queue.pop(0)
            key = re.split(r"[<>=!~ \[]", req, maxsplit=1)[0].lower()
            if key in seen:
                continue
            seen.add(key)
            cells = []
            for target, platforms in TARGETS.items():
                d = Path(tmp) / target.split()[0] / key
                d.mkdir(parents=True)
                wheel = download(req, platforms, d, extra)
                cells.append(wheel.name if wheel else "NO WHEEL")
                if wheel is None:
                    missing[target].append(key)
                if wheel is not None and target.startswith("64") and why.endswith(" extra"):
                    queue += [(r, f"needed by {key}") for r in requires_of(wheel)]
            print(f"{req:<32} {why:<22} " + "  ".join(f"{c:<40}" for c in cells), flush=True)
    for target in TARGETS:
        lacking = ", ".join(missing[target]) or "nothing"
        print(f"{target}: no wheel for {lacking}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
