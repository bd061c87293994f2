"""Log analysis on a generated 100 MB Spark driver log with a buried failure.

    .venv/bin/python bench/log_analysis.py [--megabytes 100] [--keep]

Writes a Spark-style driver log (log4j ``yy/MM/dd HH:mm:ss LEVEL Class: message`` lines over
six hours: stage and task progress, shuffle and storage chatter, a recurring red herring
error with its own stack trace) in which a SQL Server connection failure appears once as a
retried task failure two thirds of the way in, and the job's abort with its chain of causes
sits a few lines before the end. It gzips nothing: the reader sees 100 MB of text.

Then, with a Celery worker process running (``celery worker --pool solo``: the task runs in
the worker's main process), it stores the log as an upload and creates the job as the API
does, and prints the time from the upload to the finished report, the peak RSS of the worker
process (``VmHWM``, its own start-up included) and whether the report names the buried cause.
Targets: under 60 s and under 300 MB.

Uses its own database (`rca_bench_logs`, recreated) and Redis database 12 (flushed).

    .venv/bin/python bench/log_analysis.py --mining [--lines 200000]

The mining alone (no Django, no worker), each case in a fresh process: a log whose lines are
all distinct (random words: every line a pattern of its own) against a repetitive one (the
Spark chatter above: a dozen patterns) of the same line count, both ending in the same failure.
Prints per case ``time.process_time``, the peak RSS of the process (``ru_maxrss``, with its
imports, and above them), the CPU of the first and the last 20,000 lines (a per-line cost that
grew with the distinct lines seen would show there), the patterns counted and whether the
cause, the early rare warning and the top pattern's count come out right; then the ratio of the
distinct case to the repetitive baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import string
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, bench_environment, setup_django

CAUSE_HOST = "sql-prod-7.database.windows.net"
CAUSE = (
    f"com.microsoft.sqlserver.jdbc.SQLServerException: The TCP/IP connection to the host "
    f'{CAUSE_HOST}, port 1433 has failed. Error: "Connection timed out: no further '
    f'information.". Verify the connection properties.'
)
SQL_FRAME = (
    "\tat com.microsoft.sqlserver.jdbc.SQLServerConnection.terminate(SQLServerConnection.java:3806)"
)
DAG_FRAME = (
    "\tat org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages"
    "(DAGScheduler.scala:2984)"
)
_NOISE = [
    "INFO TaskSetManager: Starting task {t}.0 in stage {s}.0 (TID {tid}) "
    "(10.139.64.{h}, executor {e}, partition {t}, PROCESS_LOCAL, 4567 bytes)",
    "INFO TaskSetManager: Finished task {t}.0 in stage {s}.0 (TID {tid}) in {ms} ms "
    "on 10.139.64.{h} (executor {e}) ({t}/200)",
    "INFO BlockManagerInfo: Added broadcast_{b}_piece0 in memory on 10.139.64.{h}:{port} "
    "(size: {kb}.0 KiB, free: 3.{e} GiB)",
    "INFO ShuffleBlockFetcherIterator: Getting {t} (1.{kb} MiB) non-empty blocks including "
    "{e} (12.0 KiB) local and 0 (0.0 B) host-local and {h} remote blocks",
    "INFO DAGScheduler: Submitting {t} missing tasks from ShuffleMapStage {s} "
    "(MapPartitionsRDD[{b}] at save at NativeMethodAccessorImpl.java:0)",
    "INFO CodeGenerator: Code generated in {ms}.{e} ms",
    "INFO MemoryStore: Block broadcast_{b} stored as values in memory "
    "(estimated size {kb}.4 KiB, free 4.{e} GiB)",
    "INFO FileScanRDD: Reading File path: abfss://raw@lakeprod.dfs.core.windows.net/"
    "sales/orders/date=2025-12-{d}/part-{tid}-c000.snappy.parquet, range: 0-{port}",
    "WARN ProcfsMetricsGetter: Exception when trying to compute pagesize, as a result "
    "reporting of ProcessTree metrics is stopped",
]
_RED_HERRING = [
    "ERROR ContextCleaner: Error cleaning broadcast {b}",
    "org.apache.spark.rpc.RpcTimeoutException: Futures timed out after [120 seconds]. "
    "This timeout is controlled by spark.rpc.askTimeout",
    "\tat org.apache.spark.rpc.RpcTimeout.org$apache$spark$rpc$RpcTimeout$$createRpcTimeout"
    "Exception(RpcTimeout.scala:47)",
    "\tat org.apache.spark.ContextCleaner.doCleanupBroadcast(ContextCleaner.scala:245)",
    "Caused by: java.util.concurrent.TimeoutException: Futures timed out after [120 seconds]",
    "\tat scala.concurrent.impl.Promise$DefaultPromise.ready(Promise.scala:259)",
    "\t... 12 more",
]


def _noise_line(rng: random.Random) -> str:
    """One of the routine lines a driver log is mostly made of, its numbers drawn anew."""
    return _NOISE[rng.randrange(len(_NOISE))].format(
        t=rng.randint(0, 199),
        s=rng.randint(1, 600),
        tid=rng.randint(1, 99999),
        h=rng.randint(2, 250),
        e=rng.randint(0, 31),
        ms=rng.randint(3, 9000),
        b=rng.randint(1, 9999),
        port=rng.randint(30000, 60000),
        kb=rng.randint(1, 900),
        d=rng.randint(10, 28),
    )


def generate_spark_log(path: Path, megabytes: int, seed: int = 7) -> int:
    """Write the log; returns its line count. The buried cause appears at two thirds and at
    the end; nothing else mentions the host."""
    rng = random.Random(seed)
    target = megabytes * 1024 * 1024
    start = datetime(2025, 12, 10, 2, 0, 0, tzinfo=UTC)
    span = 6 * 3600
    written = lines = 0
    cause_at = target * 2 // 3
    cause_written = False
    with path.open("w", encoding="utf-8") as out:

        def emit(when: datetime, text: str, header: bool = True) -> None:
            nonlocal written, lines
            line = f"{when:%y/%m/%d %H:%M:%S} {text}\n" if header else f"{text}\n"
            out.write(line)
            written += len(line)
            lines += 1

        while written < target - 4000:
            when = start + timedelta(seconds=span * written / target)
            if rng.random() < 0.0004:
                emit(when, _RED_HERRING[0].format(b=rng.randint(1, 9999)))
                for frame in _RED_HERRING[1:]:
                    emit(when, frame, header=False)
                continue
            if not cause_written and written >= cause_at:
                cause_written = True
                emit(
                    when,
                    "WARN TaskSetManager: Lost task 17.0 in stage 412.0 (TID 88213) "
                    f"(10.139.64.12 executor 3): {CAUSE}",
                )
                emit(
                    when,
                    SQL_FRAME,
                    header=False,
                )
                emit(
                    when,
                    "\tat com.microsoft.sqlserver.jdbc.SocketFinder.findSocket(IOBuffer.java:2470)",
                    header=False,
                )
                emit(
                    when,
                    "INFO TaskSetManager: Starting task 17.1 in stage 412.0 (TID 88240)",
                    header=True,
                )
                continue
            emit(when, _noise_line(rng))
        end = start + timedelta(seconds=span)
        emit(end, "ERROR TaskSetManager: Task 17 in stage 412.0 failed 4 times; aborting job")
        emit(
            end,
            "ERROR FileFormatWriter: Aborting job 2f1c4b1e-7d0a-4b8e-9f00-5a8c1d2e3f4a.",
        )
        emit(
            end,
            "org.apache.spark.SparkException: Job aborted due to stage failure: Task 17 in "
            "stage 412.0 failed 4 times, most recent failure: Lost task 17.3 in stage 412.0 "
            f"(TID 88301) (10.139.64.12 executor 3): {CAUSE}",
            header=False,
        )
        emit(
            end,
            DAG_FRAME,
            header=False,
        )
        emit(end, f"Caused by: {CAUSE}", header=False)
        emit(
            end,
            SQL_FRAME,
            header=False,
        )
        emit(end, "\t... 47 more", header=False)
        emit(end, "INFO SparkContext: Invoking stop() from shutdown hook")
        emit(end, "INFO SparkUI: Stopped Spark web UI at http://10.139.64.10:40001")
    return lines


RARE_WARNING = "WARN ConnectionPool: pool exhausted, waiting for a free connection"


def generate_lines_log(path: Path, lines: int, *, distinct: bool, seed: int = 11) -> None:
    """``lines`` log4j lines: random words (all distinct) or the Spark chatter (repetitive), an
    early rare warning at line 5 and, at the end, the job's abort with its chain of causes."""
    rng = random.Random(seed)
    start = datetime(2025, 12, 10, 2, 0, 0, tzinfo=UTC)
    letters = string.ascii_lowercase
    loggers = ["Executor", "TaskRunner", "Loader", "Writer"]
    with path.open("w", encoding="utf-8") as out:
        for number in range(1, lines - 3):
            when = start + timedelta(seconds=6 * 3600 * number / lines)
            if number == 5:
                text = RARE_WARNING
            elif distinct:
                level = "WARN" if rng.random() < 0.01 else "INFO"
                words = " ".join(
                    "".join(rng.choices(letters, k=rng.randint(3, 9)))
                    for _ in range(rng.randint(6, 14))
                )
                text = f"{level} {rng.choice(loggers)}: {words}"
            else:
                text = _noise_line(rng)
            out.write(f"{when:%y/%m/%d %H:%M:%S} {text}\n")
        end = start + timedelta(seconds=6 * 3600)
        out.write(f"{end:%y/%m/%d %H:%M:%S} ERROR TaskSetManager: Task 17 failed; aborting job\n")
        out.write(f"org.apache.spark.SparkException: Job aborted: {CAUSE}\n")
        out.write(f"{SQL_FRAME}\n")
        out.write(f"Caused by: {CAUSE}\n")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _mine_in_this_process(path: Path) -> None:
    """One case (run in a child process of its own): prints its figures as JSON."""
    from analysis.logs.mining import mine_lines
    from analysis.logs.reader import LogReader, LogSource

    rss_before = _peak_rss_mb()
    marks: list[float] = []
    started = time.process_time()
    result = mine_lines(
        LogReader([LogSource(path, path.name)]),
        on_progress=lambda _lines: marks.append(time.process_time()),
    )
    cpu = time.process_time() - started
    cause = result.innermost_cause
    report = result.as_dict()
    print(
        json.dumps(
            {
                "lines": result.lines,
                "cpu": cpu,
                "first_20k": marks[0] - started,
                "last_20k": marks[-1] - marks[-2],
                "peak_rss": _peak_rss_mb(),
                "rss_before": rss_before,
                "pattern_count": result.pattern_count,
                "top_count": report["patterns"][0]["count"] if report["patterns"] else 0,
                "cause_found": cause is not None
                and "SQLServerException" in cause.innermost.type
                and CAUSE_HOST in cause.innermost.message,
                "rare_warning_found": any(
                    RARE_WARNING.split(" ", 1)[1] in e.text for e in result.rare_warnings
                ),
                "report_bytes": len(json.dumps(report)),
            }
        )
    )


