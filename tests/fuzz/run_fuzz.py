#!/usr/bin/env python3
"""Run one libFuzzer target for a bounded time from its seed corpus.

  run_fuzz.py TARGET WORKDIR [SECONDS]

The target writes its seeds (ZREC_FUZZ_WRITE_SEEDS) into WORKDIR/seeds;
the fuzzer reads them and keeps what it finds in WORKDIR/corpus, crashes as
WORKDIR/crash-* (leak-*, timeout-*).  SECONDS defaults to $ZREC_FUZZ_SECONDS, else 20.  Exits
with the fuzzer's status (non-zero on a crash, leak, sanitizer report or
broken contract) and prints its execution count.
"""
import os
import re
import subprocess
import sys


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    target, work = sys.argv[1], sys.argv[2]
    seconds = int(sys.argv[3] if len(sys.argv) == 4 else os.environ.get("ZREC_FUZZ_SECONDS", "20"))
    seeds = os.path.join(work, "seeds")
    corpus = os.path.join(work, "corpus")
    os.makedirs(seeds, exist_ok=True)
    os.makedirs(corpus, exist_ok=True)
    env = dict(os.environ, ZREC_FUZZ_WRITE_SEEDS=seeds)
    subprocess.run([target], env=env, check=True, timeout=120)
    env = dict(os.environ)
    env.pop("ZREC_FUZZ_WRITE_SEEDS", None)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
    env.setdefault("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1")
    cmd = [target, corpus, seeds, "-max_total_time=%d" % seconds, "-print_final_stats=1",
           "-artifact_prefix=" + os.path.join(work, ""), "-rss_limit_mb=4096",
           "-timeout=10",
           # libFuzzer's own default is 77, which meson reads as "skipped".
           "-error_exitcode=1", "-timeout_exitcode=1"]
    print("running:", " ".join(cmd), flush=True)
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=seconds + 300)
    out = p.stdout
    runs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", out)
    tail = out.splitlines()[-40:] if p.returncode else out.splitlines()[-12:]
    print("\n".join(tail))
    print("%s: %s executions in %d s, exit %d" % (os.path.basename(target),
                                                  runs[-1] if runs else "?", seconds,
                                                  p.returncode))
    sys.exit(p.returncode)


if __name__ == "__main__":
    main()
