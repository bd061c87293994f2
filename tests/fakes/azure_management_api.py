"""A local stand-in for Azure Resource Manager's Data Factory run APIs, for tests that run the real
`azure-mgmt-datafactory` client.

    with FakeAzureManagement() as fake:
        fake.add_pipeline_run("rg", "factory", adf_pipeline_run("run-1", "load_sales", "Failed"))
        fake.add_activity_runs("rg", "factory", "run-1", [adf_activity_run(...)])
        client = DataFactoryManagementClient(credential, fake.subscription_id, base_url=fake.url)
        client.pipeline_runs.get("rg", "factory", "run-1", enforce_https=False)

Paths answered (api-version=2018-06-01 required, as ARM does; path matching is case-insensitive):
  GET  /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.DataFactory/factories/{f}
       /pipelineruns/{runId}
  POST .../factories/{f}/pipelineruns/{runId}/queryActivityruns   (RunFilterParameters body)
  POST .../factories/{f}/queryPipelineRuns                        (RunFilterParameters body)
  POST .../factories/{f}/queryTriggerRuns                         (RunFilterParameters body)
  POST .../factories/{f}/pipelines/{name}/createRun  (referencePipelineRunId, isRecovery,
       startFromFailure query parameters; answers {"runId"}; the new run is InProgress until
       `finish_run` ends it, invoked by "Manual")
A rerun (createRun with a referencePipelineRunId, or `rerun_in_studio`: ADF Studio's "Rerun from
failed activity") joins the reference run's group, as Data Factory groups recovery runs: the
same `runGroupId` (a first run's is its own run id), `isLatest` true on the new run alone.
Queries honour lastUpdatedAfter/Before, filters (Equals/NotEquals/In/NotIn), orderBy and page with
continuationToken (`page_size`). A wrong or missing bearer token answers 401
InvalidAuthenticationToken with a WWW-Authenticate header like ARM's.

Plain http: azure-core's bearer-token policy refuses to send a token to a non-https URL. The real
SDK talks to this fake only when each operation is called with `enforce_https=False` (a per-call
option that the policy moves into the pipeline context); `analysis.enrichment` passes it only for
loopback base URLs.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.http import FakeHttpService, RecordedRequest, Reply

API_VERSION = "2018-06-01"
_FACTORY = (
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.DataFactory/factories/(?P<factory>[^/]+)"
)
_PIPELINE_RUN = re.compile(_FACTORY + r"/pipelineruns/(?P<run>[^/]+)$", re.IGNORECASE)
_ACTIVITY_RUNS = re.compile(
    _FACTORY + r"/pipelineruns/(?P<run>[^/]+)/queryActivityruns$", re.IGNORECASE
)
_PIPELINE_RUNS = re.compile(_FACTORY + r"/queryPipelineRuns$", re.IGNORECASE)
_TRIGGER_RUNS = re.compile(_FACTORY + r"/queryTriggerRuns$", re.IGNORECASE)
_CREATE_RUN = re.compile(_FACTORY + r"/pipelines/(?P<pipeline>[^/]+)/createRun$", re.IGNORECASE)


def adf_time(value: datetime) -> str:
    """ADF's timestamp format: seven fractional digits and a Z."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    text = value.replace("Z", "+00:00")
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def adf_pipeline_run(
    run_id: str,
    pipeline: str,
    status: str = "Failed",
    message: str = "",
    *,
    run_start: datetime | None = None,
    duration: timedelta = timedelta(minutes=5),
    subscription_id: str = "00000000-0000-0000-0000-000000000000",
    resource_group: str = "rg-data",
    factory: str = "adf-prod",
) -> dict[str, Any]:
    """A pipeline run as GET pipelineruns/{runId} returns it."""
    start = run_start or datetime.now(UTC) - timedelta(minutes=30)
    end = start + duration
    return {
        "id": (
            f"/SUBSCRIPTIONS/{subscription_id.upper()}/RESOURCEGROUPS/{resource_group.upper()}"
            f"/PROVIDERS/MICROSOFT.DATAFACTORY/FACTORIES/{factory.upper()}/pipelineruns/{run_id}"
        ),
        "runId": run_id,
        "debugRunId": None,
        "runGroupId": run_id,
        "pipelineName": pipeline,
        "parameters": {},
        "runDimensions": {},
        "invokedBy": {
            "id": "08584927163468911858",
            "name": "DailyTrigger",
            "invokedByType": "ScheduleTrigger",
        },
        "runStart": adf_time(start),
        "runEnd": adf_time(end),
        "durationInMs": int(duration.total_seconds() * 1000),
        "status": status,
        "message": message,
        "lastUpdated": adf_time(end),
        "annotations": [],
        "runDimension": {},
        "isLatest": True,
    }


