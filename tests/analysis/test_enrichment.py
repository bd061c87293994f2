"""Error enrichment through the real databricks-sdk and azure-mgmt-datafactory clients, talking to
local fake servers (tests/fakes) that answer the services' REST paths and JSON. No database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.core.credentials import AccessToken

from analysis.enrichment import (
    ADF_SOURCE,
    DATABRICKS_SOURCE,
    ERROR_MESSAGE_CHARS,
    TRACE_KEEP_CHARS,
    TRACE_MESSAGE_CHARS,
    AdfConfig,
    DatabricksConfig,
    Enrichment,
    EnrichmentError,
    adf_credential_from_settings,
    enrich_adf_pipeline_run,
    enrich_databricks_run,
    latest_adf_run_with_failed_activity,
    latest_failed_adf_run,
    latest_failed_adf_trigger_run,
)
from analysis.redaction import redact, redact_data
from tests.fakes.azure_management_api import (
    FakeAzureManagement,
    adf_activity_run,
    adf_pipeline_run,
    adf_trigger_run,
)
from tests.fakes.databricks_api import FakeDatabricks, job_run, task

RG = "rg-data"
FACTORY = "adf-prod"
ARM_TOKEN = "arm-test-token"


class StaticTokenCredential:
    """A TokenCredential that hands out one fixed token (no Entra ID is reachable here)."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)


@pytest.fixture
def databricks() -> Iterator[FakeDatabricks]:
    with FakeDatabricks() as fake:
        yield fake


@pytest.fixture
def arm() -> Iterator[FakeAzureManagement]:
    with FakeAzureManagement(token=ARM_TOKEN) as fake:
        yield fake


def dbx_config(
    fake: FakeDatabricks, timeout: float = 5, token: str | None = None
) -> DatabricksConfig:
    return DatabricksConfig(host=fake.url, token=token or fake.token, timeout_seconds=timeout)


def adf_config(fake: FakeAzureManagement, timeout: float = 5, token: str = ARM_TOKEN) -> AdfConfig:
    return AdfConfig(
        subscription_id=fake.subscription_id,
        credential=StaticTokenCredential(token),
        base_url=fake.url,
        timeout_seconds=timeout,
    )


def python_trace(lines: int) -> str:
    frames = "".join(
        f'  File "/databricks/python/lib/module_{i}.py", line {i}, in step_{i}\n    call_{i}()\n'
        for i in range(lines)
    )
    return (
        "\x1b[0;31m---------------------------------------------------------------------------"
        "\x1b[0m\n\x1b[0;31mAnalysisException\x1b[0m Traceback (most recent call last)\n"
        f"{frames}"
        "AnalysisException: [TABLE_OR_VIEW_NOT_FOUND] The table or view `sales`.`orders` "
        "cannot be found. SQLSTATE: 42P01"
    )


def add_failed_etl_run(fake: FakeDatabricks) -> None:
    fake.add_run(
        job_run(
            run_id=9001,
            tasks=[
                task("extract", 9002, "SUCCESS"),
                task("transform", 9003, "FAILED", "Workload failed, see run output for details"),
                task("load", 9004, "UPSTREAM_FAILED", "Upstream task failed"),
            ],
        )
    )
    fake.outputs[9003] = {
        "error": "AnalysisException: [TABLE_OR_VIEW_NOT_FOUND] The table or view "
        "`sales`.`orders` cannot be found.",
        "error_trace": python_trace(400),
    }


# ---------------------------------------------------------------------------------------------
# Databricks
# ---------------------------------------------------------------------------------------------