def bench_mining(lines: int) -> None:
    """The all-distinct log against the repetitive baseline, each mined in a fresh process."""
    work = Path(os.environ.get("TMPDIR", "/tmp")) / f"rca-bench-mining-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    figures: dict[str, dict[str, float]] = {}
    try:
        for name, distinct in (("repetitive", False), ("all-distinct", True)):
            path = work / f"{name}.log"
            generate_lines_log(path, lines, distinct=distinct)
            child = subprocess.run(
                [sys.executable, __file__, "--mining-child", str(path)],
                cwd=REPO,
                check=True,
                capture_output=True,
                text=True,
            )
            figures[name] = json.loads(child.stdout.strip().splitlines()[-1])
            path.unlink()
    finally:
        for leftover in work.glob("*.log"):
            leftover.unlink()
        work.rmdir()
    print(
        f"{'case':<13} {'lines':>8} {'CPU s':>7} {'first 20k':>9} {'last 20k':>8} "
        f"{'peak RSS MB':>11} {'above imports':>13} {'patterns':>8} {'top count':>9} "
        f"{'cause':>5} {'rare warn':>9}"
    )
    for name, f in figures.items():
        print(
            f"{name:<13} {f['lines']:>8,} {f['cpu']:>7.1f} {f['first_20k']:>9.2f} "
            f"{f['last_20k']:>8.2f} {f['peak_rss']:>11.0f} "
            f"{f['peak_rss'] - f['rss_before']:>13.0f} {f['pattern_count']:>8,} "
            f"{f['top_count']:>9,} {'yes' if f['cause_found'] else 'NO':>5} "
            f"{'yes' if f['rare_warning_found'] else 'NO':>9}"
        )
    base, spread = figures["repetitive"], figures["all-distinct"]
    above = (spread["peak_rss"] - spread["rss_before"]) / max(
        1.0, base["peak_rss"] - base["rss_before"]
    )
    print(
        f"all-distinct / repetitive: CPU x{spread['cpu'] / base['cpu']:.2f}, peak RSS "
        f"x{spread['peak_rss'] / base['peak_rss']:.2f} (above imports x{above:.2f})"
    )
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def _wait_for_worker() -> None:
    from rca_project.celery import app

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if app.control.ping(timeout=1.0):
            return
    raise SystemExit("the worker did not start")


