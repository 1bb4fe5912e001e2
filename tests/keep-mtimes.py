#!/usr/bin/env python3
"""Gives a fresh clone's unchanged files the modification times of the last build's files.

Cargo decides that a workspace crate must be rebuilt when one of its source files is newer than
its last build. A fresh clone writes every file anew, so on a machine whose shared target dir
(tests/run: ~/.cache/openemr-stack/target) already holds a build of the same sources, cargo
would still rebuild and relink every workspace crate, test binary and arm64 Lambda (minutes of
fat LTO). This script records each tracked file's content hash and modification time in the
cache, and on the next run gives a file whose content is unchanged its recorded time back;
changed and new files keep their fresh time, so cargo rebuilds exactly what changed.

    keep-mtimes.py restore CACHE_DIR   before the builds (tests/run)
    keep-mtimes.py finish CACHE_DIR    after every build succeeded (tests/run)

Safe only while every build into the target dir goes through tests/run: a build from another
tree (say `CARGO_TARGET_DIR=~/.cache/openemr-stack/target cargo test` in a checkout with edits)
could leave artifacts newer than the recorded times of other content. So `finish` writes a
stamp, and `restore` restores nothing when any fingerprint in the target dir is newer than the
stamp (a foreign build, or a run that did not finish): then cargo rebuilds the workspace crates,
as it would without this script. (mtime-travel on crates.io records times without content
hashes and would need a cargo install; cargo's own content hashing, -Zchecksum-freshness, is
nightly-only.)
"""

import hashlib
import json
import os
import subprocess
import sys


def tracked_files():
    out = subprocess.run(["git", "ls-files", "-z"], check=True, capture_output=True).stdout
    return [p for p in out.decode().split("\0") if p and os.path.isfile(p)]


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def foreign_build(target, stamp):
    """Whether any cargo fingerprint under `target` is newer than `stamp`."""
    if not os.path.exists(stamp):
        return True
    limit = os.stat(stamp).st_mtime_ns
    for root, dirs, files in os.walk(target):
        if os.path.basename(root) == ".fingerprint":
            for d in dirs:
                if os.stat(os.path.join(root, d)).st_mtime_ns > limit:
                    return True
            dirs[:] = []
        elif os.path.basename(root) in ("deps", "build", "incremental", "lambda"):
            dirs[:] = []
    return False


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("restore", "finish"):
        sys.exit("usage: keep-mtimes.py restore|finish CACHE_DIR TARGET_DIR")
    action, cache, target = sys.argv[1:]
    os.makedirs(cache, exist_ok=True)
    record_path = os.path.join(cache, "mtimes.json")
    stamp = os.path.join(cache, "mtimes.stamp")
    try:
        with open(record_path) as f:
            record = json.load(f)
    except (OSError, ValueError):
        record = {}
    files = tracked_files()
    if action == "restore":
        kept = 0
        if record and not foreign_build(target, stamp):
            for path in files:
                known = record.get(path)
                if known and known[0] == digest(path):
                    os.utime(path, ns=(known[1], known[1]))
                    kept += 1
        else:
            print("keep-mtimes: no finished run to follow: cargo rebuilds the workspace crates")
        # What this tree holds now, with the times it now has: the next run compares with it.
        now = {p: [digest(p), os.stat(p).st_mtime_ns] for p in files}
        with open(record_path + ".new", "w") as f:
            json.dump(now, f)
        os.replace(record_path + ".new", record_path)
        if os.path.exists(stamp):
            os.remove(stamp)  # until `finish`, the builds in the target dir are unfinished
        print(f"keep-mtimes: {kept} of {len(files)} files unchanged since the last finished run")
    else:
        with open(stamp, "w") as f:
            f.write("the last tests/run finished its builds\n")


if __name__ == "__main__":
    main()
