"""`netmoe build`: compile the ns-3 scenario programs and the bridge's native peers (CMake)."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ns3-prefix", help="an ns-3 installation (lib*/ + include/) instead of the ns3 wheel"
    )
    parser.add_argument(
        "--system-ns3", action="store_true", help="use CMake's find_package(ns3) (libns3-dev)"
    )
    parser.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--build-dir", help="build tree (default: $NETMOE_BUILD_DIR or ./build)")


def run(args: argparse.Namespace) -> int:
    from pybridge.paths import REPO_ROOT, build_dir

    if shutil.which("cmake") is None:
        print("netmoe: error: cmake not found on PATH", file=sys.stderr)
        return 2
    out = args.build_dir or str(build_dir())
    configure = [
        "cmake",
        "-S",
        str(REPO_ROOT),
        "-B",
        out,
        "-DCMAKE_BUILD_TYPE=Release",
        f"-DNETMOE_PYTHON={sys.executable}",
    ]
    if args.ns3_prefix:
        configure.append(f"-DNETMOE_NS3_PREFIX={args.ns3_prefix}")
    if args.system_ns3:
        configure.append("-DNETMOE_USE_SYSTEM_NS3=ON")
    for cmd in (configure, ["cmake", "--build", out, "-j", str(args.jobs)]):
        print("+", " ".join(cmd), flush=True)
        if subprocess.call(cmd) != 0:
            print(f"netmoe: error: `{' '.join(cmd[:2])}` failed (see above)", file=sys.stderr)
            return 1
    return 0
