"""Culprit extraction on real error messages: the shared dev set and messages collected from
public troubleshooting pages and issue trackers (quoted with their placeholders)."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path

import pytest

from analysis.classifier import classify_error
from analysis.culprits import (
    SCAN_LIMIT,
    culprit_of_resource_id,
    extract_culprit,
    readable_culprit,
)
from analysis.redaction import redact
from tests.conftest import SHARED_FIXTURES, shared_payload
from tickets.incidents import group_key_for

DEV_SET = [
    json.loads(line)
    for line in (SHARED_FIXTURES / "errors" / "dev_errors.jsonl").read_text().splitlines()
    if line.strip()
]

# id in the shared dev set -> the culprit label it names (absent: it names no dependency).
EXPECTED_DEV = {
    "err-017": "sql-server:conuwwzj3yu5h2vcpocws1.database.windows.net",
    "err-021": "api-host:we.frontend.cloudatahub.net",
    "err-033": "databricks-cluster:1201-133137-m9sel7yu",
    "err-037": "storage:dbstorageub4vuer2lbptq",
    "err-047": "databricks-cluster:0825-053542-fuels59",
    "err-052": "cloud-quota:arm-throttling/xx",
    "err-058": "cloud-quota:publicipcountlimitreached",
    "err-077": "database-host:airflow-sqlproxy-service.default.svc.cluster.local",
    "err-085": "database-host:qa-airflow.carnijjbfa3r.eu-west-1.rds.amazonaws.com",
    "err-087": "database-host:airflow-pgbouncer.airflow",
}
# err-107, a Parquet column that cannot be converted in a file of an S3 bucket, names the bucket
# only as where its data is: the bucket worked (`_STORAGE_UNREACHABLE`), so it names no culprit.


@pytest.mark.parametrize("case", DEV_SET, ids=[c["id"] for c in DEV_SET])
def test_dev_set(case):
    culprit = extract_culprit(redact(case["message"]))
    assert (culprit.label if culprit else None) == EXPECTED_DEV.get(case["id"])


COLLECTED = [
    # Microsoft Learn Q&A, ADF linked service to Azure SQL (server given in full).
    (
        "ErrorCode=SqlFailedToConnect,'Type=Microsoft.DataTransfer.Common.Shared."
        "HybridDeliveryException,Message=Cannot connect to SQL Database: "
        "'tcp:sql-prod-01.database.windows.net,1433', Database: 'sales', User: 'etl'.",
        "sql-server:sql-prod-01.database.windows.net",
        "sales",
    ),
    # The ADF wording with the short server name, as in issue 12's storm.
    (
        "ErrorCode=SqlFailedToConnect,Message=Cannot connect to SQL Database. Please contact SQL "
        "server team for further support. Server: 'sql-prod-01', Database: 'dw', User: 'etl'.",
        "sql-server:sql-prod-01.database.windows.net",
        "dw",
    ),
    # HULFT DataSpider docs, the JDBC driver's message.
    (
        "com.microsoft.sqlserver.jdbc.SQLServerException: The TCP/IP connection to the host "
        "myserver.database.windows.net, port 1433 has failed. Error: connect timed out.",
        "sql-server:myserver.database.windows.net",
        "",
    ),
    # psycopg2 before libpq 14.
    (
        "psycopg2.OperationalError: could not connect to server: Connection refused\n\tIs the "
        'server running on host "pg-prod-01.internal" (10.0.0.5) and accepting\n\tTCP/IP '
        "connections on port 5432?",
        "database-host:pg-prod-01.internal",
        "",
    ),
    # Airflow, a connection that is not defined.
    (
        "airflow.exceptions.AirflowNotFoundException: The conn_id `postgres_dwh` isn't defined",
        "airflow-connection:postgres_dwh",
        "",
    ),
    # ADF, a self-hosted integration runtime that is offline.
    (
        "ErrorCode=UserErrorSelfHostedIRNotOnline: The Integration Runtime 'SHIR-Prod' is offline "
        "or not registered.",
        "integration-runtime:shir-prod",
        "",
    ),
    # Key Vault behind a linked service.
    (
        "Failed to get the secret from Azure Key Vault, secretName: sql-password, "
        "baseUrl: https://kv-data-prod.vault.azure.net/. The operation timed out.",
        "key-vault:kv-data-prod.vault.azure.net",
        "",
    ),
    # Event Hubs through the Kafka protocol.
    (
        "org.apache.kafka.common.errors.TimeoutException: Topic orders not present in metadata "
        "after 60000 ms. bootstrap.servers = [evh-ingest.servicebus.windows.net:9093]",
        "eventhubs-namespace:evh-ingest.servicebus.windows.net",
        "",
    ),
    (
        'KafkaError{code=_TRANSPORT,val=-195,str="Failed to get metadata: Local: Broker '
        'transport failure"} bootstrap_servers="kafka-01.internal:9092"',
        "kafka:kafka-01.internal",
        "",
    ),
    # ABFS path on a storage account.
    (
        'Operation failed: "This request is not authorized to perform this operation.", 403, '
        "GET, abfss://raw@dlsprod.dfs.core.windows.net/sales/2024/",
        "storage:dlsprod",
        "raw",
    ),
    # ADF's ADLS Gen2 error: the account and file system as fields, no URL.
    (
        "ErrorCode=AdlsGen2OperationFailed,'Type=Microsoft.DataTransfer.Common.Shared."
        "HybridDeliveryException,Message=ADLS Gen2 operation failed for: Operation returned an "
        "invalid status code 'Forbidden'. Account: 'dlsprod'. FileSystem: 'curated'. Path: "
        "'sales/2024/orders.parquet'. ErrorCode: 'AuthorizationPermissionMismatch'.",
        "storage:dlsprod",
        "curated",
    ),
    # Azure compute quota (Databricks cluster launch).
    (
        "Operation could not be completed as it results in exceeding approved Total Regional "
        "Cores quota. Additional details - Deployment Model: Resource Manager, Location: eastus, "
        "Current Limit: 10",
        "cloud-quota:total-regional-cores-quota/eastus",
        "",
    ),
    # requests against an API.
    (
        "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.partner.example.com', "
        "port=443): Max retries exceeded with url: /v2/orders",
        "api-host:api.partner.example.com",
        "",
    ),
    # Databricks instance pool.
    (
        "INSTANCE_POOL_MAX_CAPACITY_REACHED: instance pool 0101-120000-abcd12-pool-xyz12345 "
        "has reached its maximum capacity",
        "databricks-pool:0101-120000-abcd12-pool-xyz12345",
        "",
    ),
]


@pytest.mark.parametrize(("message", "label", "detail"), COLLECTED)
def test_collected_messages(message, label, detail):
    culprit = extract_culprit(redact(message))
    assert culprit is not None
    assert culprit.label == label
    assert culprit.detail == detail


def test_a_message_naming_nothing_has_no_culprit():
    assert extract_culprit("KeyError: 0") is None
    assert extract_culprit("") is None
    assert extract_culprit("See https://learn.microsoft.com/azure/data-factory/") is None


def test_azure_monitor_alert_culprit_is_its_target_resource():
    body = shared_payload("azure_common_metric_dynamic_fired.json")
    from integrations.parsers.azure_monitor import parse_azure_monitor

    event = parse_azure_monitor(body)
    culprit = extract_culprit(event.error_message, event.resource, source="azure-monitor")
    # A storage account alert joins the failures that name the account.
    assert culprit is not None and culprit.label == "storage:test-storageaccount"


def test_an_alert_on_several_resources_names_the_culprit_they_share_else_none():
    """It was blamed on its first target: an alert on five VMs joined the incident of the
    first VM alone."""
    from integrations.parsers.azure_monitor import parse_azure_monitor

    body = shared_payload("azure_common_metric_dynamic_fired.json")
    essentials = body["data"]["essentials"]
    group = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg/providers/"

    def culprit_of(*targets: str) -> str:
        essentials["alertTargetIDs"] = [group + target for target in targets]
        event = parse_azure_monitor(body)
        culprit = extract_culprit(event.error_message, event.resource, source="azure-monitor")
        return culprit.label if culprit else ""

    assert culprit_of("Microsoft.Compute/virtualMachines/vm-01") == (
        f"azure-resource:{group.lower()}microsoft.compute/virtualmachines/vm-01"
    )
    vms = [f"Microsoft.Compute/virtualMachines/vm-0{n}" for n in range(1, 6)]
    assert culprit_of(*vms) == ""
    # A SQL server and its databases are one culprit, the server.
    server = "Microsoft.Sql/servers/sql-prod-01"
    assert culprit_of(server, f"{server}/databases/dw", f"{server}/databases/mart") == (
        "sql-server:sql-prod-01.database.windows.net"
    )
    assert culprit_of(server, "Microsoft.Sql/servers/sql-prod-02") == ""


def test_an_alert_rules_label_reads_as_its_name():
    rule = (
        "/subscriptions/11111111-1111-1111-1111-111111111111/resourcegroups/rg/providers/"
        "microsoft.insights/metricalerts/vm-cpu-high"
    )
    assert readable_culprit(f"alert-rule:{rule}") == "Azure alert rule vm-cpu-high"
    assert readable_culprit("alert-rule:vm-cpu-high") == "Azure alert rule vm-cpu-high"


def test_known_resource_types_map_onto_the_key_their_failures_give():
    sql = culprit_of_resource_id(
        "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg/providers/"
        "Microsoft.Sql/servers/SQL-Prod-01/databases/dw"
    )
    assert sql is not None
    assert (sql.label, sql.detail) == ("sql-server:sql-prod-01.database.windows.net", "dw")
    other = culprit_of_resource_id(
        "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg/providers/"
        "Microsoft.Web/sites/my-func"
    )
    assert other is not None and other.kind == "azure-resource"
    assert other.key.endswith("/microsoft.web/sites/my-func")
    assert culprit_of_resource_id("not a resource id") is None


def test_a_resource_id_ending_a_sentence_leaves_its_full_stop():
    """Azure names never end with a period: the one after an id at the end of a sentence is
    the sentence's, and the culprit is the same one the id alone gives."""
    resource_id = (
        "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg/providers/"
        "Microsoft.Web/sites/my-func"
    )
    stated = extract_culprit(f"The call was refused by the function app {resource_id}.")
    assert stated is not None
    assert stated == culprit_of_resource_id(resource_id)


