#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Boot a built kernel under QEMU and keep its console log; parse its KTAP.

The one layer every pageref run goes through (KUnit, harness, benchmarks):

  boot   qemu-system-<arch> under multi-threaded TCG with --smp CPUs, the
         kernel of --build, an optional --initrd, bounded by --timeout (the
         guest is killed then, and the run fails); the console is written to
         --log and the lines that matter are echoed as they come.
  qmp    with --qmp, the guest may set properties of QEMU's devices while it
         runs: a console line "pageref-qmp: {JSON}" whose JSON is a QMP
         qom-set command is sent to QEMU's QMP socket and QEMU's reply is
         written to the log as "boot.py: qmp: REPLY" (the stress boot
         resizes its virtio-mem device so).
  parse  the log is cut at each "pageref-init: load" line the guest's init
         prints before loading a module: the boot (built-in suites) and each
         module load are KTAP streams of their own, each handed to
         `kunit.py parse`, which writes --json-prefix-N.json.

Per-arch QEMU settings are the kernel's own data,
tools/testing/kunit/qemu_configs/ARCH.py (machine, CPU, console, kernel image).
"""

import argparse
import importlib.util
import os
import json
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

MARKER = "pageref-init: load"
EMPTY_PLAN = re.compile(r"(^|\] )1\.\.0$")
# Lines echoed while the guest runs: results, verdicts and trouble.
QMP_LINE = re.compile(r"pageref-qmp: (\{.*\})\s*$")
ECHO = re.compile(r"(^|\] )\s*(ok |not ok |# Subtest|pageref|Kernel panic|BUG:|WARNING:|Oops)")


def qemu_params(tree, arch):
    """The QemuArchParams of tools/testing/kunit/qemu_configs/ARCH.py."""
    kunit_dir = os.path.join(tree, "tools/testing/kunit")
    sys.path.insert(0, kunit_dir)
    path = os.path.join(kunit_dir, "qemu_configs", arch + ".py")
    if not os.path.isfile(path):
        sys.exit(f"boot.py: error: no QEMU settings for ARCH {arch} ({path})")
    # The files import "..qemu_config": load them under the module name
    # kunit.py gives them (kunit_kernel._get_qemu_ops), which makes that
    # relative import resolve to tools/testing/kunit/qemu_config.py.
    spec = importlib.util.spec_from_file_location(".qemu_configs/" + arch + ".py", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.QEMU_ARCH


# QEMU settings pageref changes in the kernel's own (by arch: old -> new).
# arm64: "-cpu max" has pointer authentication, with the architected QARMA5
# algorithm, which TCG computes in software for every return address the
# kernel signs and checks: each non-leaf function call costs hundreds of ns
# (measured: an out-of-line get+put pair 34 times the inline one). Without
# the feature the kernel's PAC instructions run as hints (no-ops); nothing
# pageref tests depends on it, and the arm64 guests run several times faster.
QEMU_PARAM_OVERRIDES = {"arm64": {"max": "max,pauth=off"}}


class Qmp:
    """A QMP client on QEMU's socket PATH: one command at a time."""

    def __init__(self, path, proc):
        # QEMU makes the socket soon after it starts; it may die first.
        for _ in range(300):
            if proc.poll() is not None:
                raise OSError("QEMU exited before its QMP socket opened")
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                time.sleep(0.1)
        else:
            raise OSError(f"no QMP socket at {path} after 30 s")
        self.sock.settimeout(30)
        self.file = self.sock.makefile("rw")
        self.file.readline()  # the greeting
        self.command({"execute": "qmp_capabilities"})

    def command(self, cmd):
        """Send CMD; return QEMU's reply (events before it are skipped)."""
        self.file.write(json.dumps(cmd) + "\n")
        self.file.flush()
        while True:
            reply = json.loads(self.file.readline())
            if "return" in reply or "error" in reply:
                return reply


def relay(qmp, line):
    """The reply to the guest's QMP request on LINE (None: no request)."""
    m = QMP_LINE.search(line)
    if not m:
        return None
    try:
        cmd = json.loads(m[1])
    except json.JSONDecodeError as e:
        return {"error": f"not JSON: {e}"}
    # The guest may resize devices, nothing else (no quit, no migrate).
    if not isinstance(cmd, dict) or cmd.get("execute") != "qom-set":
        return {"error": "only qom-set is relayed"}
    return qmp.command(cmd)


