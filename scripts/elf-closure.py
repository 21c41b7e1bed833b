#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Usage: scripts/elf-closure.py ROOT PROGRAM

Print, one per line and relative to ROOT, what the dynamically linked
PROGRAM (a path under ROOT) needs to run in a root file system made of
them: its dynamic loader, PROGRAM itself and every shared library it loads,
directly or through another library (DT_NEEDED, read with readelf, looked
up in ROOT's multiarch library directories). Exits 1 naming a library
that ROOT lacks.
"""
import os
import subprocess
import sys

LIB_DIRS = ("lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu",
            "lib/aarch64-linux-gnu", "usr/lib/aarch64-linux-gnu")


def readelf(flag, path):
    return subprocess.run(["readelf", flag, "-W", path], capture_output=True,
                          text=True, check=True).stdout.splitlines()


def needed(path):
    return [line.split("[", 1)[1].split("]", 1)[0]
            for line in readelf("-d", path) if "(NEEDED)" in line]


def interpreter(path):
    for line in readelf("-l", path):
        if "Requesting program interpreter:" in line:
            return line.split(":", 1)[1].strip(" ]").lstrip("/")
    sys.exit(f"{path}: no program interpreter (a static program?)")


def main():
    if len(sys.argv) != 3 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if len(sys.argv) == 2 else 2)
    root, program = sys.argv[1], sys.argv[2]
    dirs = [d for d in LIB_DIRS if os.path.isdir(os.path.join(root, d))]
    found, todo = {}, [program]
    while todo:
        for name in needed(os.path.join(root, todo.pop())):
            if name in found:
                continue
            path = next((os.path.join(d, name) for d in dirs
                         if os.path.exists(os.path.join(root, d, name))), None)
            if path is None:
                sys.exit(f"{root} has no {name}, which {program} needs")
            found[name] = path
            todo.append(path)
    print(interpreter(os.path.join(root, program)))
    print(program)
    print("\n".join(sorted(found.values())))


if __name__ == "__main__":
    main()