def test_a_key_never_carries_a_secret():
    message = (
        "Cannot connect to SQL Database: 'sql-prod-01.database.windows.net'. Connection string: "
        "Server=tcp:sql-prod-01.database.windows.net;User ID=etl;Password=Hunter2Secret!; "
        "blob https://acct01.blob.core.windows.net/landing/f.csv?sv=2020&sig=AbCdSecretSig%3D"
    )
    culprit = extract_culprit(redact(message))
    assert culprit is not None
    assert "hunter2" not in culprit.display.lower()
    assert "abcdsecretsig" not in culprit.display.lower()


ADVERSARIAL = {
    "letters": "a" * (1 << 20),
    "dotted": "a." * (1 << 19),
    "quotes": "server '" * (1 << 17),
    "cluster-like": "1234-123456-" * (1 << 16),
    "schemes": "https://" * (1 << 17),
    "suffixes": ("a" * 300 + ".vault.azure.netx") * 3000,
    "connection strings": "Server=" * (1 << 17),
}


@pytest.mark.parametrize("text", ADVERSARIAL.values(), ids=list(ADVERSARIAL))
def test_bounded_on_a_mebibyte(text):
    """Not a benchmark: a guard against a catastrophic pattern, whose cost on these inputs
    would be minutes, not the fraction of a second the linear ones take."""
    assert len(text) >= SCAN_LIMIT
    started = time.perf_counter()
    extract_culprit(text)
    assert time.perf_counter() - started < 2.0