def adf_activity_run(
    pipeline_run: dict[str, Any],
    activity: str,
    status: str = "Succeeded",
    *,
    activity_type: str = "Copy",
    error_code: str = "",
    message: str = "",
    failure_type: str = "",
    offset: timedelta = timedelta(0),
    output: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An activity run as queryActivityruns returns it (succeeded ones carry an empty error)."""
    start = (_parse_time(pipeline_run["runStart"]) or datetime.now(UTC)) + offset
    end = start + timedelta(seconds=40)
    return {
        "activityRunEnd": adf_time(end),
        "activityName": activity,
        "activityRunStart": adf_time(start),
        "activityType": activity_type,
        "durationInMs": 40_000,
        "retryAttempt": None,
        "error": {
            "errorCode": error_code,
            "message": message,
            "failureType": failure_type,
            "target": activity,
            "details": "",
        },
        "activityRunId": f"{pipeline_run['runId']}-{activity}".replace(" ", "-"),
        "iterationHash": "",
        "input": {"source": {"type": "DelimitedTextSource"}},
        "linkedServiceName": "",
        "output": output or {"effectiveIntegrationRuntime": "AutoResolveIntegrationRuntime"},
        "userProperties": {},
        "pipelineName": pipeline_run["pipelineName"],
        "pipelineRunId": pipeline_run["runId"],
        "status": status,
        "recoveryStatus": "None",
        "integrationRuntimeNames": ["autoresolveintegrationruntime"],
        "executionDetails": {"integrationRuntime": [{"name": "AutoResolveIntegrationRuntime"}]},
    }


def adf_trigger_run(
    trigger: str,
    status: str = "Failed",
    message: str = "",
    *,
    at: datetime | None = None,
    trigger_type: str = "BlobEventsTrigger",
    pipelines: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A trigger run as queryTriggerRuns returns it."""
    stamp = at or datetime.now(UTC) - timedelta(minutes=5)
    return {
        "triggerRunId": f"08584{int(stamp.timestamp() * 1000)}-{trigger}",
        "triggerName": trigger,
        "triggerType": trigger_type,
        "triggerRunTimestamp": adf_time(stamp),
        "status": status,
        "message": message,
        "properties": {},
        "triggeredPipelines": pipelines or {},
        "runDimension": {},
        "dependencyStatus": {},
    }


def _arm_error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "target": None, "details": None}}


_OPERAND_FIELDS = {
    "pipelinename": "pipelineName",
    "status": "status",
    "rungroupid": "runGroupId",
    "runid": "runId",
    "activityname": "activityName",
    "activitytype": "activityType",
    "activityrunid": "activityRunId",
    "triggername": "triggerName",
}
_ORDER_FIELDS = {
    "runstart": "runStart",
    "runend": "runEnd",
    "pipelinename": "pipelineName",
    "status": "status",
    "activityname": "activityName",
    "activityrunstart": "activityRunStart",
    "activityrunend": "activityRunEnd",
    "triggername": "triggerName",
    "triggerruntimestamp": "triggerRunTimestamp",
}