def boot(args):
    p = qemu_params(args.tree, args.arch)
    kernel = os.path.join(args.build, p.kernel_path)
    if not os.path.isfile(kernel):
        sys.exit(f"boot.py: error: no kernel image {kernel} (build first)")
    # printk.devkmsg=on: the guest programs' lines go through /dev/kmsg
    # (scripts/guest-console.h), unlimited.
    append = " ".join(["panic=-1", "printk.devkmsg=on", "oops=panic" if args.panic_on_oops else "",
                       p.kernel_command_line] + args.append).split()
    mem = str(args.mem) if not args.maxmem else f"{args.mem}M,maxmem={args.maxmem}M"
    cmd = ["qemu-system-" + p.qemu_arch, "-nodefaults", "-no-reboot", "-nographic",
           "-m", mem, "-smp", str(args.smp), "-accel", "tcg,thread=multi",
           "-serial", p.serial, "-kernel", kernel, "-append", " ".join(append)]
    overrides = QEMU_PARAM_OVERRIDES.get(args.arch, {})
    cmd += [overrides.get(a, a) for a in p.extra_qemu_params]
    if args.initrd:
        cmd += ["-initrd", args.initrd]
    cmd += args.qemu_arg
    qmp_dir = tempfile.TemporaryDirectory(prefix="pageref-qmp-") if args.qmp else None
    if qmp_dir:
        cmd += ["-qmp", f"unix:{qmp_dir.name}/qmp,server=on,wait=off"]
    with open(args.log + ".cmd", "w") as f:
        f.write(" ".join(cmd) + "\n")
    start = time.time()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="backslashreplace")
    timed_out = threading.Event()
    echo = re.compile(args.echo) if args.echo else ECHO

    def watchdog():
        try:
            proc.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            timed_out.set()
            proc.kill()

    threading.Thread(target=watchdog, daemon=True).start()
    qmp = None
    with open(args.log, "w") as log:
        if qmp_dir:
            try:
                qmp = Qmp(qmp_dir.name + "/qmp", proc)
            except (OSError, ValueError) as e:
                log.write(f"boot.py: qmp: {e}\n")
        for line in proc.stdout:
            log.write(line)
            reply = relay(qmp, line) if qmp else None
            if reply is not None:
                log.write(f"boot.py: qmp: {json.dumps(reply)}\n")
                log.flush()
            if not args.quiet and echo.search(line):
                print(f"  [{args.label} {time.time() - start:5.0f}s] {line.rstrip()}", flush=True)
    proc.wait()
    if qmp_dir:
        qmp_dir.cleanup()
    if timed_out.is_set():
        print(f"boot.py: {args.label}: QEMU killed after the {args.timeout} s timeout",
              file=sys.stderr)
        return False
    return True


def parse(args):
    """Split the log into KTAP streams and parse each with kunit.py."""
    with open(args.log, errors="backslashreplace") as f:
        lines = f.read().splitlines()
    segments, cur = [], []
    for line in lines:
        # The init's lines are kernel log records: "[ time] pageref-init: ...".
        if MARKER in line:
            segments.append(cur)
            cur = []
        cur.append(line)
    segments.append(cur)
    kunit = os.path.join(args.tree, "tools/testing/kunit/kunit.py")
    ok = True
    for i, seg in enumerate(segments):
        # A kernel with no built-in suite prints an empty plan at boot; its
        # tests are in the modules' streams.
        if i == 0 and len(segments) > 1 and any(EMPTY_PLAN.search(x) for x in seg):
            continue
        out = f"{args.json_prefix}-{i}.json"
        seglog = f"{args.log}.{i}"
        with open(seglog, "w") as f:
            f.write("\n".join(seg) + "\n")
        r = subprocess.run([sys.executable, kunit, "parse", seglog, "--json=" + out],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        with open(seglog + ".parsed", "w") as f:
            f.write(r.stdout)
        if r.returncode != 0:
            ok = False
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", required=True, help="patched kernel tree")
    ap.add_argument("--build", required=True, help="build directory (O=)")
    ap.add_argument("--arch", required=True, choices=["x86_64", "arm64"])
    ap.add_argument("--log", required=True, help="console log to write")
    ap.add_argument("--json-prefix", help="parse the log; write PREFIX-N.json")
    ap.add_argument("--initrd", help="initramfs to boot with")
    ap.add_argument("--append", action="append", default=[], help="kernel argument")
    ap.add_argument("--smp", type=int, default=2)
    ap.add_argument("--mem", type=int, default=2048, help="MiB")
    ap.add_argument("--maxmem", type=int, help="MiB of memory and memory devices (virtio-mem)")
    ap.add_argument("--qemu-arg", action="append", default=[], help="argument added to QEMU's")
    ap.add_argument("--qmp", action="store_true",
                    help="relay the guest's \"pageref-qmp: {JSON}\" qom-set lines to QEMU")
    ap.add_argument("--timeout", type=int, default=600, help="seconds")
    ap.add_argument("--panic-on-oops", action="store_true")
    ap.add_argument("--label", default="qemu", help="prefix of echoed lines")
    ap.add_argument("--quiet", action="store_true", help="echo nothing")
    ap.add_argument("--echo", metavar="REGEX",
                    help="echo the lines this matches instead of results, verdicts and trouble")
    args = ap.parse_args()
    if args.smp < 1 or args.mem < 256 or args.timeout < 1:
        ap.error("--smp, --mem and --timeout must be positive (mem >= 256)")
    if args.maxmem is not None and args.maxmem < args.mem:
        ap.error("--maxmem must be at least --mem")
    booted = boot(args)
    parsed = parse(args) if args.json_prefix else True
    return 0 if booted and parsed else 1


if __name__ == "__main__":
    sys.exit(main())
