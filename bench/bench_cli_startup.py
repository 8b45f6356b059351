"""Start-up of the `coach` command: `coach --help`, `coach status` (no daemon: it says so and
exits 1), `coach plan programs/demo.yaml` and `coach history` (an empty history), each a whole
process (`python -m coach.cli ...`) timed from start to exit, wall and CPU (user + sys).

    .venv/bin/python bench/bench_cli_startup.py [--repeat 20] [--before DIR]

--before DIR times a second checkout of coach too (e.g. `git worktree add /tmp/before COMMIT`),
its runs interleaved with this tree's (A B A B ...) so a drift of the machine hits both; each
command's figures are the median, min and max over the runs, and the ratio this/before is the
median of the pairwise ratios. Every process runs with the tree as its working directory (so
`python -m` imports that tree's coach), private XDG dirs (no daemon socket, no history) and
stdout to /dev/null.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_vs_naive import machine  # noqa: E402

COMMANDS = {
    "coach --help": ["--help"],
    "coach status": ["status"],
    "coach plan programs/demo.yaml": ["plan", "programs/demo.yaml"],
    "coach history": ["history"],
}


def run_once(tree: Path, args: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall s, user + sys CPU s, exit code) of one `python -m coach.cli ARGS` in ``tree``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "coach.cli", *args], cwd=tree, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, r.returncode


def spread(xs: list[float]) -> str:
    return (f"{statistics.median(xs) * 1000:6.1f} ms (min {min(xs) * 1000:.1f}, "
            f"max {max(xs) * 1000:.1f})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=20, help="runs of each command per tree")
    ap.add_argument("--before", type=Path, help="another checkout of coach to compare with")
    args = ap.parse_args()
    trees = {"this": ROOT} if args.before is None else {"this": ROOT, "before": args.before}
    for name, tree in trees.items():
        if not (tree / "coach").is_dir() or not (tree / "programs" / "demo.yaml").is_file():
            print(f"{name}: {tree} is not a checkout of coach", file=sys.stderr)
            return 2
    print(machine())
    print(f"{args.repeat} runs per command and tree, after one warm-up each; {sys.executable}")
    with tempfile.TemporaryDirectory(prefix="coach-bench-cli-") as tmp:
        runtime = Path(tmp) / "run"
        runtime.mkdir(mode=0o700)
        env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime),
               "XDG_DATA_HOME": str(Path(tmp) / "data"),
               "XDG_CONFIG_HOME": str(Path(tmp) / "config"),
               "XDG_CACHE_HOME": str(Path(tmp) / "cache")}
        env.pop("PYTHONPATH", None)
        for label, cmd in COMMANDS.items():
            wall: dict[str, list[float]] = {n: [] for n in trees}
            cpu: dict[str, list[float]] = {n: [] for n in trees}
            codes: dict[str, set[int]] = {n: set() for n in trees}
            for tree in trees.values():
                run_once(tree, cmd, env)  # warm-up: the OS page cache, .pyc files
            for _ in range(args.repeat):
                for name, tree in trees.items():
                    w, c, code = run_once(tree, cmd, env)
                    wall[name].append(w)
                    cpu[name].append(c)
                    codes[name].add(code)
            print(f"\n{label}")
            for name in trees:
                print(f"  {name:<6} wall {spread(wall[name])}   cpu {spread(cpu[name])}   "
                      f"exit {sorted(codes[name])}")
            if "before" in trees:
                ratios = [a / b for a, b in zip(wall["this"], wall["before"])]
                cpu_ratios = [a / b for a, b in zip(cpu["this"], cpu["before"]) if b > 0]
                print(f"  this/before: wall {statistics.median(ratios):.3f} "
                      f"(min {min(ratios):.3f}, max {max(ratios):.3f})"
                      + (f", cpu {statistics.median(cpu_ratios):.3f}" if cpu_ratios else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