class FakeAzureManagement(FakeHttpService):
    """ARM endpoints of Microsoft.DataFactory pipeline and activity runs."""

    def __init__(
        self,
        subscription_id: str = "00000000-0000-0000-0000-000000000000",
        token: str = "fake-arm-token",
        page_size: int = 100,
    ) -> None:
        super().__init__()
        self.subscription_id = subscription_id
        self.token = token
        self.page_size = page_size
        self.pipeline_runs: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        self.activity_runs: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        self.trigger_runs: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def add_pipeline_run(self, resource_group: str, factory: str, run: dict[str, Any]) -> None:
        key = (resource_group.lower(), factory.lower())
        self.pipeline_runs.setdefault(key, {})[run["runId"]] = run

    def add_activity_runs(
        self, resource_group: str, factory: str, run_id: str, runs: list[dict[str, Any]]
    ) -> None:
        key = (resource_group.lower(), factory.lower(), run_id)
        self.activity_runs.setdefault(key, []).extend(runs)

    def add_trigger_run(self, resource_group: str, factory: str, run: dict[str, Any]) -> None:
        key = (resource_group.lower(), factory.lower())
        self.pipeline_runs.setdefault(key, {})  # the factory exists
        self.trigger_runs.setdefault(key, []).append(run)

    def error_body(self, status: int, message: str) -> Any:
        codes = {429: "TooManyRequests", 500: "InternalServerError", 503: "ServiceUnavailable"}
        return _arm_error(codes.get(status, "BadRequest"), message)

    # -- routing -----------------------------------------------------------------------------
    def route(self, request: RecordedRequest) -> Reply:
        if request.header("Authorization") != f"Bearer {self.token}":
            headers = {
                "WWW-Authenticate": (
                    'Bearer authorization_uri="https://login.windows.net/tenant", '
                    'error="invalid_token", error_description="The access token is invalid."'
                )
            }
            body = _arm_error("InvalidAuthenticationToken", "The access token is invalid.")
            return 401, body, headers
        if request.param("api-version") is None:
            message = (
                "The api-version query parameter (?api-version=) is required for all requests."
            )
            return 400, _arm_error("MissingApiVersionParameter", message), {}
        if request.param("api-version") != API_VERSION:
            message = f"The api-version '{request.param('api-version')}' is invalid."
            return 400, _arm_error("InvalidApiVersionParameter", message), {}
        for pattern, method, handler in (
            (_PIPELINE_RUN, "GET", self._get_pipeline_run),
            (_ACTIVITY_RUNS, "POST", self._query_activity_runs),
            (_PIPELINE_RUNS, "POST", self._query_pipeline_runs),
            (_TRIGGER_RUNS, "POST", self._query_trigger_runs),
            (_CREATE_RUN, "POST", self._create_run),
        ):
            match = pattern.match(request.path)
            if match and request.method == method:
                if match["sub"] != self.subscription_id:
                    message = f"The subscription '{match['sub']}' could not be found."
                    return 404, _arm_error("SubscriptionNotFound", message), {}
                factory_key = (match["rg"].lower(), match["factory"].lower())
                if factory_key not in self.pipeline_runs:
                    message = (
                        f"The Resource 'Microsoft.DataFactory/factories/{match['factory']}' under "
                        f"resource group '{match['rg']}' was not found."
                    )
                    return 404, _arm_error("ResourceNotFound", message), {}
                return handler(request, match)
        message = f"No HTTP resource was found that matches the request URI '{request.path}'."
        return 404, _arm_error("NotFound", message), {}

    def finish_run(self, resource_group: str, factory: str, run_id: str, status: str) -> None:
        """End a run the fake started (Succeeded, Failed, Cancelled)."""
        run = self.pipeline_runs[(resource_group.lower(), factory.lower())][run_id]
        now = adf_time(datetime.now(UTC))
        run.update(
            status=status,
            message="" if status == "Succeeded" else "Operation failed",
            runEnd=now,
            lastUpdated=now,
        )

    def rerun_in_studio(
        self, resource_group: str, factory: str, run_id: str, status: str = "InProgress"
    ) -> dict[str, Any]:
        """A rerun of `run_id` made outside the service (ADF Studio's "Rerun from failed
        activity"): the group's latest run from now on, in `status`."""
        runs = self.pipeline_runs[(resource_group.lower(), factory.lower())]
        reference = runs[run_id]
        new_id = f"studio-rerun-{len(runs)}-{run_id}"
        where = (self.subscription_id, resource_group, factory)
        run = self._rerun_of(where, reference, new_id, reference["pipelineName"], status)
        runs[new_id] = run
        return run

    def _rerun_of(
        self,
        where: tuple[str, str, str],
        reference: dict[str, Any] | None,
        new_id: str,
        pipeline: str,
        status: str,
    ) -> dict[str, Any]:
        """A new run started now, by hand (createRun, ADF Studio), in `reference`'s group."""
        subscription_id, resource_group, factory = where
        run = adf_pipeline_run(
            new_id,
            pipeline,
            status,
            run_start=datetime.now(UTC),
            duration=timedelta(0),
            subscription_id=subscription_id,
            resource_group=resource_group,
            factory=factory,
        )
        run["invokedBy"] = {"id": new_id, "name": "Manual", "invokedByType": "Manual"}
        if status in ("InProgress", "Queued"):
            run.update(runEnd=None, durationInMs=None)
        if reference is not None:
            run["runGroupId"] = reference["runGroupId"]
            for other in self._group(reference):
                other["isLatest"] = False
        run["isLatest"] = True
        return run

    def _group(self, reference: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            run
            for runs in self.pipeline_runs.values()
            for run in runs.values()
            if run["runGroupId"] == reference["runGroupId"]
        ]

    def _create_run(self, request: RecordedRequest, match: re.Match[str]) -> Reply:
        runs = self.pipeline_runs[(match["rg"].lower(), match["factory"].lower())]
        reference = request.param("referencePipelineRunId")
        if reference is not None and reference not in runs:
            message = f"The pipeline run '{reference}' was not found."
            return 404, _arm_error("PipelineRunNotFound", message), {}
        if request.param("isRecovery") == "true" and reference is None:
            message = "Recovery mode needs referencePipelineRunId."
            return 400, _arm_error("BadRequest", message), {}
        new_id = f"rerun-{len(self.requests)}-{match['pipeline']}"
        where = (match["sub"], match["rg"], match["factory"])
        run = self._rerun_of(
            where, runs[reference] if reference else None, new_id, match["pipeline"], "InProgress"
        )
        runs[new_id] = run
        return 200, {"runId": new_id}, {}

    def _get_pipeline_run(self, request: RecordedRequest, match: re.Match[str]) -> Reply:
        run = self.pipeline_runs[(match["rg"].lower(), match["factory"].lower())].get(match["run"])
        if run is None:
            message = f"The pipeline run '{match['run']}' was not found."
            return 404, _arm_error("PipelineRunNotFound", message), {}
        return 200, run, {}

    def _query_activity_runs(self, request: RecordedRequest, match: re.Match[str]) -> Reply:
        key = (match["rg"].lower(), match["factory"].lower(), match["run"])
        runs = self.activity_runs.get(key, [])
        return self._query(request, runs, ("activityRunEnd", "activityRunStart"))

    def _query_pipeline_runs(self, request: RecordedRequest, match: re.Match[str]) -> Reply:
        runs = list(self.pipeline_runs[(match["rg"].lower(), match["factory"].lower())].values())
        return self._query(request, runs, ("lastUpdated",))

    def _query_trigger_runs(self, request: RecordedRequest, match: re.Match[str]) -> Reply:
        runs = self.trigger_runs.get((match["rg"].lower(), match["factory"].lower()), [])
        return self._query(request, runs, ("triggerRunTimestamp",))

    def _query(
        self, request: RecordedRequest, runs: list[dict[str, Any]], time_fields: tuple[str, ...]
    ) -> Reply:
        body = request.body if isinstance(request.body, dict) else {}
        after = _parse_time(body.get("lastUpdatedAfter"))
        before = _parse_time(body.get("lastUpdatedBefore"))
        if after is None or before is None:
            message = "lastUpdatedAfter and lastUpdatedBefore are required."
            return 400, _arm_error("InvalidRunFilterParameters", message), {}

        def in_window(run: dict[str, Any]) -> bool:
            stamp = next((_parse_time(run.get(f)) for f in time_fields if run.get(f)), None)
            return stamp is not None and after <= stamp <= before

        selected = [r for r in runs if in_window(r)]
        for flt in body.get("filters") or []:
            selected = [r for r in selected if _matches(r, flt)]
        for order in reversed(body.get("orderBy") or []):
            name = _ORDER_FIELDS.get(str(order.get("orderBy", "")).lower(), "")
            descending = str(order.get("order", "ASC")).upper() == "DESC"
            selected.sort(key=lambda r: str(r.get(name) or ""), reverse=descending)
        start = int(body.get("continuationToken") or 0)
        end = start + self.page_size
        page: dict[str, Any] = {"value": selected[start:end]}
        if end < len(selected):
            page["continuationToken"] = str(end)
        return 200, page, {}


def _matches(run: dict[str, Any], flt: dict[str, Any]) -> bool:
    name = _OPERAND_FIELDS.get(str(flt.get("operand", "")).lower())
    if name is None:
        return True  # operands the fake does not model do not filter
    value = str(run.get(name) or "")
    values = [str(v) for v in flt.get("values") or []]
    operator = str(flt.get("operator", "")).lower()
    if operator in ("equals", "in"):
        return value in values
    if operator in ("notequals", "notin"):
        return value not in values
    return True