def test_databricks_multi_task_run_reports_the_failed_task(databricks: FakeDatabricks) -> None:
    add_failed_etl_run(databricks)

    result = enrich_databricks_run(dbx_config(databricks), "9001")

    assert isinstance(result, Enrichment)
    assert result.source == DATABRICKS_SOURCE
    message = result.error_message
    assert message.startswith("Databricks task 'transform' FAILED")
    assert "Workload failed, see run output for details" in message
    assert "[TABLE_OR_VIEW_NOT_FOUND]" in message
    assert message.rstrip().endswith("cannot be found. SQLSTATE: 42P01")  # tail of the trace
    assert "module_0.py" not in message  # ...but not its head
    assert "\x1b[" not in message
    details = result.details
    assert details["task_key"] == "transform"
    assert details["task_run_id"] == 9003
    assert details["result_state"] == "FAILED"
    assert details["task_result_state"] == "FAILED"
    assert details["error_code"] == "RUN_EXECUTION_ERROR"
    assert details["state_message"].startswith("Task transform failed with message")
    assert details["run_page_url"].endswith("#job/11223344/run/9001")
    assert len(details["error_trace"]) <= TRACE_KEEP_CHARS
    assert details["error_trace"].endswith("SQLSTATE: 42P01")
    assert [t["task_key"] for t in details["failed_tasks"]] == ["transform"]

    # What the real SDK called: runs/get for the job run, runs/get-output for the failed task
    # only, then jobs/get for who the job runs as (a job this workspace does not know: 400).
    calls = [
        (r.method, r.path, r.param("run_id") or r.param("job_id")) for r in databricks.requests
    ]
    assert calls == [
        ("GET", "/api/2.2/jobs/runs/get", "9001"),
        ("GET", "/api/2.2/jobs/runs/get-output", "9003"),
        ("GET", "/api/2.2/jobs/get", "11223344"),
    ]
    assert "run_as_user_name" not in details
    assert all(
        r.header("Authorization") == f"Bearer {databricks.token}" for r in databricks.requests
    )
    assert not databricks.requests_to("/.well-known/")  # PAT only: no discovery probe


def for_each_task(
    task_key: str, run_id: int, failed: int, total: int, error: str
) -> dict[str, Any]:
    """A For each task as runs/get lists it, run on serverless compute (no cluster): its
    iterations are not in `tasks`, and its stats carry their most common errors."""
    entry = task(task_key, run_id, "FAILED", "Workload failed, see run output for details")
    del entry["notebook_task"], entry["existing_cluster_id"]
    entry["for_each_task"] = {
        "inputs": '["2024-05-01", "2024-05-02", "2024-05-03"]',
        "concurrency": 2,
        "task": {
            "task_key": f"{task_key}_iteration",
            "notebook_task": {"notebook_path": "/Repos/etl/process_day", "source": "WORKSPACE"},
        },
        "stats": {
            "task_run_stats": {
                "total_iterations": total,
                "scheduled_iterations": total,
                "completed_iterations": total,
                "active_iterations": 0,
                "failed_iterations": failed,
                "succeeded_iterations": total - failed,
            },
            "error_message_stats": [
                {"error_message": error, "count": failed, "termination_category": "CLIENT_ERROR"}
            ],
        },
    }
    return entry


def test_databricks_for_each_task_reports_its_iterations_errors(
    databricks: FakeDatabricks,
) -> None:
    error = "[TABLE_OR_VIEW_NOT_FOUND] The table or view `sales`.`orders_day` cannot be found."
    databricks.add_run(
        job_run(
            run_id=9100,
            tasks=[task("list_days", 9101), for_each_task("process_days", 9102, 2, 3, error)],
        )
    )

    result = enrich_databricks_run(dbx_config(databricks), "9100")

    lines = result.error_message.splitlines()
    assert lines[0].startswith("Databricks task 'process_days' FAILED")
    assert lines[1:3] == [
        "2 of 3 iterations failed; their most common errors:",
        f"2 of them: {error}",
    ]
    assert result.details["task_key"] == "process_days"
    assert result.details["error"].endswith(error)


def test_databricks_task_key_selects_that_task(databricks: FakeDatabricks) -> None:
    databricks.add_run(
        job_run(
            run_id=500,
            tasks=[
                task("bronze", 501, "FAILED", "Workload failed, see run output for details"),
                task("silver", 502, "FAILED", "Workload failed, see run output for details"),
            ],
        )
    )
    databricks.outputs[501] = {"error": "java.io.FileNotFoundException: /mnt/raw/2024-05-01.csv"}
    databricks.outputs[502] = {"error": "Py4JJavaError: ConcurrentAppendException in delta table"}

    chosen = enrich_databricks_run(dbx_config(databricks), "500", task_key="silver")
    default = enrich_databricks_run(dbx_config(databricks), "500")

    assert chosen.details["task_key"] == "silver"
    assert chosen.error_message.startswith("Databricks task 'silver' FAILED")
    assert "ConcurrentAppendException" in chosen.error_message.splitlines()[1]
    assert "Also FAILED: task 'bronze': java.io.FileNotFoundException" in chosen.error_message
    assert default.details["task_key"] == "bronze"  # without a key: the first failure
    output_ids = [r.param("run_id") for r in databricks.requests_to("get-output")]
    assert output_ids[:2] == ["502", "501"]


