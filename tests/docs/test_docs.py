#!/usr/bin/env python3
"""Runs the commands of README.md and docs/*.md, so that none goes stale.

Usage: test_docs.py BUILD_DIR REPO_ROOT WORKDIR [--slurm] [--only FILE] [--show]

Every fenced block whose info string is `sh` is a block of commands. The line before it may say how it is tested:

  (nothing) or <!-- doc: run -->   run here, in the file's order, in one scratch directory per file (which holds
                                   links to the build as build/, and to configs/, jobs/, bench/, scripts/, tools/
                                   and tests/ of the repository); it must exit 0
  <!-- doc: slurm -->              run with --slurm (ctest label slurm): on a local Slurm of its own; the state
                                   directory /tmp/cadmm-slurm the block names is replaced by the test's, and the
                                   cluster is stopped afterwards whatever happened
  <!-- doc: not run: REASON -->    too large or too slow for the suite (REASON says which test covers it, if any):
                                   checked without running: every script it names exists, and every --option it
                                   gives to cadmm, to a Python script or to a shell script is one they take

A fenced block with the info string `output` after a run block is what that block prints: every line of it that
is not `...` must appear in what the block printed, numbers masked (they move with timings and rounding).
Commands quoted in the prose (`build/cadmm plot cv.h5 --kind path`, `bench/bench_sparse.py --big`) are checked as
blocks not run are. Relative links ([text](path), ![img](path)) must name files that exist, and #anchors headings
that exist.
Each block runs in its own process group under a time limit; on a timeout the whole group is killed.
"""
import glob
import shlex
import os
import re
import signal
import socket
import subprocess
import sys
import time

BUILD, REPO, WORK = (os.path.abspath(a) for a in sys.argv[1:4])
SLURM = "--slurm" in sys.argv
SHOW = "--show" in sys.argv
ONLY = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
BLOCK_SECONDS = 600
LINKED = ["configs", "jobs", "bench", "scripts", "tools", "tests"]
SLURM_DIR_IN_DOCS = "/tmp/cadmm-slurm"

FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
MARK = re.compile(r"^\s*<!--\s*doc:\s*(run|slurm|not run:\s*(.+?))\s*-->\s*$")
NUMBER = re.compile(r"[-+]?(\d[\d,]*\.?\d*|\.\d+)([eE][-+]?\d+)?")


def documents():
    files = [os.path.join(REPO, "README.md")] + sorted(glob.glob(os.path.join(REPO, "docs", "**", "*.md"),
                                                                 recursive=True))
    return [f for f in files if ONLY is None or os.path.relpath(f, REPO) == ONLY]


def blocks(path):
    """(kind, reason, text, line) for every sh and output block of a markdown file, in order."""
    lines = open(path).read().split("\n")
    found, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, info, start = m.group(1), m.group(2), i
        j = i + 1
        while j < len(lines) and not re.match(r"^\s*```\s*$", lines[j]):
            j += 1
        body = "\n".join(l[len(indent):] if l.startswith(indent) else l for l in lines[i + 1:j])
        if info in ("sh", "output"):
            prev = next((lines[k] for k in range(start - 1, -1, -1) if lines[k].strip()), "")
            mark = MARK.match(prev)
            kind = "output" if info == "output" else (mark.group(1).split(":")[0] if mark else "run")
            reason = mark.group(2) if mark and mark.group(2) else ""
            found.append((kind, reason, body, start + 1))
        i = j + 1
    return found


def masked(text):
    return [" ".join(NUMBER.sub("#", line).split()) for line in text.split("\n") if line.strip()]


def scratch(name):
    d = os.path.join(WORK, name)
    subprocess.run(["rm", "-rf", d], check=True)
    os.makedirs(d)
    os.symlink(BUILD, os.path.join(d, "build"))
    for l in LINKED:
        os.symlink(os.path.join(REPO, l), os.path.join(d, l))
    return d


def environment(cwd):
    env = dict(os.environ, MPLBACKEND="Agg", HOME=cwd)
    if os.getuid() == 0:  # as the README says: Open MPI wants these as root
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    return env


