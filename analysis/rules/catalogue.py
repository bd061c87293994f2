"""The one ordered list of rules. The engine tries them in this order and the first that
serves the ticket's class and matches explains it, so order matters across classes too: a
rule listed earlier wins for every class it serves (an AADSTS secret code before a generic
AADSTS code, a login failure before a DNS failure for a DatabaseError, ...). Add a rule to its
class module and here."""

from __future__ import annotations

from analysis.rules import (
    authentication,
    code_errors,
    configuration,
    data_errors,
    database,
    external_service,
    network,
    resource_exhaustion,
    timeouts,
    unclassified,
)
from analysis.rules.base import Rule

RULES: tuple[Rule, ...] = (
    # account and workspace setup that any class may show: named before the class rules
    configuration.provider_not_registered,
    configuration.resource_not_found,
    configuration.notebook_not_found,
    # authentication
    authentication.aad_client_secret,
    authentication.aad_other,
    authentication.db_login_failed,
    authentication.db_role_missing,
    authentication.token_expired,
    authentication.ssh_private_key,
    authentication.missing_credentials,
    authentication.http_401,
    authentication.permission_denied,
    # network
    network.dns_failure,
    network.tls_failure,
    network.connection_refused,
    network.firewall_blocked,
    network.proxy_refused,
    network.connection_reset,
    network.self_hosted_ir,
    network.driver_unreachable,
    network.host_unreachable,
    network.request_send_failed,
    # database
    database.replica_conflict,
    database.deadlock,
    database.lock_timeout,
    database.too_many_connections,
    database.missing_db_object,
    database.db_unreachable,
    database.db_unavailable,
    database.db_connection_closed,
    database.oracle_error,
    # resource_exhaustion
    resource_exhaustion.spark_executor_oom,
    resource_exhaustion.spark_driver_oom,
    resource_exhaustion.shuffle_fetch,
    resource_exhaustion.jvm_oom,
    resource_exhaustion.python_memory,
    resource_exhaustion.killed_oom,
    resource_exhaustion.disk_full,
    resource_exhaustion.quota,
    # data_errors
    data_errors.not_null_violation,
    data_errors.duplicate_key,
    data_errors.truncation,
    data_errors.schema_mismatch,
    data_errors.bad_value,
    data_errors.missing_column,
    data_errors.missing_path,
    data_errors.malformed_file,
    # external_service
    external_service.throttled,
    external_service.http_5xx,
    external_service.cloud_capacity,
    external_service.service_not_ready,
    # timeouts
    timeouts.airflow_task_timeout,
    timeouts.sensor_timeout,
    timeouts.query_timeout,
    timeouts.connect_timeout,
    timeouts.read_timeout,
    timeouts.broadcast_timeout,
    timeouts.http_call_timeout,
    timeouts.kafka_metadata_timeout,
    timeouts.activity_timeout,
    # configuration
    configuration.sandbox_blocked,
    configuration.module_not_found,
    configuration.import_conflict,
    configuration.missing_jar,
    configuration.odbc_driver_missing,
    configuration.missing_artifact,
    configuration.library_install,
    configuration.airflow_variable,
    configuration.airflow_connection,
    configuration.keyvault_secret,
    configuration.widget_missing,
    configuration.linked_service,
    configuration.init_script,
    configuration.missing_env_var,
    configuration.missing_storage,
    configuration.connection_string,
    configuration.missing_option,
    configuration.hostname_mismatch,
    configuration.invalid_parameter,
    configuration.mismatched_setup,
    # code_errors
    code_errors.adf_expression,
    code_errors.dbt_unresolved_ref,
    code_errors.not_serializable,
    code_errors.name_error,
    code_errors.unknown_function,
    code_errors.invalid_operator_args,
    code_errors.key_error,
    code_errors.none_error,
    code_errors.syntax_error,
    code_errors.python_exception,
    code_errors.jvm_exception,
    # unclassified
    unclassified.sigterm,
    unclassified.inner_activity,
    unclassified.exit_code,
)