def test_databricks_unknown_task_key_falls_back_to_failed_tasks(
    databricks: FakeDatabricks,
) -> None:
    add_failed_etl_run(databricks)

    result = enrich_databricks_run(dbx_config(databricks), "9001", task_key="no_such_task")

    assert result.details["task_key"] == "transform"
    assert result.details["task_key_not_found"] == "no_such_task"


def test_databricks_run_without_tasks_reads_its_own_output(databricks: FakeDatabricks) -> None:
    run = job_run(run_id=77, tasks=[], result_state="TIMEDOUT", state_message="Run timed out")
    databricks.add_run(run)
    databricks.outputs[77] = {"error": "Run exceeded its timeout of 3600 seconds"}

    result = enrich_databricks_run(dbx_config(databricks), "77", task_key="main")

    assert result.details["task_key"] == "main"
    assert "task_key_not_found" not in result.details
    assert "Run exceeded its timeout" in result.error_message
    assert [r.param("run_id") for r in databricks.requests_to("get-output")] == ["77"]


def test_databricks_follows_task_pages(databricks: FakeDatabricks) -> None:
    databricks.page_size = 2
    tasks = [task(f"t{i}", 600 + i) for i in range(4)]
    tasks.append(task("t4", 604, "FAILED", "Cluster 'etl' was terminated. Reason: SPOT_LOST"))
    databricks.add_run(job_run(run_id=600, tasks=tasks))

    result = enrich_databricks_run(dbx_config(databricks), "600")

    assert result.details["task_key"] == "t4"
    assert "SPOT_LOST" in result.error_message
    tokens = [
        r.param("page_token") for r in databricks.requests_to("/runs/get") if "output" not in r.path
    ]
    assert tokens == [None, "2", "4"]


def test_databricks_invalid_token_raises(databricks: FakeDatabricks) -> None:
    add_failed_etl_run(databricks)

    with pytest.raises(EnrichmentError) as caught:
        enrich_databricks_run(dbx_config(databricks, token="dapi-wrong"), "9001")

    assert str(caught.value) == "Databricks API: 403 Invalid access token"
    assert "dapi-wrong" not in str(caught.value)


def test_databricks_unknown_run_raises(databricks: FakeDatabricks) -> None:
    # The API answers 400 INVALID_PARAMETER_VALUE; the SDK classifies it as ResourceDoesNotExist.
    with pytest.raises(EnrichmentError, match=r"^Databricks API: 404 Run 404 does not exist"):
        enrich_databricks_run(dbx_config(databricks), "404")
    with pytest.raises(EnrichmentError, match="invalid run id"):
        enrich_databricks_run(dbx_config(databricks), "not-a-number")


def test_databricks_sdk_retries_a_transient_503(databricks: FakeDatabricks) -> None:
    add_failed_etl_run(databricks)
    body = databricks.error_body(503, "The service is temporarily unavailable")
    databricks.fail(503, body, times=1, path_contains="/runs/get")

    result = enrich_databricks_run(dbx_config(databricks, timeout=5), "9001")

    assert result.details["task_key"] == "transform"
    assert [r.param("run_id") for r in databricks.requests_to("/jobs/runs/get")][:2] == [
        "9001",
        "9001",
    ]


def test_databricks_persistent_500_fails_fast(databricks: FakeDatabricks) -> None:
    add_failed_etl_run(databricks)
    databricks.fail(500, databricks.error_body(500, "Internal error"), times=None)

    started = time.monotonic()
    with pytest.raises(EnrichmentError, match=r"^Databricks API: 500 Internal error"):
        enrich_databricks_run(dbx_config(databricks, timeout=2), "9001")
    assert time.monotonic() - started < 2 * 2 + 1


