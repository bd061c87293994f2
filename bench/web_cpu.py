"""CPU per webhook and per `/healthz` under gunicorn and through the same WSGI application
in-process, in rounds that alternate within one run, so that all of them see the same machine.

    .venv/bin/python bench/web_cpu.py [--rounds 3] [--block 300] [--threads 16]
                                      [--concurrency 32] [--port 0]

gunicorn runs as `make run` starts it (`rca_project.gunicorn_conf`, 2 workers of `--threads`
threads, web alone), loaded as bench/ingest.py loads it (concurrency 32, a fresh connection per
request); its CPU is read from /proc for the master and the workers together, and the workers'
threads are split into the ones that ran requests and the rest (each worker's main loop and its
live-event sender) when `py-spy dump` names them. The in-process rounds call
`rca_project.wsgi.application` as bench/cpu_per_op.py does, in this process, twice: alone, and
with a neighbour (a subprocess sending `/healthz` to the gunicorn at the same concurrency), so
that they share the cores as gunicorn's requests share them with their load client. Each round's
webhooks are new ADF failures, each naming its own SQL server. Prints the median and range of
each kind per place, and the 1-minute load average at the start and the end.

Uses its own database (`rca_bench_web_cpu`, recreated) and Redis database 12 (flushed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    REPO,
    bench_environment,
    free_port,
    run_load,
    setup_django,
    start_gunicorn,
    webhook_http_request,
)
from cpu_per_op import TOKEN, failure_body, wsgi_call, wsgi_environ

BENCH_DB = os.environ.get("BENCH_DB", "rca_bench_web_cpu")
BENCH_REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "12"))
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

NEIGHBOUR = """
import asyncio, sys
sys.path.insert(0, {bench!r})
from common import run_load
request = b"GET /healthz HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nConnection: close\\r\\n\\r\\n"
while True:
    asyncio.run(run_load({port}, [request] * 500, {concurrency}))