def test_never_raises_on_odd_input():
    assert extract_culprit(None, None) is None  # type: ignore[arg-type]
    assert extract_culprit("x", {"resource_id": 5}, source="azure-monitor") is None


JOB_CLUSTER_LOST = (
    "Unexpected failure while waiting for the cluster ({cluster}) to be ready: Cluster "
    "{cluster} is in unexpected state Terminated: DRIVER_UNREACHABLE(SERVICE_FAULT): Driver is "
    "unreachable"
)
JOB_CLUSTER_QUOTA = (
    "Cluster '{cluster}' was terminated. Reason: CLOUD_PROVIDER_LAUNCH_FAILURE (CLOUD_FAILURE). "
    "Parameters: azure_error_code:QuotaExceeded, azure_error_message:Operation could not be "
    "completed as it results in exceeding approved standardDSv3Family Cores quota. Additional "
    "details - Deployment Model: Resource Manager, Location: eastus, Current Limit: 350"
)
JOB_CLUSTER_SERVICE_FAULT = (
    "Error: {cluster} is not able to transition from TERMINATED to RUNNING: Communication lost. "
    "Termination info: code: COMMUNICATION_LOST, type: SERVICE_FAULT, parameters: map[]"
)


TWO_JOB_CLUSTERS = ("1207-145501-abcd1234", "1207-145502-efgh5678")
WORKSPACE_GIVEN = {"workspace_id": "1234567890123456"}