def _peak_rss_kib(pid: int) -> int:
    """The worker's peak resident set (VmHWM): the task runs in it (solo pool)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise SystemExit("no VmHWM for the worker")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--keep", action="store_true", help="keep the generated log")
    parser.add_argument(
        "--mining", action="store_true", help="the mining alone: all-distinct vs repetitive lines"
    )
    parser.add_argument("--lines", type=int, default=200_000, help="lines per --mining case")
    parser.add_argument("--mining-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mining_child:
        _mine_in_this_process(args.mining_child)
        return
    if args.mining:
        if args.lines < 20_000:  # it times the first and the last 20,000 lines
            parser.error("--lines must be at least 20000")
        bench_mining(args.lines)
        return

    environment = bench_environment("rca_bench_logs", redis_db=12)
    setup_django(environment)
    from django.conf import settings
    from django.contrib.auth.models import User

    from analysis import log_jobs
    from analysis.models import LogAnalysisJob

    work = Path(settings.LOG_ANALYSIS_DIR).parent / "bench"
    work.mkdir(parents=True, exist_ok=True)
    log_path = work / "spark-driver.log"
    started = time.perf_counter()
    lines = generate_spark_log(log_path, args.megabytes)
    size = log_path.stat().st_size
    print(
        f"generated {size / 1e6:.1f} MB, {lines:,} lines in {time.perf_counter() - started:.1f} s"
    )

    user, _ = User.objects.get_or_create(username="bench-logs", defaults={"is_superuser": True})
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "rca_project",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "-Q",
            settings.CELERY_TASK_DEFAULT_QUEUE,
        ],
        cwd=REPO,
        env=environment,
    )
    try:
        _wait_for_worker()
        enqueued = time.perf_counter()
        # As the API does: the upload is stored, the job created and enqueued on commit.
        with log_path.open("rb") as handle:
            job = log_jobs.create_job_from_files(user, [log_jobs.Upload(log_path.name, handle)])
        while True:
            job.refresh_from_db()
            if job.status in LogAnalysisJob.FINISHED:
                break
            if time.perf_counter() - enqueued > 600:
                raise SystemExit("no report after 600 s")
            time.sleep(0.2)
        elapsed = time.perf_counter() - enqueued
        peak_kib = _peak_rss_kib(worker.pid)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        if not args.keep:
            log_path.unlink()
    report = job.report or {}
    cause = report.get("innermost_cause") or {}
    found = "SQLServerException" in str(cause.get("type", "")) and CAUSE_HOST in (
        report.get("root_cause", "") + str(cause.get("message", ""))
    )
    print(f"status: {job.status} {job.error}")
    print(f"time to report: {elapsed:.1f} s (target < 60 s)")
    print(f"worker peak RSS: {peak_kib / 1024:.0f} MB (target < 300 MB)")
    print(f"buried cause found: {'yes' if found else 'no'}")
    print(f"root cause: {report.get('root_cause', '')[:300]}")


if __name__ == "__main__":
    main()
