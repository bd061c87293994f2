"""`manage.py rca_specificity`: annotated messages through redaction, classification and the
rule RCA, counting the RCAs that name the cause each message states."""

from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import SHARED_FIXTURES

HERE = Path(__file__).resolve().parent
DEV_SET = SHARED_FIXTURES / "errors" / "dev_errors.jsonl"
ANNOTATIONS = HERE / "specificity.jsonl"


def _run(*args: str) -> str:
    out = StringIO()
    call_command("rca_specificity", *args, stdout=out)
    return out.getvalue()


@pytest.mark.skipif(not DEV_SET.exists(), reason="shared dev set not present")
def test_every_dev_set_message_is_annotated_and_its_rca_names_the_cause() -> None:
    ids = {json.loads(line)["id"] for line in DEV_SET.read_text().splitlines()}
    annotated = {json.loads(line)["id"] for line in ANNOTATIONS.read_text().splitlines()}
    assert ids == annotated
    output = _run(str(DEV_SET), "--annotations", str(ANNOTATIONS))
    assert "MISS" not in output
    assert f"names the cause: {len(ids)}/{len(ids)} (100%)" in output


def test_a_miss_is_listed_with_what_the_rca_lacks(tmp_path: Path) -> None:
    messages = tmp_path / "messages.jsonl"
    messages.write_text(
        "\n".join(
            json.dumps(record)
            for record in (
                {
                    "id": "named",
                    "platform": "airflow",
                    "message": "NameError: name 'days_ago' is not defined",
                    "names": ["days_ago"],
                },
                {
                    "id": "missed",
                    "platform": "airflow",
                    "message": "KeyError: 'region'",
                    "names": ["warehouse_id | warehouse"],
                },
                {"id": "unannotated", "message": "Job execution failed."},
            )
        )
    )
    output = _run(str(messages))
    assert "MISS missed [CodeError] lacks ['warehouse_id | warehouse']" in output
    assert "MISS named" not in output
    assert "names the cause: 1/2 (50%)" in output


def test_bad_input_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "a", "message": "x"}\nnot json\n')
    with pytest.raises(CommandError, match=r"broken.jsonl:2: not valid JSON"):
        _run(str(broken))
    unannotated = tmp_path / "plain.jsonl"
    unannotated.write_text('{"id": "a", "message": "x"}\n')
    with pytest.raises(CommandError, match="no message has an annotation"):
        _run(str(unannotated))
    with pytest.raises(CommandError, match="cannot read"):
        _run(str(tmp_path / "missing.jsonl"))


def _named(messages: str, annotations: str) -> tuple[int, int]:
    """How many RCAs of a set name the cause, of how many."""
    output = _run(str(HERE / messages), "--annotations", str(HERE / annotations))
    figure = re.search(r"names the cause: (\d+)/(\d+)", output)
    assert figure is not None, output
    return int(figure.group(1)), int(figure.group(2))


def test_held_out_messages_annotated_blind_stay_named() -> None:
    """115 held-out messages (those that state a cause), annotated without looking at their
    RCAs and not tuned against: 109 named at the time of writing (97 before the RCA read the
    message)."""
    named, total = _named("heldout_errors.jsonl", "specificity_heldout.jsonl")
    assert total == 115
    assert named >= 109