@pytest.mark.parametrize(
    ("message", "resource", "labels"),
    [
        # Each run's job cluster differs: the workspace its notification names is the cause.
        (JOB_CLUSTER_LOST, WORKSPACE_GIVEN, {"databricks-workspace:1234567890123456"}),
        (JOB_CLUSTER_SERVICE_FAULT, WORKSPACE_GIVEN, {"databricks-workspace:1234567890123456"}),
        # A reason named by its type alone, as the API's JSON writes it.
        (
            'Cluster {cluster} was terminated: "termination_reason": {{"code": '
            '"INSTANCE_POOL_CLUSTER_FAILURE", "type": "CLOUD_FAILURE"}}',
            WORKSPACE_GIVEN,
            {"databricks-workspace:1234567890123456"},
        ),
        # Else the workspace host its error names (an Azure host by the workspace id it
        # embeds, the key the notifications give), else each cluster as before.
        (
            JOB_CLUSTER_LOST + " (https://adb-1234567890123456.7.azuredatabricks.net/#job/1)",
            {},
            {"databricks-workspace:1234567890123456"},
        ),
        (
            JOB_CLUSTER_LOST + " (https://dbc-a1b2c3d4-e5f6.cloud.databricks.com/#job/1)",
            {},
            {"databricks-workspace:dbc-a1b2c3d4-e5f6.cloud.databricks.com"},
        ),
        (
            JOB_CLUSTER_LOST,
            {"workspace_id": "unknown"},
            {f"databricks-cluster:{cluster}" for cluster in TWO_JOB_CLUSTERS},
        ),
        # A launch refused by a quota: the quota in its region, whatever the workspace.
        (JOB_CLUSTER_QUOTA, WORKSPACE_GIVEN, {"cloud-quota:quotaexceeded/eastus"}),
    ],
)
def test_a_cluster_the_platform_terminated_blames_what_the_jobs_share(message, resource, labels):
    found = [
        extract_culprit(redact(message.format(cluster=cluster)), resource, source="databricks")
        for cluster in TWO_JOB_CLUSTERS
    ]
    assert {culprit.label if culprit else None for culprit in found} == labels