def test_databricks_throttling_is_cut_at_the_budget(databricks: FakeDatabricks) -> None:
    """A Retry-After longer than the budget ends the read at once: the reason says the next try
    would start past the budget (not that it retried for the whole budget)."""
    add_failed_etl_run(databricks)
    databricks.throttle(retry_after=120, times=None)  # the SDK would sleep 2 minutes

    started = time.monotonic()
    with pytest.raises(
        EnrichmentError,
        match=r"^Databricks API: 429 .*\(gave up retrying: its next try would start past the 2s",
    ):
        enrich_databricks_run(dbx_config(databricks, timeout=2), "9001")
    assert time.monotonic() - started < 2 * 2 + 1


def test_databricks_stalled_server_times_out_within_bounds(databricks: FakeDatabricks) -> None:
    add_failed_etl_run(databricks)
    databricks.stall(30)

    started = time.monotonic()
    with pytest.raises(EnrichmentError, match=r"^Databricks API: timed out after 1s"):
        enrich_databricks_run(dbx_config(databricks, timeout=1), "9001")
    assert time.monotonic() - started < 2 * 1 + 1


def test_databricks_stalled_output_keeps_the_run_state(databricks: FakeDatabricks) -> None:
    add_failed_etl_run(databricks)
    databricks.stall(30, path_contains="get-output")

    started = time.monotonic()
    result = enrich_databricks_run(dbx_config(databricks, timeout=1), "9001")

    assert time.monotonic() - started < 2 * 1 + 1
    assert result.details["task_key"] == "transform"
    assert "timed out" in result.details["output_error"]
    assert "Workload failed" in result.error_message
    assert "timed out" in result.unread_for_now  # its error may be read later


# ---------------------------------------------------------------------------------------------
# Azure Data Factory
# ---------------------------------------------------------------------------------------------

COPY_ERROR = (
    "ErrorCode=UserErrorFileNotFound,'Type=Microsoft.DataTransfer.Common.Shared.HybridDeliveryException,"
    "Message=ADLS Gen2 operation failed for: Operation returned an invalid status code 'NotFound'. "
    "Account: 'datalake'. FileSystem: 'raw'. Path: 'sales/2024/05/01/orders.csv'.,Source=Microsoft."
    "DataTransfer.ClientLibrary,'"
)


def add_failed_copy_run(fake: FakeAzureManagement, run_id: str = "run-copy-1") -> dict[str, Any]:
    run = adf_pipeline_run(
        run_id,
        "pl_load_sales",
        "Failed",
        f"Operation on target Copy orders failed: {COPY_ERROR}",
        resource_group=RG,
        factory=FACTORY,
    )
    fake.add_pipeline_run(RG, FACTORY, run)
    fake.add_activity_runs(
        RG,
        FACTORY,
        run_id,
        [
            adf_activity_run(run, "Lookup watermark", activity_type="Lookup"),
            adf_activity_run(
                run,
                "Copy orders",
                "Failed",
                error_code="2200",
                message=COPY_ERROR,
                failure_type="UserError",
                offset=timedelta(minutes=1),
            ),
        ],
    )
    return run


def test_adf_failed_copy_activity(arm: FakeAzureManagement) -> None:
    add_failed_copy_run(arm)
    config = adf_config(arm)

    result = enrich_adf_pipeline_run(config, RG, FACTORY, "run-copy-1")

    assert result.source == ADF_SOURCE
    assert result.error_message.startswith(
        "ADF activity 'Copy orders' (Copy) in pipeline 'pl_load_sales' failed: [2200] "
        "ErrorCode=UserErrorFileNotFound"
    )
    assert "Pipeline run message" not in result.error_message  # it only repeats the activity's
    details = result.details
    assert details["error_code"] == "2200"
    assert details["activity"] == "Copy orders"
    assert details["failure_type"] == "UserError"
    assert details["pipeline"] == "pl_load_sales"
    assert details["status"] == "Failed"
    assert details["invoked_by"] == "DailyTrigger"
    assert [a["activity"] for a in details["failed_activities"]] == ["Copy orders"]

    factory_path = (
        f"/subscriptions/{arm.subscription_id}/resourceGroups/{RG}"
        f"/providers/Microsoft.DataFactory/factories/{FACTORY}"
    )
    calls = [(r.method, r.path, r.param("api-version")) for r in arm.requests]
    assert calls == [
        ("GET", f"{factory_path}/pipelineruns/run-copy-1", "2018-06-01"),
        ("POST", f"{factory_path}/pipelineruns/run-copy-1/queryActivityruns", "2018-06-01"),
    ]
    assert all(r.header("Authorization") == f"Bearer {ARM_TOKEN}" for r in arm.requests)
    assert set(arm.requests[1].body) == {"lastUpdatedAfter", "lastUpdatedBefore"}
    assert isinstance(config.credential, StaticTokenCredential)
    assert config.credential.scopes[0] == ("https://management.azure.com/.default",)