"""


def cpu_seconds(stat_path: str) -> float:
    fields = Path(stat_path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def thread_cpu(pid: int) -> dict[int, float]:
    seconds = {}
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            seconds[int(task)] = cpu_seconds(f"/proc/{pid}/task/{task}/stat")
        except OSError:  # the thread ended between the listing and the read
            continue
    return seconds


def http_request(method: str, path: str, body: bytes = b"") -> bytes:
    return webhook_http_request(method, path, TOKEN, body)


def request_threads(workers: list[int], per_worker: int) -> set[int] | None:
    """The workers' request threads: those py-spy names as the gthread pool's (None when
    py-spy could not read them: it fails now and then on a busy process)."""
    py_spy = Path(sys.executable).parent / "py-spy"
    threads: set[int] = set()
    for pid in workers:
        found: set[int] = set()
        for _ in range(10):
            dump = subprocess.run(
                [str(py_spy), "dump", "-p", str(pid)], capture_output=True, text=True
            )
            found = {
                int(line.split()[1], 0)
                for line in dump.stdout.splitlines()
                if line.startswith("Thread ") and "ThreadPoolExecutor" in line
            }
            if len(found) == per_worker:
                break
            time.sleep(0.5)
        else:
            print(f"py-spy named {len(found)} request threads in worker {pid}: no split")
            return None
        threads |= found
    return threads


class Gunicorn:
    def __init__(self, env: dict[str, str], port: int, concurrency: int, threads: int) -> None:
        import psutil

        self.port, self.concurrency, self.threads = port, concurrency, threads
        self.server = start_gunicorn(env, port)
        time.sleep(1)
        self.workers = [child.pid for child in psutil.Process(self.server.pid).children()]
        self.request_thread_ms: dict[str, list[float]] = {"webhook": [], "healthz": []}
        self.other_thread_ms: dict[str, list[float]] = {"webhook": [], "healthz": []}
        self.pool: set[int] | None = set()

    def cpu_ms_per_request(self, kind: str, requests: list[bytes]) -> float:
        pids = [self.server.pid, *self.workers]
        before = sum(cpu_seconds(f"/proc/{pid}/stat") for pid in pids)
        threads_before = {pid: thread_cpu(pid) for pid in self.workers}
        results, _ = asyncio.run(run_load(self.port, requests, self.concurrency))
        after = sum(cpu_seconds(f"/proc/{pid}/stat") for pid in pids)
        assert all(status in (200, 202) for status, _, _ in results), "a request failed"
        if self.pool == set():
            self.pool = request_threads(self.workers, self.threads)
        if self.pool is None:
            return (after - before) / len(requests) * 1000
        pool = other = 0.0
        for pid in self.workers:
            for tid, seconds in thread_cpu(pid).items():
                spent = seconds - threads_before[pid].get(tid, 0.0)
                if tid in self.pool:
                    pool += spent
                else:
                    other += spent
        self.request_thread_ms[kind].append(pool / len(requests) * 1000)
        self.other_thread_ms[kind].append(other / len(requests) * 1000)
        return (after - before) / len(requests) * 1000


def in_process_ms_per_request(environs: list[dict[str, object]], expected: int) -> float:
    started = time.process_time()
    for environ in environs:
        assert wsgi_call(environ) == expected
    return (time.process_time() - started) / len(environs) * 1000


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ms ({min(values):.2f}-{max(values):.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--block", type=int, default=300, help="webhooks per round")
    parser.add_argument("--threads", type=int, default=16, help="WEB_THREADS")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--port", type=int, default=0, help="gunicorn's (0: a free one)")
    args = parser.parse_args()

    env = bench_environment(BENCH_DB, BENCH_REDIS_DB)
    env.update(
        WEBHOOK_TOKEN=TOKEN,
        GEMINI_API_KEY="",
        JIRA_URL="",
        SLACK_BOT_TOKEN="",
        AZURE_STORAGE_CONNECTION_STRING="",
        WEB_THREADS=str(args.threads),
    )
    setup_django(env)
    port = args.port or free_port()
    load_at_start = os.getloadavg()[0]
    gunicorn = Gunicorn(env, port, args.concurrency, args.threads)
    figures: dict[str, list[float]] = {}
    neighbour = None
    try:
        serial = iter(range(10**9))

        def webhook_requests() -> list[bytes]:
            return [
                http_request("POST", "/webhooks/adf/", failure_body(next(serial)))
                for _ in range(args.block)
            ]

        def webhook_environs() -> list[dict[str, object]]:
            return [
                wsgi_environ("POST", "/webhooks/adf/", failure_body(next(serial)), TOKEN)
                for _ in range(args.block)
            ]

        healthz = [http_request("GET", "/healthz")] * (2 * args.block)
        # Warm-up: every thread's database connection opened and its statements prepared.
        gunicorn.cpu_ms_per_request("webhook", webhook_requests())
        gunicorn.cpu_ms_per_request("healthz", healthz)
        in_process_ms_per_request(webhook_environs(), 202)
        gunicorn.request_thread_ms = {"webhook": [], "healthz": []}
        gunicorn.other_thread_ms = {"webhook": [], "healthz": []}
        for _ in range(args.rounds):
            for neighboured in (False, True):
                place = "in-process" + (", a neighbour" if neighboured else "")
                if neighboured:
                    neighbour = subprocess.Popen(
                        [
                            sys.executable,
                            "-c",
                            NEIGHBOUR.format(
                                bench=str(REPO / "bench"),
                                port=port,
                                concurrency=args.concurrency,
                            ),
                        ]
                    )
                    time.sleep(0.5)
                environs = webhook_environs()
                figures.setdefault(f"{place}: webhook", []).append(
                    in_process_ms_per_request(environs, 202)
                )
                environs = [wsgi_environ("GET", "/healthz") for _ in range(2 * args.block)]
                figures.setdefault(f"{place}: /healthz", []).append(
                    in_process_ms_per_request(environs, 200)
                )
                if neighbour is not None:
                    neighbour.terminate()
                    neighbour.wait()
                    neighbour = None
            figures.setdefault("gunicorn: webhook", []).append(
                gunicorn.cpu_ms_per_request("webhook", webhook_requests())
            )
            figures.setdefault("gunicorn: /healthz", []).append(
                gunicorn.cpu_ms_per_request("healthz", healthz)
            )
    finally:
        if neighbour is not None:
            neighbour.terminate()
        gunicorn.server.terminate()
        gunicorn.server.wait()
    print(
        f"1-minute load {load_at_start:.2f} at start, {os.getloadavg()[0]:.2f} at the end; "
        f"{args.rounds} rounds of {args.block} webhooks and {2 * args.block} /healthz, "
        f"{args.threads} threads a worker, concurrency {args.concurrency}"
    )
    for name, values in figures.items():
        print(f"{name:<34} {spread(values)}")
    for kind in ("webhook", "healthz"):
        if not gunicorn.request_thread_ms[kind]:
            continue
        print(
            f"gunicorn {kind}: request threads {spread(gunicorn.request_thread_ms[kind])}, "
            f"the workers' other threads {spread(gunicorn.other_thread_ms[kind])}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