@pytest.mark.parametrize(
    "message",
    [
        # The reason's type says the user's own setup terminated it, whatever else it says.
        "Cluster '{cluster}' was terminated. Reason: INIT_SCRIPT_FAILURE (CLIENT_ERROR). "
        "Parameters: databricks_error_message:Cluster scoped init script failed; driver is "
        "unreachable",
        "Cluster '{cluster}' was terminated. Reason: CLOUD_PROVIDER_LAUNCH_FAILURE "
        "(CLIENT_ERROR). Parameters: azure_error_code:RequestDisallowedByPolicy",
        "Error: {cluster} is not able to transition from TERMINATED to RUNNING. Termination "
        "info: code: BOOTSTRAP_TIMEOUT, type: CLIENT_ERROR, parameters: map[]",
        # The reason as the API's JSON, a Python dict and the SDK's repr write it.
        'Cluster {cluster} was terminated: "termination_reason": {{"code": '
        '"CLOUD_PROVIDER_LAUNCH_FAILURE", "type": "CLIENT_ERROR", "parameters": '
        '{{"azure_error_code": "RequestDisallowedByPolicy"}}}}',
        "Cluster {cluster} was terminated: {{'code': 'DRIVER_UNREACHABLE', 'type': "
        "'CLIENT_ERROR'}}",
        "Cluster {cluster} was terminated: TerminationReason(code=<TerminationReasonCode."
        "CLOUD_PROVIDER_LAUNCH_FAILURE: 'CLOUD_PROVIDER_LAUNCH_FAILURE'>, parameters={{}}, "
        "type=<TerminationReasonType.CLIENT_ERROR: 'CLIENT_ERROR'>)",
        # A customer's VNet: its NSG or its too small subnet, not the platform.
        "Cluster '{cluster}' was terminated. Reason: NETWORK_CONFIGURATION_FAILURE. "
        "Parameters: azure_error_message:NSG denies outbound traffic to the control plane",
        "Cluster '{cluster}' was terminated. Reason: SUBNET_EXHAUSTED_FAILURE",
    ],
)
def test_a_cluster_terminated_for_the_users_own_reason_stays_the_culprit(message):
    found = {
        extract_culprit(
            redact(message.format(cluster=cluster)), WORKSPACE_GIVEN, source="databricks"
        )
        for cluster in TWO_JOB_CLUSTERS
    }
    assert {culprit.label if culprit else None for culprit in found} == {
        f"databricks-cluster:{cluster}" for cluster in TWO_JOB_CLUSTERS
    }


ADF_NOTEBOOK_NOT_FOUND = (  # tests/analysis/thread_errors_24.jsonl r25-001, as ADF words it
    "The notebook doesn't exist. Verify the notebook and its path in the activity settings "
    "exist, and then try again.\nError code\n3204\nTroubleshooting guide\nFailure type\nUser "
    "configuration issue\nDetails\nDatabricks execution failed with error state: InternalError, "
    "error message: Notebook not found: /Path/To/NonExistent/Notebook Name. For more details "
    "please check the run page url: https://adb-0000000000000000.azuredatabricks.net/"
    "?o=000000000000000#job/1020238042942886/run/6685."
)


@pytest.mark.parametrize(
    "message",
    [
        ADF_NOTEBOOK_NOT_FOUND,
        # The link alone, a fragment or a page selector after the host.
        "ZeroDivisionError: division by zero (run: https://adb-1234567890123456.7."
        "azuredatabricks.net/#job/11/run/3)",
        "ZeroDivisionError: division by zero at https://dbc-a1b2c3d4-e5f6.cloud.databricks.com/"
        "?o=1234567890123456#job/11/run/3",
        # The host the SDK is configured with (dev set err-030, unredacted).
        "PermissionDenied: User a@b.c does not have View permissions on job 750350742608178. "
        "Config: host=https://adb-1234567890123456.7.azuredatabricks.net, auth_type=pat",
        # The workspace answered a bad request (tests/analysis/audit_errors.jsonl audit-175).
        "HTTPError: 400 Client Error: Bad Request for url: https://adb-1234.5.azuredatabricks.net"
        "/api/2.1/jobs/runs/submit  Response from server:  { 'error_code': "
        "'INVALID_PARAMETER_VALUE', 'message': 'Node type Standard_DS99_v9 is not supported.'}",
    ],
)
def test_a_workspace_named_only_where_the_run_is_or_answering_a_bad_request_is_no_culprit(
    message,
):
    assert extract_culprit(redact(message), source="adf") is None