def test_adf_pipeline_with_two_failed_activities(arm: FakeAzureManagement) -> None:
    run = adf_pipeline_run(
        "run-2",
        "pl_nightly",
        "Failed",
        "Activity failed because an inner activity failed",
        resource_group=RG,
        factory=FACTORY,
    )
    arm.add_pipeline_run(RG, FACTORY, run)
    arm.add_activity_runs(
        RG,
        FACTORY,
        "run-2",
        [
            adf_activity_run(
                run,
                "ForEach table",
                "Failed",
                activity_type="ForEach",
                error_code="ActivityFailed",
                message="Activity failed because an inner activity failed",
                failure_type="UserError",
            ),
            adf_activity_run(
                run,
                "Run notebook",
                "Failed",
                activity_type="DatabricksNotebook",
                error_code="3204",
                message="Job cluster creation failed: QUOTA_EXCEEDED",
                failure_type="UserError",
                offset=timedelta(seconds=30),
            ),
            adf_activity_run(
                run,
                "Copy customers",
                "Failed",
                error_code="2200",
                message="Failure happened on 'Sink' side. ErrorCode=SqlOperationFailed",
                failure_type="UserError",
                offset=timedelta(seconds=90),
            ),
        ],
    )

    result = enrich_adf_pipeline_run(adf_config(arm), RG, FACTORY, "run-2")

    failed = result.details["failed_activities"]
    # Leaf activities first, in start order; the ForEach container last.
    assert [a["activity"] for a in failed] == ["Run notebook", "Copy customers", "ForEach table"]
    assert [a["error_code"] for a in failed] == ["3204", "2200", "ActivityFailed"]
    assert result.details["error_code"] == "3204"
    lines = result.error_message.splitlines()
    assert "[3204] Job cluster creation failed: QUOTA_EXCEEDED" in lines[0]
    assert lines[1].startswith("Also failed: activity 'Copy customers' (Copy): [2200]")


def test_adf_follows_activity_pages(arm: FakeAzureManagement) -> None:
    arm.page_size = 1
    add_failed_copy_run(arm)

    result = enrich_adf_pipeline_run(adf_config(arm), RG, FACTORY, "run-copy-1")

    assert result.details["error_code"] == "2200"
    bodies = [r.body for r in arm.requests_to("queryActivityruns")]
    assert [b.get("continuationToken") for b in bodies] == [None, "1"]


def test_adf_activity_query_failure_keeps_the_run_message(arm: FakeAzureManagement) -> None:
    add_failed_copy_run(arm)
    body = {"error": {"code": "BadRequest", "message": "nope"}}
    arm.fail(400, body, times=None, path_contains="queryActivityruns")

    result = enrich_adf_pipeline_run(adf_config(arm), RG, FACTORY, "run-copy-1")

    assert result.details["failed_activities"] == []
    assert result.details["activity_runs_error"] == "ADF API: 400 BadRequest: nope"
    assert result.error_message.startswith("ADF pipeline 'pl_load_sales' Failed: Operation on")