@pytest.mark.parametrize(
    ("messages", "annotations", "size", "floor"),
    [
        # Named when collected -> since the rules for the families each exposed: 50 -> 51,
        # 54 -> 58, 49 -> 50, 46 -> 47, 38 -> 40, 39 -> 45, 39 -> 43, 39 -> 43, 36 -> 42,
        # 41 -> 43, 40 -> 43, 38 -> 41, 36 -> 37, 38 -> 39, 39 -> 40, 36 -> 37, 31 -> 34,
        # 33 -> 36, 33 -> 38, 35 -> 40, 30 -> 30, 23 -> 25, 20 -> 22, 29 -> 32, 33 -> 35,
        # 38 -> 39, 38 -> 40, 39 -> 40, 38 -> 38, 38 -> 40, 40 -> 40, 38 -> 38, 39 -> 40,
        # 40 -> 40, 37 -> 37, 31 -> 33, 26 -> 28, 29 -> 29, 29 -> 29, 25 -> 29, 26 -> 27
        # (tests/analysis/test_fresh_errors.py, THREAD_SETS).
        ("thread_errors.jsonl", "specificity_threads.jsonl", 51, 50),
        # 59 since round 11: r3-016's Parquet dictionary of another type than the reader's.
        ("thread_errors_2.jsonl", "specificity_threads_2.jsonl", 59, 59),
        ("thread_errors_3.jsonl", "specificity_threads_3.jsonl", 55, 50),
        ("thread_errors_4.jsonl", "specificity_threads_4.jsonl", 48, 47),
        ("thread_errors_5.jsonl", "specificity_threads_5.jsonl", 40, 40),
        ("thread_errors_6.jsonl", "specificity_threads_6.jsonl", 45, 45),
        ("thread_errors_7.jsonl", "specificity_threads_7.jsonl", 43, 43),
        # Round 8: 39 -> 43 (r9-009, a Kafka SASL failure, quotes the broker line before the
        # mechanism it names).
        ("thread_errors_8.jsonl", "specificity_threads_8.jsonl", 44, 43),
        # Round 9: 36 -> 42 (the executor's exit code, the Azure RBAC action, an unassigned
        # managed identity, a count limit stated as "which is N", SQL Server's "not found or
        # not accessible", pyarrow's expected schema).
        ("thread_errors_9.jsonl", "specificity_threads_9.jsonl", 42, 42),
        # Round 10: 41 -> 43 (an Elasticsearch mapping conflict's field, a Lambda invoke Step
        # Functions could not confirm).
        ("thread_errors_10.jsonl", "specificity_threads_10.jsonl", 43, 43),
        # Round 11: 40 -> 43 (a Dataflow worker that lost contact, a refused port whose host is
        # masked, a Parquet dictionary of another type than the reader's). Rules since also say
        # what the classification alone left generic: Flink task slots (not a Kubernetes node),
        # a producer's send queue, checkpoint timeouts and stalled jobs, the Hive metastore's
        # address, a file system scheme's connector, a decode error's codec and byte.
        ("thread_errors_11.jsonl", "specificity_threads_11.jsonl", 43, 43),
        # Round 12: 38 -> 41 (an Azure AI Search field over the 32766-byte term limit, an SSIS
        # OLE DB record's own description, IIS's "Bad Request - Invalid URL"). Rules since also
        # say what the classification alone left generic: Event Grid's validation handshake
        # and its endpoint, a missing MLflow run or registered model by name.
        ("thread_errors_12.jsonl", "specificity_threads_12.jsonl", 41, 41),
        # Round 13: 36 -> 37 (a managed identity endpoint that gave no token, read as a
        # timeout from its retry budget). Rules since also say what the classification alone
        # left generic: a missing or unloadable Oracle Client library, an unresolved TNS alias,
        # an SSH host key the client does not trust, a missing Kerberos ticket, a full Oracle
        # tablespace; a traceback ending in a bare exception name is quoted by that name.
        ("thread_errors_13.jsonl", "specificity_threads_13.jsonl", 37, 37),
        # Round 14: 38 -> 39 (pip's conflicting requirements, named from "The conflict is
        # caused by:"). Rules since also say what the classification alone left generic: a
        # Delta, Iceberg or delta-rs write conflict as another writer's commit (the exception,
        # what it says conflicted, the winning commit's operation), Spark finding no files to
        # infer a schema from, a Parquet column read as another physical type, pyarrow's and
        # SQL Server's type pairs.
        ("thread_errors_14.jsonl", "specificity_threads_14.jsonl", 39, 39),
        # Round 15: 39 -> 40 (pyarrow's "Parquet magic bytes not found in footer", read as a
        # delimiter or quoting problem). Rules since also say what the classification alone
        # left generic: an Azure Function activity's 404 (an empty function name or a route the
        # app does not serve), an image a registry says is not found, a dbt or Dataform
        # reference by its node id.
        ("thread_errors_15.jsonl", "specificity_threads_15.jsonl", 40, 40),
        # Round 16: 36 -> 37 (a UNC share "network path was not found", read as missing input
        # data). Rules since also say what the classification alone left generic: an Airflow
        # SLA miss by its late and blocking tasks, the share and host a network path names, a
        # Fabric capacity's Spark compute in use (HTTP 430, not a 429).
        ("thread_errors_16.jsonl", "specificity_threads_16.jsonl", 37, 37),
        # Round 17: 31 -> 34 (a KeyError inside Glue's JSON-escaped traceback, DynamoDB
        # Streams' "Rate exceeded" under a claimed 429, BigQuery's CSV line with fewer columns
        # than the table). Rules since also say which value Athena could not cast, and a
        # throttle answered without a 429 is no longer called one.
        ("thread_errors_17.jsonl", "specificity_threads_17.jsonl", 34, 34),
        # Round 18: 33 -> 36 (the column in Salesforce's "No such column 'X' on entity",
        # "handshake_failure" where a Db2 driver wraps it in a communication error, FTP's reply
        # 550). Rules since also name the block and file HDFS could not read.
        ("thread_errors_18.jsonl", "specificity_threads_18.jsonl", 36, 36),
        # Round 19: 33 -> 38 (the document id Elasticsearch already held, the column Spectrum
        # could not read, MySQL's "Row size too large (> 8126)", the field BigQuery could not
        # write a timestamp to, Arrow's offset overflow, all past the quoted excerpt). Rules
        # since also name the constraint of a foreign key violation.
        ("thread_errors_19.jsonl", "specificity_threads_19.jsonl", 38, 38),
        # Round 20: 35 -> 40 (the range key over DynamoDB's key size limit, the table an
        # over-long value went to (Airflow's xcom), the tenant Entra ID could not find, the
        # server and database of a Power BI source without credentials, a semantic model's
        # default connection without explicit credentials).
        ("thread_errors_20.jsonl", "specificity_threads_20.jsonl", 40, 40),
        # Round 21: 30 of its 40 state a specific thing, all 30 named when collected.
        ("thread_errors_21.jsonl", "specificity_threads_21.jsonl", 30, 30),
        # Round 22: 25 of its 40 state a specific thing, 23 named when collected (a full SQL
        # Server filegroup's object and database, a BigQuery table's missing field).
        ("thread_errors_22.jsonl", "specificity_threads_22.jsonl", 25, 25),
        # Round 23: 22 of its 40 state a specific thing, 20 named when collected (the property
        # of an ADF payload that could not be converted, the scheduler's other reasons for
        # placing a pod on no node).
        ("thread_errors_23.jsonl", "specificity_threads_23.jsonl", 22, 22),
        # Round 24: 32 of its 40 state a specific thing, 29 named when collected (a notebook
        # path with a space, the streaming query two runs shared, the log retention that cut a
        # Delta log).
        ("thread_errors_24.jsonl", "specificity_threads_24.jsonl", 32, 32),
        # Round 25: 36 of its 40 state a specific thing, 33 named when collected (an OAuth token
        # endpoint's error_description, an ADF chain under a single-quoted 'message', and a
        # proxy's "400 Bad Request" before Snowflake's "Failed to connect", still unnamed).
        ("thread_errors_25.jsonl", "specificity_threads_25.jsonl", 36, 35),
        # Round 26: 39 of its 40 state a specific thing, 38 named when collected (a YARN
        # container over its 'PHYSICAL' memory limit, whose usage the quote cut off).
        ("thread_errors_26.jsonl", "specificity_threads_26.jsonl", 39, 39),
        # Round 27: all 40 state a specific thing, 38 named when collected (a Delta table read
        # as CSV, and a Delta data file gone from storage whose name the quote cut off).
        ("thread_errors_27.jsonl", "specificity_threads_27.jsonl", 40, 40),
        # Round 28: all 40 state a specific thing, 39 named when collected (EMR Serverless' job
        # whose "Last few exceptions: IndentationError" the quote cut off).
        ("thread_errors_28.jsonl", "specificity_threads_28.jsonl", 40, 40),
        # Round 29: 38 of the 40 state a specific thing (not a Spark application that "finished
        # with failed status", nor a task that exited on SIGABRT), all 38 named when collected.
        ("thread_errors_29.jsonl", "specificity_threads_29.jsonl", 38, 38),
        # Round 30: all 40 state a specific thing, 38 named when collected (the SharePoint
        # connector's failed access token, quoted as its unfilled "%message;", and a Glue job's
        # parameter GlueVersion, cut off after "Parameter validation failed:").
        ("thread_errors_30.jsonl", "specificity_threads_30.jsonl", 40, 40),
        # Round 31: all 40 state a specific thing, all 40 named when collected (most only in the
        # error the RCA quotes: 2/40 in its own words then, 5/40 since the rules for a result
        # over a size cap, a log server's secret key and a session's missing database).
        ("thread_errors_31.jsonl", "specificity_threads_31.jsonl", 40, 40),
        # Round 32: all 40 state a specific thing, 38 named when collected and after (7/40 in the
        # RCA's own words both times, with the Celery broker URL's transport named instead of a
        # KeyError's key). Not named: an Airflow executor's state mismatch (Unknown) and a wheel
        # library's URI, past the quoted error's cut.
        ("thread_errors_32.jsonl", "specificity_threads_32.jsonl", 40, 38),
        # Round 33: all 40 state a specific thing, 39 named when collected (10/40 in the RCA's own
        # words), 40 since an ADF expression's property is named when the expression quotes
        # strings of its own or is named by its activity (12/40 in its own words).
        ("thread_errors_33.jsonl", "specificity_threads_33.jsonl", 40, 40),
        # Round 34: all 40 state a specific thing, 40 named when collected (8/40 in the RCA's own
        # words, the rest by the error it quotes); 13/40 in its own words since a DAG file
        # processor's timeout, a Celery worker's lost broker, an auth token whose signature does
        # not verify or that expired and librdkafka's full local queue are explained as such.
        ("thread_errors_34.jsonl", "specificity_threads_34.jsonl", 40, 40),
        # Round 35: 37 of its 40 state a specific thing, all 37 named when collected (11/37 in
        # the RCA's own words, the rest by the error it quotes); 12/37 in its own words since a
        # Delta log failing its integrity checks is explained as such (rule delta_log_corrupt).
        ("thread_errors_35.jsonl", "specificity_threads_35.jsonl", 37, 37),
        # Round 36: 34 of its 40 state a specific thing, 31 named when collected (7/34 in the
        # RCA's own words, the rest by the error it quotes); 33/34 since a setting a service
        # needs left unset and a refresh's source tables missing or denied are explained as such
        # (rules required_setting_unset and source_missing_or_denied; 11/34 in its own words).
        # Left: a Power BI refresh's "Not a legal OleAut date", quoted only up to the
        # "transient issue" sentence before it.
        ("thread_errors_36.jsonl", "specificity_threads_36.jsonl", 34, 33),
        # Round 37: 29 of its 32 state a specific thing, 26 named when collected (6/29 in the
        # RCA's own words); 28/29 since a Power Query step's "Expression.Error" and a stored
        # connection's OAuth token that could not be refreshed are explained as such (rules
        # power_query_expression and oauth_refresh_failed; 9/29 in its own words). Left: a Cosmos
        # DB change feed listener's gateway request timeout, read as the 503 it comes with.
        ("thread_errors_37.jsonl", "specificity_threads_37.jsonl", 29, 28),
        # Round 38: 29 of its 32 state a specific thing, all 29 named when collected (5/29 in the
        # RCA's own words, the others by the error it quotes); the round changed classes, not RCAs.
        ("thread_errors_38.jsonl", "specificity_threads_38.jsonl", 29, 29),
        # Round 39: 29 of its 32 state a specific thing, all 29 named when collected (15/29 in
        # the RCA's own words, the others by the error it quotes); 19/29 in its own words after
        # the rules workspace_without_capacity, logical_decoding_disabled and
        # kafka_client_not_constructed.
        ("thread_errors_39.jsonl", "specificity_threads_39.jsonl", 29, 29),
        # Round 40: 29 of its 32 state a specific thing, 25 named when collected (8/29 in the
        # RCA's own words): a Spark catalog's "Failed to get database metadata" quoted as the
        # IllegalStateException's frame, an error printed bare after a task log's INFO line, a
        # Confluent connector's error after its apology, a Kubernetes Secret cut off in the quote.
        # 29/29 since (12/29 in its own words, with the rules kube_secret_missing,
        # dag_bundle_not_configured, airflow_task_not_found and xcom_missing).
        ("thread_errors_40.jsonl", "specificity_threads_40.jsonl", 29, 29),
        # Round 41: 27 of its 32 state a specific thing, 26 named when collected (8/27 in the
        # RCA's own words): a Simba driver's HTTP 403 quoted as its "Error message: Unknown.".
        # 27/27 since (20/27 in its own words, with the rules table_partitioning_mismatch,
        # retention_locked_object, pod_admission_refused, change_tracking_disabled,
        # ecs_placement_no_resources, task_sdk_request_invalid and driver_http_auth_refused).
        ("thread_errors_41.jsonl", "specificity_threads_41.jsonl", 27, 27),
        # Round 42: all 32 state a specific thing, 29 named when collected (7/32 in the RCA's
        # own words): a dbt ref() in a conditional block, an Airflow asset not found and a
        # container "exec format error" (Unknown or the code class's template). 32/32 since
        # (21/32 in its own words, with the rules query_expired, query_name_unresolved,
        # compute_start_timed_out, refresh_unsupported_source, spark_session_stopped,
        # sql_parameter_unbound, airflow_runtime_not_found, partition_count_limit,
        # exec_format_error, slack_channel_unusable, dbt_dependency_not_inferred,
        # table_already_exists and insert_column_count_mismatch).
        ("thread_errors_42.jsonl", "specificity_threads_42.jsonl", 32, 32),
        # Round 43: all 22 state a specific thing, 20 named when collected (4/22 in the RCA's
        # own words): a BigQuery load's file (dropped from the quote) and an ADF copy's upload
        # path were not. 21/22 since (9/22 in its own words, with the rules
        # capacity_not_active, lakehouse_not_attached and load_too_many_errors and
        # missing_column's new wordings). Left: the ADF copy's upload path behind "Invalid
        # attempt to call MetaData when reader is closed" (Unknown).
        ("thread_errors_43.jsonl", "specificity_threads_43.jsonl", 22, 21),
        # Round 44: 13 of its 16 state a specific thing, 13 named when collected (3/13 in the
        # RCA's own words). 13/13 since (11/13 in its own words, with the rules
        # fail_activity_uninterpretable, rows_failed_to_write, storage_credential_missing,
        # delta_table_not_found, airflow_pool_not_found, identifier_too_long,
        # container_image_invalid and slack_auth_refused).
        ("thread_errors_44.jsonl", "specificity_threads_44.jsonl", 13, 13),
        # Round 45: 31 of its 32 state a specific thing, 31 named when collected (2/31 in the
        # RCA's own words, the rest by quoting the error). 31/31 since (21/31 in its own words,
        # with the rules settings_conflict, setting_required_for_operation,
        # setting_value_unsupported, parameter_type_mismatch, linked_service_key_rejected,
        # data_flow_expression_invalid and file_content_unreadable).
        ("thread_errors_45.jsonl", "specificity_threads_45.jsonl", 31, 31),
        # Round 46: all 32 state a specific thing, 32 named when collected (1/32 in the RCA's
        # own words, the rest by quoting the error). 32/32 since (27/32 in its own words, with
        # the rules spark_config_rejected, options_set_together, delta_table_feature_missing,
        # table_location_not_delta, default_database_missing, dbt_project_unreadable,
        # spark_read_type_mismatch, struct_field_missing, directory_has_no_files,
        # delta_checkpoint_parts_missing, new_not_null_constraint_violated,
        # merge_insert_column_missing, partition_predicate_invalid, ambiguous_column_reference,
        # merge_clause_condition_missing and state_store_out_of_memory).
        ("thread_errors_46.jsonl", "specificity_threads_46.jsonl", 32, 32),
        # Round 47: all 32 state a specific thing, 30 named when collected (6/32 in the RCA's
        # own words, the rest by quoting the error). 32/32 since (25/32 in its own words, with
        # the rules tasks_stuck_in_queue, celery_command_failed, redis_sentinel_misconfigured,
        # image_registry_unavailable, statement_value_not_allowed, node_count_out_of_range,
        # livy_request_failed, synapse_spark_error_code, workspace_failed_state,
        # uc_namespace_invalid, workload_classification_failed, pod_pending_timeout,
        # deferral_timed_out, external_table_rows_rejected, location_overlaps_managed_storage, a
        # credential's name in storage_credential_missing and WCF's "TCP error code 10061" in
        # connection_refused).
        ("thread_errors_47.jsonl", "specificity_threads_47.jsonl", 32, 32),
        # Round 48: all 32 state a specific thing, 16 named when collected (4/32 in the RCA's
        # own words). 32/32 since (31/32 in its own words, with the rules
        # mysql_binlog_not_ready, binlog_event_unknown, jdbc_driver_method_missing,
        # class_cast_same_name, mysql_unknown_database, gcp_billing_disabled, gcp_api_disabled,
        # class_initialization_failed, serde_class_missing, mysql_command_denied,
        # es_hadoop_no_nodes, cassandra_unreachable, mongo_server_selection_timeout,
        # iceberg_commit_conflict, bulk_copy_value_too_long, file_delimiter_mismatch,
        # split_file_missing, hdfs_safe_mode, kafka_isr_below_minimum,
        # kafka_transaction_commit_failed, kryo_buffer_overflow and Derby's wording in
        # truncation).
        ("thread_errors_48.jsonl", "specificity_threads_48.jsonl", 32, 32),
        # Round 49: 30 of its 32 state a specific thing, 18 named when collected (9/30 in the
        # RCA's own words). 30/30 since (22/30 in its own words, with the rules
        # adf_name_too_long, dataflow_debug_row_limit, db2_security_mechanism,
        # job_python_file_unreadable, dbt_project_field_missing, delta_log_dir_missing,
        # bulk_copy_column_mapping_mismatch, cosmos_dependency_not_found, dbfs_path_not_found,
        # nested_field_type_conflict, cast_to_identical_type and livy_rpc_channel_closed).
        ("thread_errors_49.jsonl", "specificity_threads_49.jsonl", 30, 30),
        # Round 50: 31 of its 32 state a specific thing, 29 named when collected (3/31 in the
        # RCA's own words). 30/31 since (10/31 in its own words, with the rules
        # delta_time_travel_version_unavailable, time_travel_unsupported_object,
        # bigquery_field_addition_refused, adf_plugin_type_unknown,
        # adf_tumbling_trigger_update_refused, airflow_dag_run_not_found and
        # airflow_mapped_upstream_missing); a BigQuery quota in a Kafka connector's TRACE line is
        # quoted from its start, before the quota's name.
        ("thread_errors_50.jsonl", "specificity_threads_50.jsonl", 31, 30),
        # Round 51: 31 of its 32 state a specific thing, 30 named when collected (2/31 in the
        # RCA's own words). 31/31 since, no rule added: httpx's "Connection refused" was named
        # ("the connection ... was refused") but annotated with the exact words at first.
        ("thread_errors_51.jsonl", "specificity_threads_51.jsonl", 31, 31),
        # Round 52 (ids r53-NNN): 31 of its 32 state a specific thing, 31 named when collected
        # (6/31 in the RCA's own words, the rest by quoting the error). 31/31 since (12/31 in
        # its own words, with the rules program_not_found, azure_sdk_parameter_none,
        # kafka_broker_transport_failure, hive_metastore_db_unreachable and
        # spark_checkpoint_block_lost, and an Iceberg branch "created concurrently" in
        # concurrent_commit).
        ("thread_errors_52.jsonl", "specificity_threads_52.jsonl", 31, 31),
    ],
)
def test_issue_thread_messages_stay_named(
    messages: str, annotations: str, size: int, floor: int
) -> None:
    named, total = _named(messages, annotations)
    assert total == size
    assert named >= floor