@pytest.mark.parametrize(
    "message",
    [
        # The workspace's API unreachable (thread_errors_25.jsonl r26-020).
        "HTTPSConnectionPool(host='adb-6473457167070464.4.azuredatabricks.net', port=443): Max "
        "retries exceeded with url: /sql/1.0/warehouses/0866f61ebc49d20f (Caused by "
        "NewConnectionError(': Failed to establish a new connection: [Errno -2] Name or service "
        "not known'))",
        # A call of its API timing out (thread_errors_23.jsonl r24-035, an Azure host).
        'Error: cannot create cluster: Get "https://adb-6473457167070464.4.azuredatabricks.net/'
        'api/2.0/clusters/get?cluster_id=XXX": context deadline exceeded (Client.Timeout '
        "exceeded while awaiting headers)",
        # A cluster the platform terminated: the run page link says which workspace.
        "Cluster 1207-145501-abcd1234 is in unexpected state Terminated: "
        "DRIVER_UNREACHABLE(SERVICE_FAULT): Driver is unreachable. For more details please "
        "check the run page url: https://adb-6473457167070464.4.azuredatabricks.net/"
        "?o=6473457167070464#job/1/run/2.",
    ],
)
def test_a_workspace_that_failed_is_still_the_culprit(message):
    culprit = extract_culprit(redact(message), source="adf")
    assert culprit is not None and culprit.label == "databricks-workspace:6473457167070464"


ANALYSIS = Path(__file__).resolve().parent

# Every group key two or more distinct real messages of the corpora (tests/analysis/*.jsonl and
# the shared dev set) share, with their ids: what would page once for all of them. Each was
# judged one cause: the same host or server unreachable, slow or throttling, the same account's
# access refused, the same connection missing. A documentation link (sqlalche.me,
# cloud.google.com), a run's page, a storage path holding bad data, a host that answered a bad
# request and "exceeded its quota" grouped failures that were not one problem.
SHARED_CAUSES = {
    "api-host:api.vendor.example.com|unavailable": {"audit-119", "audit-126", "ho-068"},
    "api-host:api.partner-feed.io|unavailable": {"audit-001", "audit-142"},
    "api-host:pypi.org|unavailable": {"audit-013", "audit-437"},
    "api-host:graph.microsoft.com|unavailable": {"audit-127", "ho-071"},
    "api-host:api.vendor.com|unavailable": {"audit-414", "audit-418"},
    "api-host:api.fabric.microsoft.com|unavailable": {"r12-037", "r35-006"},
    "api-host:api.powerbi.com|unavailable": {"r16-026", "r39-001"},
    "api-host:management.azure.com|unavailable": {"r26-010", "r35-007"},
    # A 503, a deadline and a per-object rate limit (410) of Google's APIs: the first two may
    # be one outage; the third, its own object's limit, is not, and is left grouped with them
    # (the host and the class are all the message gives).
    "api-host:www.googleapis.com|unavailable": {"r3-037", "r7-039", "r10-024"},
    "storage:stlake|AuthenticationError": {"audit-265", "audit-449", "ho-044"},
    "airflow-connection:snowflake_prod|ConfigurationError": {"audit-166", "ho-091"},
    "database-host:acme.snowflakecomputing.com|AuthenticationError": {"audit-262", "audit-348"},
}


def test_real_messages_share_a_group_key_only_where_they_share_a_cause():
    files = [*sorted(ANALYSIS.glob("*.jsonl")), SHARED_FIXTURES / "errors" / "dev_errors.jsonl"]
    ids_by_message: dict[str, str] = {}
    for path in files:
        for line in path.read_text().splitlines():
            case = json.loads(line) if line.strip() else {}
            if isinstance(case.get("message"), str):
                ids_by_message.setdefault(case["message"], case["id"])
    grouped: dict[str, set[str]] = defaultdict(set)
    for message, case_id in ids_by_message.items():
        text = redact(message)
        culprit = extract_culprit(text)
        if culprit is not None:
            key = group_key_for(culprit.label, classify_error(text).error_type, "adf")
            grouped[key].add(case_id)
    assert {key: ids for key, ids in grouped.items() if len(ids) > 1} == SHARED_CAUSES