def test_latest_failed_adf_run_picks_the_newest(arm: FakeAzureManagement) -> None:
    now = datetime.now(UTC)

    def add(run_id: str, pipeline: str, status: str, minutes_ago: int) -> None:
        run = adf_pipeline_run(
            run_id, pipeline, status, "failed", run_start=now - timedelta(minutes=minutes_ago)
        )
        arm.add_pipeline_run(RG, FACTORY, run)

    add("old-failure", "pl_load_sales", "Failed", 300)
    add("newest-failure", "pl_load_sales", "Failed", 60)
    add("middle-failure", "pl_load_sales", "Failed", 120)
    add("later-success", "pl_load_sales", "Succeeded", 30)
    add("other-pipeline", "pl_other", "Failed", 20)
    add("outside-window", "pl_load_sales", "Failed", 60 * 30)
    config = adf_config(arm)

    found = latest_failed_adf_run(
        config, RG, FACTORY, "pl_load_sales", now - timedelta(hours=6), now
    )
    none = latest_failed_adf_run(
        config, RG, FACTORY, "pl_never_fails", now - timedelta(hours=6), now
    )

    assert found == "newest-failure"
    assert none is None
    arm.page_size = 1  # one failed run a page: each page is read
    asked = len(arm.requests_to("queryPipelineRuns"))
    paged = latest_failed_adf_run(
        config, RG, FACTORY, "pl_load_sales", now - timedelta(hours=6), now
    )
    assert paged == "newest-failure"
    assert len(arm.requests_to("queryPipelineRuns")) - asked == 3
    request = arm.requests_to("queryPipelineRuns")[0]
    assert request.method == "POST"
    assert request.path.endswith(f"/factories/{FACTORY}/queryPipelineRuns")
    assert request.body["filters"] == [
        {"operand": "PipelineName", "operator": "Equals", "values": ["pl_load_sales"]},
        {"operand": "Status", "operator": "Equals", "values": ["Failed"]},
    ]
    assert request.body["orderBy"] == [{"orderBy": "RunEnd", "order": "DESC"}]


def test_an_activity_is_looked_for_in_the_newest_failed_runs_only(
    arm: FakeAzureManagement,
) -> None:
    """A busy factory's failed runs are read only as far as the runs looked in: ten."""
    now = datetime.now(UTC)
    for n in range(30):  # run-00 the newest
        run = adf_pipeline_run(f"run-{n:02}", f"pl_{n}", run_start=now - timedelta(minutes=10 + n))
        arm.add_pipeline_run(RG, FACTORY, run)
        failed = "Copy_Orders" if n in (3, 20) else "Lookup"
        arm.add_activity_runs(RG, FACTORY, run["runId"], [adf_activity_run(run, failed, "Failed")])
    arm.page_size = 2
    config = adf_config(arm)

    found = latest_adf_run_with_failed_activity(
        config, RG, FACTORY, "Copy_Orders", now - timedelta(hours=2), now
    )

    assert found == "run-03"
    assert len(arm.requests_to("queryPipelineRuns")) == 5  # ten runs, two a page
    assert len(arm.requests_to("queryActivityruns")) == 4  # run-00 to run-03


def test_latest_failed_adf_trigger_run_reads_the_newest_failure_of_the_trigger(
    arm: FakeAzureManagement,
) -> None:
    now = datetime.now(UTC)

    def add(trigger: str, status: str, minutes_ago: int, message: str = "") -> None:
        at = now - timedelta(minutes=minutes_ago)
        arm.add_trigger_run(RG, FACTORY, adf_trigger_run(trigger, status, message, at=at))

    add("tr_blob_landed", "Failed", 90, "older failure")
    add("tr_blob_landed", "Failed", 20, "Failed to start pipeline pl_ingest: parameter missing")
    add("tr_blob_landed", "Succeeded", 5)
    add("tr_other", "Failed", 2, "another trigger")
    config = adf_config(arm)

    found = latest_failed_adf_trigger_run(
        config, RG, FACTORY, "tr_blob_landed", now - timedelta(hours=2), now
    )
    none = latest_failed_adf_trigger_run(
        config, RG, FACTORY, "tr_never_fails", now - timedelta(hours=2), now
    )

    assert found is not None and none is None
    assert found.error_message.startswith("ADF trigger 'tr_blob_landed' (BlobEventsTrigger) failed")
    assert found.error_message.endswith(": Failed to start pipeline pl_ingest: parameter missing")
    assert found.details["trigger_type"] == "BlobEventsTrigger"
    request = arm.requests_to("queryTriggerRuns")[0]
    assert request.body["filters"] == [
        {"operand": "TriggerName", "operator": "Equals", "values": ["tr_blob_landed"]},
        {"operand": "Status", "operator": "Equals", "values": ["Failed"]},
    ]
    assert request.body["orderBy"] == [{"orderBy": "TriggerRunTimestamp", "order": "DESC"}]