def run(text, cwd, env):
    """Runs a block under bash -e in its own process group; returns (exit code, output)."""
    p = subprocess.Popen(["bash", "-eo", "pipefail", "-c", text], cwd=cwd, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=BLOCK_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        return -1, out + f"\n[timed out after {BLOCK_SECONDS} s]"
    return p.returncode, out


def commands(text):
    """The command lines of a block: continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    for line in joined.split("\n"):
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if line:
            yield line


OPTION = re.compile(r"^\[?(--[A-Za-z][\w.-]*)")


def options_of(words):
    return [m.group(1) for m in map(OPTION.match, words) if m]


HELP = {}


def help_text(argv):
    key = tuple(argv)
    if key not in HELP:
        HELP[key] = subprocess.run(argv + ["--help"], capture_output=True, text=True, timeout=60,
                                   cwd=REPO).stdout
    return HELP[key]


def check_statically(text):
    """Problems with commands that are not run: missing scripts, options the program does not take."""
    problems = []
    cadmm_commands = re.findall(r"^  (\w+)\s", help_text([os.path.join(BUILD, "cadmm")]), re.M)
    for line in commands(text):
        try:
            words = shlex.split(line.replace("$(", " ").replace(")", " "))
        except ValueError:
            words = line.split()
        for i, w in enumerate(words):
            base = os.path.basename(w)
            # cadmm COMMAND (a placeholder such as COMMAND, or a deliberate misspelling, is no command to check)
            if base in ("cadmm", "cadmm.sbatch") and i + 1 < len(words) and re.match(r"^[a-z]+$", words[i + 1]):
                command = words[i + 1]
                if command not in cadmm_commands:
                    problems.append(f"`{line}`: cadmm has no command {command}")
                    break
                usage = help_text([os.path.join(BUILD, "cadmm"), command])
                for o in options_of(words[i + 2:]):
                    if not re.search(re.escape(o) + r"(?![\w-])", usage):
                        problems.append(f"`{line}`: cadmm {command} takes no {o}")
                break
            if re.match(r"^(\./)?(bench|jobs|scripts|tests|tools)/", w):
                script = os.path.join(REPO, w[2:] if w.startswith("./") else w)
                if not os.path.exists(script):
                    problems.append(f"`{line}`: {w} does not exist")
                    break
                if os.path.isdir(script):
                    break
                source = open(script, errors="replace").read()
                # Only an argparse script is asked for its --help (another might take it for an argument).
                usage = help_text(["/usr/bin/python3", script]) if "argparse" in source else source
                for o in options_of(words[i + 1:]):
                    if o not in usage:
                        problems.append(f"`{line}`: {w} takes no {o}")
                break
    return problems


INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")


def inline_commands(path):
    """Commands quoted in the prose (`build/cadmm path --relax`, `bench/x.py --only P1`): checked like blocks not run."""
    text = re.sub(r"```.*?```", "", open(path).read(), flags=re.S)
    return [c for c in INLINE.findall(text)
            if re.search(r"(^|[\s/])cadmm(\.sbatch)? [a-z]", c) or re.match(r"^(\./|sudo )?(bench|jobs|scripts|tests|tools)/", c)]


SLUG_DROP = re.compile(r"[^\w\- ]")


def anchors(path):
    text = re.sub(r"```.*?```", "", open(path).read(), flags=re.S)
    return {SLUG_DROP.sub("", h.strip().lower()).replace(" ", "-") for h in re.findall(r"^#+ (.+)$", text, re.M)}


def free_ports(count):
    """The first of `count` consecutive TCP ports nobody listens on (the controller's and its nodes'), from a start
    that depends on this process, so that the other Slurm tests' clusters (tests/jobs/cluster.sh) are not met; below
    Linux's ephemeral ports (32768 on), which outgoing connections take at any time."""
    base = 20000 + (os.getpid() % 2999) * 4
    while True:
        taken = False
        for port in range(base, base + count):
            with socket.socket() as sock:
                try:
                    sock.bind(("", port))
                except OSError:
                    taken = True
                    break
        if not taken:
            return base
        base = 20000 + (base - 20000 + count) % 12000


def check_links(path):
    problems = []
    text = re.sub(r"```.*?```", "", open(path).read(), flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+://", target) or target.startswith("mailto:"):
            continue
        file_part, _, anchor = target.partition("#")
        dest = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
        if not os.path.exists(dest):
            problems.append(f"link ({target}): {os.path.relpath(dest, REPO)} does not exist")
        elif anchor and dest.endswith(".md") and anchor not in anchors(dest):
            problems.append(f"link ({target}): no heading #{anchor} in {os.path.relpath(dest, REPO)}")
    return problems


def main():
    if not documents():
        print(f"FAIL no document {ONLY}")
        return 1
    os.makedirs(WORK, exist_ok=True)
    failures, ran, checked = [], 0, 0
    for doc in documents():
        name = os.path.relpath(doc, REPO)
        found = blocks(doc)
        if not SLURM:
            failures += [f"{name}: {p}" for p in check_links(doc)]
            for c in inline_commands(doc):
                checked += 1
                failures += [f"{name}: inline {p}" for p in check_statically(c)]
        cwd = scratch(name.replace("/", "_").replace(".md", ""))
        env = environment(cwd)
        if SLURM:
            env.update(CADMM_SLURM_DIR=os.path.join(cwd, "slurm"), CADMM_SLURM_PORT=str(free_ports(4)))
        last = None  # (line, output) of the last block run
        for kind, reason, text, line in found:
            where = f"{name}:{line}"
            if kind == "output":
                if SLURM or last is None:
                    continue
                actual = set(masked(last[1]))
                missing = [l for l in text.split("\n") if l.strip() and l.strip() != "..." and
                           masked(l)[0] not in actual]
                if missing:
                    failures.append(f"{where}: the output shown is not what the block at line {last[0]} prints; "
                                    f"not printed:\n    " + "\n    ".join(missing) +
                                    f"\n  printed:\n    " + "\n    ".join(last[1].rstrip().split("\n")))
                continue
            if kind == "not run":
                last = None  # an output block after it shows what it prints, not what an earlier block did
                if SLURM:
                    continue
                checked += 1
                failures += [f"{where}: {p}" for p in check_statically(text)]
                continue
            if (kind == "slurm") != SLURM:
                last = None
                continue
            if SLURM:
                text = text.replace(SLURM_DIR_IN_DOCS, env["CADMM_SLURM_DIR"])
            start = time.time()
            try:
                code, out = run(text, cwd, env)
            finally:
                if SLURM:
                    subprocess.run([os.path.join(REPO, "jobs", "local-cluster.sh"), "stop"], env=env,
                                   capture_output=True, timeout=120)
            ran += 1
            print(f"{where}: exit {code} in {time.time() - start:.1f} s")
            if SHOW:
                print(out)
            if code != 0:
                failures.append(f"{where}: exit {code}\n{text}\n---\n{out}")
            last = (line, out)
    for f in failures:
        print("FAIL " + f, flush=True)
    print(f"{ran} blocks run, {checked} checked without running, {len(failures)} failed")
    if ran + checked == 0 and ONLY is None:
        print("FAIL no block found")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