def test_adf_invalid_token_raises(arm: FakeAzureManagement) -> None:
    add_failed_copy_run(arm)

    with pytest.raises(EnrichmentError) as caught:
        enrich_adf_pipeline_run(adf_config(arm, token="expired"), RG, FACTORY, "run-copy-1")

    assert str(caught.value) == (
        "ADF API: 401 InvalidAuthenticationToken: The access token is invalid."
    )
    assert arm.requests[0].header("Authorization") == "Bearer expired"


def test_adf_credential_failure_raises(arm: FakeAzureManagement) -> None:
    from azure.core.exceptions import ClientAuthenticationError

    class BrokenCredential:
        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            raise ClientAuthenticationError("AADSTS7000215: Invalid client secret provided.")

    config = AdfConfig(arm.subscription_id, BrokenCredential(), arm.url, timeout_seconds=2)

    with pytest.raises(EnrichmentError) as caught:
        enrich_adf_pipeline_run(config, RG, FACTORY, "run-copy-1")

    assert str(caught.value) == (
        "ADF API: authentication failed: AADSTS7000215: Invalid client secret provided."
    )
    assert arm.requests == []


def test_adf_unknown_run_raises(arm: FakeAzureManagement) -> None:
    add_failed_copy_run(arm)

    with pytest.raises(EnrichmentError, match=r"^ADF API: 404 PipelineRunNotFound"):
        enrich_adf_pipeline_run(adf_config(arm), RG, FACTORY, "no-such-run")


def test_adf_sdk_retries_a_transient_500(arm: FakeAzureManagement) -> None:
    add_failed_copy_run(arm)
    arm.fail(500, arm.error_body(500, "transient"), times=1, path_contains="/pipelineruns/")

    result = enrich_adf_pipeline_run(adf_config(arm), RG, FACTORY, "run-copy-1")

    assert result.details["error_code"] == "2200"
    assert len(arm.requests_to("/pipelineruns/run-copy-1")) == 3  # GET twice, then the query


def test_adf_throttling_is_cut_at_the_budget(arm: FakeAzureManagement) -> None:
    add_failed_copy_run(arm)
    arm.throttle(retry_after=120, times=None)

    started = time.monotonic()
    with pytest.raises(
        EnrichmentError,
        match=r"^ADF API: 429 TooManyRequests.*\(gave up retrying: its next try would start past",
    ):
        enrich_adf_pipeline_run(adf_config(arm, timeout=2), RG, FACTORY, "run-copy-1")
    assert time.monotonic() - started < 2 * 2 + 1


def test_adf_stalled_server_times_out_within_bounds(arm: FakeAzureManagement) -> None:
    add_failed_copy_run(arm)
    arm.stall(30)

    started = time.monotonic()
    with pytest.raises(EnrichmentError, match=r"^ADF API: timed out after 1s"):
        enrich_adf_pipeline_run(adf_config(arm, timeout=1), RG, FACTORY, "run-copy-1")
    assert time.monotonic() - started < 2 * 1 + 1

    started = time.monotonic()
    with pytest.raises(EnrichmentError, match=r"^ADF API: timed out after 1s"):
        now = datetime.now(UTC)
        latest_failed_adf_run(
            adf_config(arm, timeout=1), RG, FACTORY, "pl_load_sales", now - timedelta(days=1), now
        )
    assert time.monotonic() - started < 2 * 1 + 1


def test_adf_refuses_plain_http_to_a_remote_host() -> None:
    config = AdfConfig(
        subscription_id="00000000-0000-0000-0000-000000000000",
        credential=StaticTokenCredential(ARM_TOKEN),
        base_url="http://adf.example.invalid",  # azure-core refuses before any connection
        timeout_seconds=1,
    )

    with pytest.raises(EnrichmentError, match="refusing to send a bearer token over plain http"):
        enrich_adf_pipeline_run(config, RG, FACTORY, "run-copy-1")


def test_adf_credential_from_settings_builds_a_client_secret_credential() -> None:
    from azure.identity import ClientSecretCredential

    credential = adf_credential_from_settings("tenant-id", "client-id", "secret")

    assert isinstance(credential, ClientSecretCredential)


@pytest.mark.parametrize("kept", [TRACE_KEEP_CHARS, TRACE_MESSAGE_CHARS])
@pytest.mark.parametrize("cut_into", [4, len('password="') + 3])
def test_a_databricks_trace_cut_inside_a_secret_keeps_none_of_it(
    databricks: FakeDatabricks, kept: int, cut_into: int
) -> None:
    """The trace's tail is kept (8 KiB in the details, 3 KiB of it in the message); a tail that
    began inside a secret (`word="…`, or the password's last characters) kept the rest of it,
    which the redaction of the details and of the message no longer recognised without its
    key."""
    secret = "Hunter2!Notebook-Secret-9xQ"
    pair = f'password="{secret}"'
    ending = "\nSqlException: Login failed for user 'etl'. SQLSTATE: 28000"
    # A trace longer than both tails, or (for the message's) one the details keep whole.
    frames = 300 if kept == TRACE_KEEP_CHARS else 20
    lead = python_trace(frames).replace("\x1b[0;31m", "").replace("\x1b[0m", "")
    line = f"---> 12 conn = pyodbc.connect(server='db01', user='etl', {pair})\n"
    # The tail kept (its last `kept - 1` characters, after an ellipsis) starts `cut_into`
    # characters into the pair.
    filler = "y" * (kept - 1 - (len(pair) - cut_into) - len(")\n") - len(ending))
    trace = lead + line + filler + ending
    assert trace[-(kept - 1) :].startswith(pair[cut_into:])
    assert (
        len(trace) > TRACE_KEEP_CHARS if kept == TRACE_KEEP_CHARS else len(trace) < TRACE_KEEP_CHARS
    )
    databricks.add_run(job_run(run_id=7001, tasks=[task("load", 7002, "FAILED")]))
    databricks.outputs[7002] = {
        "error": "SqlException: Login failed for user 'etl'.",
        "error_trace": trace,
    }

    result = enrich_databricks_run(dbx_config(databricks), "7001")

    assert isinstance(result, Enrichment)
    # What analysis.services stores and sends on: the message and the details, redacted.
    message, details = redact(result.error_message), redact_data(result.details)
    assert message.rstrip().endswith("SQLSTATE: 28000")
    assert details["error_trace"].endswith("SQLSTATE: 28000")
    for text in (message, details["error_trace"]):
        assert secret[-10:] not in text, text[:200]


def test_a_databricks_error_cut_inside_a_url_password_keeps_none_of_it(
    databricks: FakeDatabricks,
) -> None:
    """A task's error is put in the message to its first 4 KiB. Cut before it was redacted, a
    URL's password cut before its `@host` was kept: no rule knows
    `postgresql://etl:<start of a password>` as one."""
    password = "Hunter2Notebook9xQPlanted"
    url = f"postgresql://etl:{password}@warehouse.example.com:5432/sales"
    lead = ("py4j.protocol.Py4JJavaError: An error occurred while calling o412.load. " * 80)[
        : ERROR_MESSAGE_CHARS - 1 - len("postgresql://etl:") - 9
    ]
    error = f"{lead} {url} refused the connection."
    assert error[: ERROR_MESSAGE_CHARS - 1].endswith(password[:8])
    databricks.add_run(job_run(run_id=7101, tasks=[task("load", 7102, "FAILED")]))
    databricks.outputs[7102] = {"error": error}

    result = enrich_databricks_run(dbx_config(databricks), "7101")

    assert isinstance(result, Enrichment)
    # What analysis.services stores and sends on: the message and the details, redacted.
    message, details = redact(result.error_message), redact_data(result.details)
    assert "Py4JJavaError" in message
    for text in (message, str(details)):
        assert password[:6] not in text, text[-200:]
