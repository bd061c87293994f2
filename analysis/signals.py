"""Signals that the classifier and the rule RCA both look for, each defined once.

A signal here is the set of phrases (regex alternatives) that mean one concrete thing: a DNS
failure, a refused connection, a deadlock, a full disk, ... The classifier
(analysis/classifier.py) adds each to its class's score, alongside wider phrasings that only
have to point at a class; the rule of the same name in analysis/rules/ fires on it, alongside
the forms that capture the value it names (a column, a status code). Pure Python.
"""

from __future__ import annotations


def any_of(*alternatives: str) -> str:
    """One regex matching any of the alternatives."""
    return "|".join(alternatives)


MISSING_CREDENTIALS: tuple[str, ...] = (
    r"nocredentialserror",
    r"unable to locate credentials",
    r"defaultazurecredential failed",
    r"credentialunavailable",
    # Azure managed identity with no identity endpoint or token to give (IMDS, MSI).
    r"credential authentication unavailable",
    r"no response from the imds endpoint",
    r"failed to connect to msi\b",
    r"error performing token request",
    r"metadata/identity/oauth2/token",
    # Kerberos: no ticket-granting ticket in the process's cache (no kinit, keytab not used).
    r"gss initiate failed",
    r"failed to find any kerberos tgt",
    # A key the runtime authenticates with that was never configured (ADF self-hosted IR
    # "Authentication Key is not assigned yet", "API key not set").
    r"\b(?:authentication|auth|api|access|account) key (?:is |was |has )?(?:not|never) "
    r"(?:been )?(?:assigned|set|configured|provided)",
)

PERMISSION_DENIED: tuple[str, ...] = (
    r"authorizationpermissionmismatch",
    r"access[_ ]?denied",
    r"not authorized",
    r"permission was denied",  # SQL Server 229/230: "The SELECT permission was denied on ..."
    r"is not able to access the database",  # SQL Server 916: a login without a database user
    # Synapse: "You don't have access to the serverless SQL pool, Built-in. To be granted
    # access, contact a Synapse Administrator".
    r"(?:don't|do not) have access to (?:the|this) ",
    r"to be granted access, contact",
)

# Azure SQL 40615 and its kin: the server's firewall, network policy or IP access list refuses
# the caller's address (Snowflake "IP x is not allowed to access Snowflake", Databricks IP ACLs,
# Cosmos DB and Key Vault firewalls, Atlas IP access lists).
FIREWALL_BLOCKED: tuple[str, ...] = (
    r"is not allowed to access the server",
    r"\bip(?: address)? '?[\w.:/-]+'? is not allowed to access",
    r"\b(?:is|was|were|been) blocked by (?:the |your )?[\w ]{0,40}"
    r"(?:firewall|ip acl|ip access list|network polic)",
    r"forbiddenbyfirewall",
    r"not (?:on|in) (?:the |your )?[\w' ]{0,30}ip (?:access|allow) ?list",
    r"ip (?:address )?(?:is )?not (?:whitelisted|allowlisted|allowed by)",
    r"sp_set_firewall_rule",
    r"deny public network access",
)

PROXY_REFUSED: tuple[str, ...] = (
    r"\(407\)",
    r"\b407 proxy",
    r"proxy authentication required",
    r"tunnel connection failed",
)

# A read replica cancelled a query to apply the primary's changes (PostgreSQL hot standby).
REPLICA_CONFLICT: tuple[str, ...] = (r"conflict with recovery",)

DNS_FAILURE: tuple[str, ...] = (
    r"could not translate host ?name",
    r"name or service not known",
    r"temporary failure in name resolution",
    r"unknownhostexception",
    r"getaddrinfo",
    r"nodename nor servname",
    r"remote name could not be resolved",
    r"could not resolve host",
    r"hostnotfound",
)

TLS_FAILURE: tuple[str, ...] = (
    r"pkix path building failed",
    r"unable to find valid certification path",
    r"certificate[_ ]verify[_ ]failed",
    r"ssl ?handshake",
    # The server ended the handshake (no TLS version or cipher suite in common, a client
    # certificate it requires): "Received fatal alert: handshake_failure".
    r"handshake_failure",
    r"received fatal alert",
    r"self[- ]signed certificate",
    r"certificate has expired",
    r"wrong_version_number",
    r"remote certificate is invalid",
    # A certificate chain the client could not build or check (.NET/WCF "X.509 certificate ...
    # chain building failed", "unable to check revocation"), or a certificate issued for another
    # name ("expected DNS identity ... provided DNS claim", "doesn't match any of the subject
    # alternative names", "hostname mismatch").
    r"chain building failed",
    r"trust chain that cannot be verified",
    r"unable to check revocation",
    r"expected dns identity",
    r"(?:does not|doesn't) match any of the subject alternative names",
    r"certificate (?:is not valid for|name does not match|hostname mismatch)",
    r"hostname mismatch, certificate",
    # Go's TLS stack (Kubernetes clients, kubelet, Argo, Docker): "x509: certificate signed by
    # unknown authority".
    r"\bx509: ",
    r"certificate signed by unknown authority",
)

CONNECTION_REFUSED: tuple[str, ...] = (
    r"connection refused",
    r"econnrefused",
    r"errno 111\b",
    # Windows' WSAECONNREFUSED as .NET's WCF prints it ("TCP error code 10061: No connection
    # could be made because the target machine actively refused it").
    r"tcp error code 10061\b",
)

CONNECTION_RESET: tuple[str, ...] = (
    r"connection reset",
    r"econnreset",
    r"broken pipe",
    r"forcibly closed by the remote host",
    r"remote end closed connection",
    r"connection aborted",
    r"underlying connection was closed",
)

HOST_UNREACHABLE: tuple[str, ...] = (
    r"no route to host",
    r"network is unreachable",
    r"host is unreachable",
)

DEADLOCK: tuple[str, ...] = (
    r"deadlock",
    r"could not serialize access",
    r"serialization failure",
    # Redshift 1023 "Serializable isolation violation on table - 100167, transactions forming
    # the cycle are: ...": two transactions wrote the same table at once.
    r"serializable isolation violation",
)

# A client-side connection pool with no connection free to hand out (HikariCP, DBCP, a pool
# reporting its limit): the client's own capacity, not the database refusing connections.
DB_POOL_EXHAUSTED: tuple[str, ...] = (
    r"connection pool (?:exhausted|is full)",
    r"(?:connection )?pool (?:limit|size) .{0,40}(?:reached|exceeded)",
    r"connection is not available, request timed out",
    r"cannot get a connection, pool",
    r"timeout waiting for (?:idle object|connection from pool)",
)

# Another writer committed to the same table first (optimistic concurrency): Iceberg's
# CommitFailedException "Base metadata location ... is not same as the current table metadata
# location ... for db.table".
CONCURRENT_COMMIT: tuple[str, ...] = (
    r"is not same as the current table metadata location",
    r"cannot commit: base metadata location",
    # Lance / LanceDB: "Commit conflict for version 924: There was a concurrent commit that
    # conflicts with this one".
    r"commit conflict for version",
    r"concurrent commit that conflicts",
    # Delta Lake's optimistic concurrency: ConcurrentAppendException, ConcurrentDeleteRead/
    # DeleteDeleteException, MetadataChangedException, ProtocolChangedException ("... has been
    # changed by a concurrent update"), and delta-rs's "Generic DeltaTable error: Version
    # mismatch".
    r"concurrent(?:append|delete\w{0,20}|transaction|write)exception",
    r"(?:metadata|protocol)changedexception",
    r"\bdelta_concurrent_\w+",
    r"has been changed by a concurrent update",
    r"deltatable error: version mismatch",
    # Iceberg's REST catalog: "Commit failed: Requirement failed: branch main has changed", or
    # "... branch main was created concurrently" when two writers create it (a first commit).
    r"requirement failed: branch [\w.-]{1,100} has changed",
    r"requirement failed: branch [\w.-]{1,100} was created concurrently",
)

# A Kafka consumer whose group rebalanced while it was still processing a batch: the time
# between polls went over max.poll.interval.ms, so its offset commit is refused.
KAFKA_POLL_INTERVAL: tuple[str, ...] = (
    r"group has already rebalanced",
    r"longer than the configured max[._]poll[._]interval[._]ms",
    # The same eviction seen by an auto-commit ("Offset commit cannot be completed since the
    # consumer is not part of an active group ...; it is likely that the consumer was kicked out
    # of the group").
    r"\bnot part of an active group\b",
    r"\bkicked out of the group\b",
)

# No node or queue can take the pod, container or application master: the Kubernetes scheduler
# ("0/5 nodes are available: 3 Insufficient cpu", PodUnschedulable, FailedScheduling) or a YARN
# queue at capacity ("waiting for resources to be assigned for AM").
UNSCHEDULABLE: tuple[str, ...] = (
    r"\b\d+/\d+ nodes are available",
    r"podunschedulable",
    r"cannot schedule pods",
    r"failedscheduling",
    r"\binsufficient (?:cpu|pods|ephemeral-storage|[\w.-]+/gpu)\b",
    r"waiting for resources to be assigned for am\b",
    # Flink: no task slots for the job's parallelism ("NoResourceAvailableException: Could not
    # acquire the minimum required resources", "Not enough free slots available to run the
    # job", "No pooled slot available").
    r"noresourceavailableexception",
    r"not enough free slots",
    r"could not acquire the minimum required resources",
    r"no pooled slot available",
)

DB_UNAVAILABLE: tuple[str, ...] = (r"snapshot too old",)

# A Dataflow/Beam worker that stopped answering its service ("Root cause: The worker lost
# contact with the service"): a lost executor in other words.
WORKER_LOST_CONTACT: tuple[str, ...] = (
    r"\blost contact with the service\b",
    r"\bworker lost contact\b",
)

# A client's bounded send buffer is full: Pulsar "ProducerQueueIsFullError: Producer send queue
# is full", Kafka "BufferExhaustedException", librdkafka's "Local: Queue full"
# (RD_KAFKA_RESP_ERR__QUEUE_FULL, confluent-kafka's "BufferError: Local: Queue full").
SEND_QUEUE_FULL: tuple[str, ...] = (
    r"producerqueueisfull",
    r"\b(?:producer )?send queue is full\b",
    r"bufferexhaustedexception",
    r"\blocal: queue full\b",
    r"\b_queue_full\b",
)

# A Celery worker that lost its message broker mid-run ("consumer: Connection to broker lost.
# Trying to re-establish the connection...").
CELERY_BROKER_LOST: tuple[str, ...] = (r"\bconnection to broker lost\b",)

# A token whose signature the server could not verify (Airflow 3's execution API "Invalid auth
# token: Signature verification failed", PyJWT's InvalidSignatureError wording) or that it
# reads as expired ("Invalid auth token: Signature has expired").
AUTH_TOKEN_REJECTED: tuple[str, ...] = (
    r"\binvalid auth token\b",
    r"\bsignature verification failed\b",
)

# Airflow's DAG file processor killed for parsing a file past dag_file_processor_timeout
# ("Processor for dags/x.py with PID 27954 started at ... has timed out, killing it").
DAG_FILE_PROCESSOR_TIMEOUT: tuple[str, ...] = (
    r"\bprocessor for [^\s]{1,500} with pid \d{1,10} started at [^\s]{1,64} has timed out\b",
)

# Work that stopped making progress until a watchdog gave up: a Flink checkpoint "expired
# before completing", a Dataflow job that "appears to be stuck because no worker activity has
# been seen in the last 1h". Both name what stalled: a session that "expired before completing"
# or a cluster that "appears to be stuck" in a state is neither.
NO_PROGRESS: tuple[str, ...] = (
    r"\bcheckpoint (?:\d+ )?(?:of job [\w-]{1,64} )?expired before completing\b",
    r"\bno (?:worker )?(?:activity|progress) (?:has been |was )?(?:seen|made|observed|reported)"
    r" (?:in|for|during) the (?:last|past) \d",
)

# A write sent to a node that does not take writes: a MongoDB secondary ("not primary",
# NotWritablePrimary, the older "not master"), a read-only replica or transaction.
NOT_PRIMARY: tuple[str, ...] = (
    r"notwritableprimary",
    r"notprimary(?:nosecondaryok|orsecondary)",
    r"notmaster(?:noslaveok|orsecondary)?\b",
    r"not ?primary ?exception",
    r"\bnot (?:writable )?primary\b(?! key)",
    r"\bnot master\b",
    r"node is (?:not|no longer) (?:the )?(?:primary|master)",
    r"in a read-only transaction",
    r"running with the --read-only option",
    r"against a read only replica",
)

# A table or index the database found damaged: MySQL "marked as crashed", an Oracle or
# PostgreSQL corrupt block, a malformed SQLite file.
DB_CORRUPTION: tuple[str, ...] = (
    r"marked as crashed",
    r"crashed and (?:should|must) be repaired",
    r"incorrect key file for table",
    r"data block corrupted",
    r"invalid page (?:header )?in block",
    r"database disk image is malformed",
    r"(?:table|index|page|block) '?[\w.`\"-]{0,80}'? is corrupt",
)

# A Delta table registered in the catalog whose transaction log is missing or empty (a
# truncated log, DELTA_TRUNCATED_TRANSACTION_LOG, stays with the missing-input family).
DELTA_LOG_LOST: tuple[str, ...] = (
    r"no files in log segment",
    r"delta_missing_transaction_log",
    r"delta_metadata_absent",
    r"no metadata could be found\s+for the table",
    r"delete(?:d)? files from the _delta_log",
)

# Locks a statement could not take because the lock manager or metastore did not grant them
# (Hive "Error in acquiring locks", ZooKeeper/DbLockManager LockException).
LOCK_NOT_ACQUIRED: tuple[str, ...] = (
    r"error in acquiring locks?",
    r"(?:unable|failed|could not) to acquire (?:a |the )?(?:table |row |metadata |exclusive "
    r"|shared |write |read )?locks?\b",
    r"\blockexception\b",
)

DISK_FULL: tuple[str, ...] = (
    r"no space left on device",
    r"disk ?full",
    r"out ?of ?disk",
    r"unable to extend (?:temp )?segment",
    # Oracle ORA-01653/01654/01688/01691/01658: a table, index, partition or LOB segment has
    # no room left in its tablespace.
    r"unable to (?:extend (?:table|index|lob segment|lob index|table partition|index partition)"
    r"|create initial extent for segment)\b[^\n]{0,120}? in tablespace\b",
    r"transaction log for database .{0,80} is full",
    # SQL Server 1101/1105: the data files of a filegroup are at their maximum size or their
    # disk is full ("Could not allocate space for object 'dbo.T'.'PK_T' in database 'D'
    # because the 'PRIMARY' filegroup is full").
    r"filegroup is full",
    r"insufficient disk space in filegroup",
    r"could not extend file",
    # EDQUOT: the user's or volume's disk quota, not a cloud subscription's.
    r"disk quota exceeded",
    # Elasticsearch/OpenSearch blocking writes to a node's indices past its flood-stage disk
    # watermark ("index has read-only-allow-delete block", "index read-only / allow delete").
    r"flood[- ]stage (?:disk )?watermark",
    r"read-only-allow-delete block",
    r"index read-only / allow delete",
)

# A row whose key is already taken, in the words of stores other than the SQL classics
# ("duplicate key", "unique constraint"): MySQL 1062 "Duplicate entry", Salesforce
# DUPLICATE_VALUE, Dataverse/Cosmos DB "a record/entity with ... already exists", alternate keys.
DUPLICATE_KEY: tuple[str, ...] = (
    r"duplicate entry",
    r"duplicate[_ ]value",
    r"duplicatekeyexception",
    r"\b(?:record|row|document|entity|item)s? (?:with|that has|having) [^\n]{0,200}already exists",
    r"requires? that [^\n]{0,80}unique values",
    # Elasticsearch indexing (op_type create) an id that is there already: "version conflict,
    # document already exists (current version [1])".
    r"document already exists",
    # Cosmos DB's unique key policy ("Unique index constraint violation.", through ADF's bulk
    # import "Failed to import mini-batch").
    r"unique index constraint violation",
)

# Arrow's 32-bit offsets: one string, binary or list array over 2 GB ("ArrowInvalid: offset
# overflow while concatenating arrays", ArrowCapacityError).
ARRAY_CAPACITY: tuple[str, ...] = (
    r"offset overflow while concatenating",
    r"arrowcapacityerror",
    r"capacity error: (?:array|list|string|binary)",
)

SCHEMA_MISMATCH: tuple[str, ...] = (
    r"schema mismatch",
    r"mergeschema",
    # Hive / Athena / Presto: a partition declares a column with another type than the table.
    r"partition_schema_mismatch",
    r"mismatch between the table and partition schemas?",
    r"types are incompatible and cannot be coerced",
    # pyarrow: "Item has schema ... which does not match expected schema".
    r"does not match (?:the )?expected schema",
    # Delta: "The schema of your Delta table has changed in an incompatible way".
    r"has changed in an incompatible way",
    # ADF copy: a hierarchical (JSON) source mapped onto tabular columns.
    r"schemamappingfailed",
    r"hierarchical to tabular",
    # Elasticsearch/OpenSearch: a document's field conflicts with the index mapping ("mapper
    # [size] cannot be changed from type [long] to [text]", "mapper [x] of different type").
    r"mapper \[[^\]\n]{1,200}\] (?:cannot be changed from type|of different type)",
    # BigQuery: "Value has type STRING which cannot be inserted into column id, which has type
    # NUMERIC".
    r"which cannot be inserted into column",
    # Spark's vectorized Parquet reader: a file's column has another physical type than the
    # schema it is read with.
    r"schemacolumnconvertnotsupported",
    # BigQuery loading Parquet or Avro whose fields' modes differ from the schema it was given
    # ("Provided schema is not compatible with the file 'x.parquet'. Field 'f' is specified as
    # NULLABLE in provided schema which does not match REQUIRED as specified in the file").
    r"provided schema is not compatible with the file",
    r"in provided schema which does not match \w{1,20} as specified in the file",
)

# pip's resolver found no set of versions that satisfies every requirement and constraint
# ("Cannot install apache-airflow because these package versions have conflicting
# dependencies. The conflict is caused by: ...", "ResolutionImpossible").
DEPENDENCY_CONFLICT: tuple[str, ...] = (
    r"resolutionimpossible",
    r"package versions have conflicting dependencies",
    r"the conflict is caused by:",
)

# A change stream or replica asks for a log position the server has already purged (PostgreSQL
# "requested WAL segment ... has already been removed", Debezium's MySQL binlog "no longer
# available on the server").
REPLICATION_LOG_PURGED: tuple[str, ...] = (
    r"requested wal segment \w{1,40} has already been removed",
    r"is trying to read binlog starting at",
)

# A storage tier with no node able to take a write (HDFS: "could only be written to 0 of the 1
# minReplication nodes. There are 0 datanode(s) running") or to serve a read (HDFS
# BlockMissingException: "Could not obtain block: BP-1:blk_7 file=/x/part-0").
NO_STORAGE_NODES: tuple[str, ...] = (
    r"could only be (?:written|replicated) to 0 (?:of the \d{1,5} minreplication )?nodes",
    r"there are 0 datanode\(s\) running",
    r"blockmissingexception",
    r"could not obtain (?:the last )?block",
    r"no live nodes contain (?:the )?current block",
)

# Step Functions could not tell whether its Lambda invocation landed, or Lambda's own service
# failed the invoke (Lambda.ServiceException, Lambda.SdkClientException).
LAMBDA_INVOKE_FAILED: tuple[str, ...] = (
    r"cannot determine whether lambda successfully received",
    r"\blambda\.(?:serviceexception|awslambdaexception|sdkclientexception)\b",
)

MISSING_COLUMN: tuple[str, ...] = (
    r"unresolved_column",
    # BigQuery names a column (or alias) the query reads that is not there.
    r"unrecognized name: [`'\"]?([\w.]+)",
    # A Parquet file without a column the table's schema asks for (Spark's vectorized reader,
    # Delta column mapping's physical names: "Required column is missing in data file. Col:
    # [col-39959328-...]").
    r"required column is missing in (?:the )?data file\.? col: \[([^\]\n]{1,200})\]",
    # ClickHouse reading a lake table whose schema lost a column ("Not found column or subcolumn
    # c1 in block. There are only columns: c0").
    r"not found column (?:or subcolumn )?([\w.]{1,128}) in block",
    # Arrow-based writers (delta-rs, Polars, DataFusion): "Schema error: Field customerid not
    # found in schema", "Schema error: No field named customerid".
    r"schema error: (?:field ([\w.]{1,128}) not found in schema|no field named ([\w.\"]{1,130}))",
)

THROTTLED: tuple[str, ...] = (
    r"too many requests",
    r"rate limit",
    r"rate exceeded",
    r"throttl",
    r"reduce your request rate",
    r"slow ?down",
    r"too many calls",
    # Azure Storage's ServerBusy ("Operations per second is over the account limit", "Ingress
    # is over the account limit"), Cosmos DB's 429, a queries-per-second cap (kubelet pulls).
    r"is over the (?:account|partition) limit",
    r"request rate is large",
    # DynamoDB and Kinesis: "The level of configured provisioned throughput for the table was
    # exceeded" (ProvisionedThroughputExceededException).
    r"provisioned ?throughput(?: for the \w+)? (?:was )?exceeded",
    r"provisionedthroughputexceeded",
    r"qps (?:limit )?(?:exceeded|reached)",
    r"exceeded (?:the )?qps",
)

HTTP_5XX: tuple[str, ...] = (
    r"service ?unavailable",
    r"bad gateway",
    r"gateway time-?out",
    r"server ?busy",
)

INIT_SCRIPT: tuple[str, ...] = (r"init_script_failure",)

# The cluster's security manager or access mode blocks a call the code makes (Databricks shared
# / high-concurrency clusters: Py4JSecurityException "... is not whitelisted on class").
SANDBOX_BLOCKED: tuple[str, ...] = (
    r"py4jsecurityexception",
    r"is not (?:whitelisted|allowlisted) on class",
    r"not (?:allowed|supported) on (?:shared|high[ -]concurrency) clusters?",
)

# A required option, argument or setting the step was not given ("Could not find required
# option: schemaLocation", "required argument 'bucket' is missing").
MISSING_OPTION: tuple[str, ...] = (
    r"(?:could not find|missing|no value for) (?:the |a )?required "
    r"(?:option|argument|setting|parameter)s?:? [`'\"]?([\w.-]+)",
    r"required (?:option|argument|setting)s? [`'\"]?([\w.-]+)[`'\"]? (?:is|was) "
    r"(?:missing|not (?:set|specified|provided))",
    # argparse, as AWS Glue's getResolvedOptions raises it (GlueArgumentError): "the following
    # arguments are required: --SOURCE_LOCATION, --OUTPUT_LOCATION".
    r"the following arguments are required: (-{0,2}[\w.-]+)",
)

# The worker that runs a task is not the host the scheduler recorded for it (Airflow "Hostname
# of job runner does not match"): a hostname callable or DNS setup giving one machine two names.
HOSTNAME_MISMATCH: tuple[str, ...] = (
    r"hostname of (?:the )?(?:job )?runner does not match",
    r"recorded hostname [^\s]+ does not match",
)

INVALID_PARAMETER: tuple[str, ...] = (r"invalid parameter",)

# A session that names no usable context to run in: Snowflake with no (or a suspended)
# warehouse, or no current database or schema.
SESSION_CONTEXT: tuple[str, ...] = (
    r"no active warehouse selected",
    r"warehouse '?([\w$.-]+)'? is suspended",
    r"does not have a current (?:database|schema|warehouse)",
    # Snowpark's "The DATABASE is not set for the current session".
    r"the (?:database|schema|warehouse) is not set for the current session",
)

# A request sent to the wrong regional endpoint (S3 PermanentRedirect, a 301 for a bucket in
# another region).
WRONG_ENDPOINT: tuple[str, ...] = (
    r"permanentredirect",
    r"must be addressed using the specified endpoint",
)

# The caller's clock is too far from the service's for its signature or ticket to be accepted
# (S3/MinIO RequestTimeTooSkewed, Kerberos "Clock skew too great").
CLOCK_SKEW: tuple[str, ...] = (
    r"requesttimetooskewed",
    r"difference between the request time and the (?:current|server'?s?) time is too large",
    r"clock skew too great",
    r"krb_ap_err_skew",
)

# A Kafka topic or partition the broker does not have (never created, deleted, or a name
# typo).
UNKNOWN_TOPIC: tuple[str, ...] = (
    r"unknowntopicorpartition",
    r"unknown_topic_or_partition",
    r"does not host this topic-partition",
    r"\btopic '?([\w.-]+)'? (?:name )?does not exist",
    # The topic's ZooKeeper node (Kafka's admin tools and older clients): "node
    # /brokers/topics/orders does not exist", "KeeperErrorCode = NoNode for /brokers/topics/x".
    r"\bnode /brokers/topics/([\w.-]+)\S* (?:does not|doesn't) exist"
    r"|nonode for /brokers/topics/([\w.-]+)",
)

# Event Grid delivers to a webhook only once the endpoint has answered its subscription
# validation handshake ("Webhook validation handshake failed for https://...", "The attempt to
# validate the provided endpoint ... failed. For more details, visit
# https://aka.ms/esvalidation").
ENDPOINT_VALIDATION: tuple[str, ...] = (
    r"webhook validation handshake",
    r"attempt to validate the provided endpoint",
    r"aka\.ms/esvalidation",
)

ADF_EXPRESSION: tuple[str, ...] = (r"invalidtemplate",)

# An HTTP endpoint an ADF Azure Function or Web activity calls answered 404 ("Invoking Azure
# function failed with HttpStatusCode - NotFound", "HttpStatusCode - 'NotFound'").
ENDPOINT_NOT_FOUND: tuple[str, ...] = (
    r"httpstatuscode[\s:'-]{0,5}notfound",
    r"status-'notfound'",
    r"failed with status-'?404\b",
)

# dbt could not resolve a ref(), source() or other node a model depends on.
DBT_UNRESOLVED_REF: tuple[str, ...] = (
    r"depends on (?:a|the) (?:node|source|macro|model|metric|seed|snapshot) named",
    r"which was not found or is disabled",
    # dbt-loom and cross-project refs: "'model.a.t' depends on 'model.b.c' which is not in
    # the graph!".
    r"which is not in the graph",
    # Dataform: 'Missing dependency detected: Node "a.b" depends on "c.d" which does not exist.'
    r"missing dependency detected",
    r"depends on [\"'][^\"'\n]{1,120}[\"'] which (?:does not exist|was not found)",
)

SYNTAX_ERROR: tuple[str, ...] = (
    r"parse_syntax_error",
    r"incorrect syntax near",
    # Db2 SQL0104N: "An unexpected token \"PRIMARY KEY\" was found following \") ON DELETE".
    r"an unexpected token .{0,80}? was found following",
)

# Exception classes that are bugs in the code that raised them, not in its data or setup.

PYTHON_BUG_EXCEPTIONS: tuple[str, ...] = (
    "TypeError",
    "AttributeError",
    "IndexError",
    "ZeroDivisionError",
    "UnboundLocalError",
    "AssertionError",
    "RecursionError",
)

JVM_BUG_EXCEPTIONS: tuple[str, ...] = (
    "NullPointerException",
    "ClassCastException",
    "IllegalArgumentException",
    "IllegalStateException",
    "IndexOutOfBoundsException",
    "NoSuchMethodError",
    "StackOverflowError",
)


# Oracle ORA-12154: the connect identifier (a TNS alias) is not in tnsnames.ora or the naming
# method the client uses.
TNS_UNRESOLVED: tuple[str, ...] = (
    r"\bora-12154\b",
    r"could not resolve the connect identifier",
)

# Oracle's DPI-1047: the Oracle Client libraries the driver loads in thick mode are missing,
# not on the library path, of another architecture or built for a newer C library.
ORACLE_CLIENT_MISSING: tuple[str, ...] = (
    r"\bdpi-1047\b",
    r"cannot locate a (?:32|64)-bit oracle client library",
    r"oracle client library cannot be loaded",
)

# The SSH server's host key is not one the client knows or trusts (paramiko, OpenSSH).
SSH_HOST_KEY: tuple[str, ...] = (
    r"not found in known_hosts",
    r"no hostkey for host",
    r"host key verification failed",
    r"remote host identification has changed",
    # A host key the connection pins that the server no longer presents: ADF's SFTP "Host key
    # finger-print validation failed. Expected fingerprint is 'x', real finger-print is 'y'",
    # paramiko's BadHostKeyException "Host key for server 'h' does not match".
    r"host key finger-?print validation failed",
    r"\bbadhostkeyexception\b",
    r"host key for server '[^'\n]{1,200}' does not match",
)


# An FTP server refusing the path it was asked for (reply 550: no such file or directory, or no
# access to it): "ftplib.error_perm: 550 Failed to change directory.", "550 unable to open
# /x/y for writing.".
FTP_PATH_REFUSED: tuple[str, ...] = (
    r"error_perm:? 550\b",
    r"failed to change directory",
    r"(?:^|\n)550 (?:unable to|can't|cannot|could not|failed to|permission denied|no such)",
)


# A streaming query's checkpoint written by a query with other sources or another state schema.
CHECKPOINT_MISMATCH: tuple[str, ...] = (
    r"doesn't match to the schema for existing state",
    r"sources in the checkpoint offsets",
    r"state_store_(?:key|value)_schema_not_compatible",
)

# Windows (SMB): the host or share of a UNC path cannot be reached.
NETWORK_PATH_NOT_FOUND: tuple[str, ...] = (
    r"the network path was not found",
    r"the specified network name is no longer available",
)

# Fabric's Spark refusing a job because the capacity's compute is in use (HTTP 430).
CAPACITY_COMPUTE_IN_USE: tuple[str, ...] = (
    r"toomanyrequestsforcapacity",
    r"choose a larger capacity sku",
)

# Airflow's SLA miss report and log line.
SLA_MISS: tuple[str, ...] = (
    r"\bsla miss(?:ed)? (?:on|for) dag\b",
    r"missed (?:their|its) slas?\b",
)

# An Airflow DAG run stopped by its dagrun_timeout: the callback's "DAG run R failed
# (timed_out): ... dagrun_timeout", the scheduler's "Run R of D has timed-out".
DAGRUN_TIMEOUT: tuple[str, ...] = (
    r"dagrun_timeout",
    r"failed \(timed_out\)",
    r"\bof [\w.-]{1,250} has timed-out",
)

# An Airflow DAG run failed as deadlocked: the callback's "(all_tasks_deadlocked)", the
# scheduler's "Task deadlock (no runnable tasks); marking run R failed".
DAGRUN_DEADLOCK: tuple[str, ...] = (
    r"all_tasks_deadlocked",
    r"task deadlock \(no runnable tasks\)",
)

# ADF's integration runtime placement: both ends of a copy between private stores on one
# self-hosted IR ("Source and sink in the copy activity must be connected via the same
# self-hosted IR"), and a self-hosted IR where data flows take none ("Linked service with
# Self-hosted Integration runtime is not supported in data flow").
INTEGRATION_RUNTIME_PLACEMENT: tuple[str, ...] = (
    r"\bmust be connected\s{1,3}(?:via|through|by)\s{1,3}the\s{1,3}same[- ]?self[- ]?hosted",
    r"\bself[- ]?hosted (?:ir|integration runtime) is not supported in (?:the )?"
    r"(?:mapping )?data ?flows?",
)

# A key a component is set up with that was never given to it (a self-hosted integration runtime
# node's "Authentication Key is missing", a registration, license or encryption key left empty):
# an installation step, not a credential a service refused (a missing access or API key stays
# an authentication matter: MISSING_CREDENTIALS).
KEY_SETTING_MISSING: tuple[str, ...] = (
    r"\b(integration runtime )((?:authentication|auth|registration) key) (?:is|was)"
    r" (?:missing|empty|not (?:set|provided|specified|configured|supplied))",
    r"\b((?:registration|license|licence|encryption) key) (?:is|was)"
    r" (?:missing|empty|not (?:set|provided|specified|configured|supplied))",
)

# A Databricks cluster, job or run the configuration points at that the workspace has purged
# ("Cannot access cluster X that was terminated or unpinned more than 30 days ago"): the id is
# stale, and the resource must be recreated rather than waited for.
PURGED_RESOURCE: tuple[str, ...] = (
    r"\bcannot access (cluster|job|run|warehouse|pipeline|instance pool)\b ?([^\s]{0,80}?)"
    r" that was (?:terminated|deleted|unpinned|removed)(?: or (?:terminated|deleted|unpinned"
    r"|removed))? more than (\d+) days ago",
)

# A relation name with more parts than the database takes (PostgreSQL "improper relation name
# (too many dotted names)", "cross-database references are not implemented"): a dbt profile or
# source whose database or schema repeats the other, not a broken database.
QUALIFIED_NAME_INVALID: tuple[str, ...] = (
    r"improper (?:relation|qualified) name \(too many dotted names\):? ?([\w.\"]{1,300})?",
    r"cross-database references are not implemented:? ?([\w.\"]{1,300})?",
)

# A service's count limit that names its maximum and what was asked for (ADF's ARM template "The
# number of template actions limit exceeded: maximum '500' and actual '730'"): too many objects
# for one request, not invalid data, though the service reports it from its validation.
NAMED_LIMIT_EXCEEDED: tuple[str, ...] = (
    r"(?:number of ([\w ]{1,60}?) )?limit exceeded: maximum '?(\d+)'?,? (?:and|but)"
    r" (?:actual|requested|got) '?(\d+)'?",
)

# Snowflake's own failure while running a statement ("SQL execution internal error: Processing
# aborted due to error 300010:391167117; incident 7185034."): an incident on Snowflake's side,
# with the numbers its support asks for.
SNOWFLAKE_INCIDENT: tuple[str, ...] = (
    r"processing aborted due to error (\d{3,6}:\d{1,12});? incident (\d{3,12})",
)

# An FTP server's data connection that could not be opened after the control connection
# worked: passive mode's reply 227 naming a port the network does not let through, or reply 425
# ("Can't open data connection", "Failed to establish connection").
FTP_DATA_CONNECTION: tuple[str, ...] = (
    r"\b227 entering passive mode",
    r"\b425 (?:can't|cannot|could not|unable to|failed to) (?:open|build|establish)"
    r" (?:the )?(?:data )?connection",
    r"(?:can't|cannot|could not|unable to|failed to) (?:open|build|establish) (?:the )?"
    r"(?:passive|ftp data) (?:mode )?connection",
)

# Two runs of one Structured Streaming query writing the same checkpoint at once (Spark's
# "Concurrent update to the commit log. Multiple streaming jobs detected for 0", "Multiple
# streaming queries are concurrently using <checkpoint>/offsets", "Cannot start query with id X
# as another query with same id is already active"): a schedule or restart that overlaps, not a
# broken table.
STREAM_QUERY_CONCURRENT: tuple[str, ...] = (
    r"multiple streaming (?:jobs|queries) (?:detected|are concurrently using)",
    r"concurrent update to the commit log",
    r"another (?:query|instance of this query) with (?:the )?same id is already active",
)

# A Delta table's transaction log cut before the version a reader needs ("Unable to reconstruct
# state at version 2 as the transaction log has been truncated due to manual deletion or the log
# retention policy (delta.logRetentionDuration=30 days)", DELTA_TRUNCATED_TRANSACTION_LOG): the
# reader (a stream's checkpoint, a time-travel query) is older than what the log keeps.
DELTA_LOG_TRUNCATED: tuple[str, ...] = (
    r"\bdelta_truncated_transaction_log\b",
    r"transaction log has been truncated due to",
    # A log entry missing for a version a reader needs ("IllegalStateException: could not find
    # any delta file for version 159").
    r"could not find any delta file for version",
    # A commit file of the log that storage no longer holds (Trino's "The transaction log file
    # s3://b/t/_delta_log/00000000000000000000.json was not found", a reader's
    # FileNotFoundException on a _delta_log/<version>.json).
    r"_delta_log/\d{1,20}\.json\b[^\n]{0,40}?\b(?:was not found|not found|cannot be found"
    r"|does not exist)",
    r"filenotfoundexception:?[^\n]{0,300}?/_delta_log/\d{1,20}\.json\b",
)

# A Delta table whose transaction log disagrees with the files it describes ("The transaction
# log has failed integrity checks ... Failed verification of: Table size (bytes) - Expected: X
# Computed: Y"): files written, removed or replaced outside Delta.
DELTA_LOG_CORRUPT: tuple[str, ...] = (r"\btransaction log has failed integrity checks\b",)

# Something a model or report reads that is missing or hidden from its owner (a Fabric/Power BI
# semantic model refresh's "one or multiple source tables either do not exist or access was
# denied").
SOURCE_MISSING_OR_DENIED: tuple[str, ...] = (
    r"\b(?:either )?do(?:es)? not exist or (?:the )?access (?:was|is) denied\b",
)

# A setting a service needs that the request leaves out or leaves unset (Synapse's "Min and max
# executors properties are mandatory fields when dynamic executor allocation is enabled", ADF Get
# Metadata's "FormatSetting property is not initialized.").
REQUIRED_SETTING_UNSET: tuple[str, ...] = (
    r"\b(?:is|are) mandatory (?:(?:fields?|propert(?:y|ies)|settings?|parameters?) )?when\b",
    # OpenSearch Spark's "Checkpoint location is mandatory for incremental refresh if
    # spark.flint.index.checkpoint.mandatory enabled": a setting an enabled option requires.
    r"\b(?:is|are) mandatory for [^\n.]{1,100}\b(?:when|if) [^\n]{1,100}\benabled\b",
    r"\bproperty is not initiali[sz]ed\b",
)

# A Fabric or Power BI workspace that is on no capacity, which publishing or running its items
# needs (fabric-cicd's "Workspace ... does not have an assigned capacity. Please assign a
# capacity before publishing items").
WORKSPACE_WITHOUT_CAPACITY: tuple[str, ...] = (
    r"\bdoes not have an assigned capacity\b",
    r"\bis not assigned to (?:a|any) capacity\b",
    r"\bassign (?:a|the workspace to a) capacity\b",
)

# A Fabric or Power BI capacity that exists but is not running (paused or suspended): the
# service's "CapacityNotActive", "The capacity 'x' is paused". Its state, not its size.
CAPACITY_NOT_ACTIVE: tuple[str, ...] = (
    r"\bcapacitynotactive\b",
    r"\bcapacity (?:'[^'\n]{1,100}' |[\w-]{1,100} )?(?:is|was) "
    r"(?:not active|inactive|paused|suspended)\b",
    r"\bcapacity is in (?:a )?(?:paused|suspended|inactive) state\b",
)

# A Fabric notebook run with no lakehouse attached, which Spark SQL and relative table names
# need ("Spark SQL queries are only possible in the context of a lakehouse. Please attach a
# lakehouse to proceed.").
LAKEHOUSE_NOT_ATTACHED: tuple[str, ...] = (
    r"\bonly possible in the context of a lakehouse\b",
    r"\bplease attach a (?:default )?lakehouse\b",
    r"\bno default lakehouse (?:is )?(?:attached|set|selected|pinned)\b",
)

# A Kafka client its settings could not build ("KafkaException: Failed to construct kafka
# producer", a consumer's or admin client's likewise).
KAFKA_CLIENT_NOT_CONSTRUCTED: tuple[str, ...] = (
    r"\bfailed to construct kafka (?:producer|consumer|admin ?client)\b",
)

# A PostgreSQL server whose wal_level is below logical, which logical decoding (Debezium,
# pgsync, logical replication slots) requires ("ERROR: logical decoding requires wal_level >=
# logical", "Enable logical decoding by setting wal_level=logical").
LOGICAL_DECODING_DISABLED: tuple[str, ...] = (
    r"\blogical decoding requires wal_level\b",
    r"\benable logical decoding by setting wal_level\b",
    r"\bwal_level (?:property )?must be '?logical\b",
)

# A Kubernetes container whose environment or volume refers to a Secret or ConfigMap, or a key
# of one, that is not there (the kubelet's CreateContainerConfigError: "Error: secret
# \"db-creds\" not found", "couldn't find key VALUE in Secret default/app-secret", a volume's
# "MountVolume.SetUp failed for volume \"cfg\" : configmap \"app-config\" not found").
KUBE_SECRET_MISSING: tuple[str, ...] = (
    r"\bcouldn't find key [\w.-]{1,253} in (?:secret|configmap) [\w.-]{1,253}/[\w.-]{1,253}",
    r"\b(?:secrets?|configmaps?) \"[\w.-]{1,253}\" not found\b",
)

# A JDBC/ODBC driver speaking HTTP whose server answered 401 or 403 (Simba's Spark/Databricks
# drivers: "(500593) Communication link failure. Failed to connect to server. Reason: HTTP
# Response code: 403, Error message: Unknown."): the credentials or the identity's access.
DRIVER_HTTP_AUTH_REFUSED: tuple[str, ...] = (
    r"\bfailed to connect to server\. reason: http response code: 40[13]\b",
)

# A table an incremental reader needs change tracking on, without it (Snowflake's "091930: Change
# tracking is not enabled or has been missing for the time range requested" under a stream or
# dynamic table, SQL Server's "Change tracking is not enabled on table 'dbo.x'").
CHANGE_TRACKING_DISABLED: tuple[str, ...] = (r"\bchange tracking is not enabled\b",)

# A table write whose partitioning disagrees with the table's own (BigQuery's "Cannot replace a
# table with a different partitioning spec. ... New partitioning spec is none and existing spec
# is interval(type:month,field:x)", "Cannot add storage to a non-partitioned table with a
# partition reference", "Table with field based partitioning must have a schema", "Incompatible
# table partitioning specification"): the job's or the table's partitioning definition.
TABLE_PARTITIONING_MISMATCH: tuple[str, ...] = (
    r"\bcannot replace a table with a different partitioning spec\b",
    r"\bnon-partitioned table with a partition reference\b",
    r"\btable with field based partitioning must have a schema\b",
    r"\bpartitioning specification must be provided in order to create partitioned table\b",
    r"\bincompatible table partitioning specification\b",
)

# An object a retention policy, hold or immutability policy keeps from being overwritten or
# deleted (GCS "Object 'x' is subject to bucket's retention policy and cannot be deleted,
# overwritten or archived until <time>", "is under active Temporary hold", Azure Blob's
# BlobImmutableDueToPolicy "This operation is not permitted as the blob is immutable due to a
# policy", S3 "Access Denied because object protected by object lock"): the bucket's or
# container's retention setting, not the writer's permissions.
RETENTION_LOCKED_OBJECT: tuple[str, ...] = (
    r"\bis subject to bucket's retention policy\b",
    r"\bis under active (?:temporary|event-based) hold\b",
    r"\bblob is immutable due to (?:a )?(?:policy|legal hold)\b",
    r"\bblobimmutabledueto(?:policy|legalhold)\b",
    r"\bobject protected by object lock\b",
)

# A pod Kubernetes admission refused because its spec breaks the namespace's Pod Security level
# or an admission webhook's policy ('pods "x" is forbidden: violates PodSecurity
# "restricted:latest": ... must set securityContext.runAsNonRoot=true', 'admission webhook
# "validation.gatekeeper.sh" denied the request'): the pod spec or the policy, not an identity's
# permissions.
POD_ADMISSION_REFUSED: tuple[str, ...] = (
    r"\bviolates podsecurity \"[\w.:-]{1,60}\"",
    r"\badmission webhook \"[^\"\n]{1,253}\" denied the request\b",
    r"\bunable to validate against any (?:pod )?security (?:context constraint|policy)\b",
)

# An ECS task no container instance could take for want of a resource ("'failures': [{'arn':
# ..., 'reason': 'RESOURCE:CPU'}]", "has insufficient memory available"): the cluster's free
# CPU, memory, GPUs, ports or ENIs.
ECS_PLACEMENT_NO_RESOURCES: tuple[str, ...] = (
    r"[\"']reason[\"']: ?[\"']resource:(?:cpu|memory|gpu|eni|ports?[\w]{0,10})[\"']",
    r"\bhas insufficient (?:cpu units|memory|gpus?) available\b",
)

# An Airflow 3 task's request to its supervisor the Task SDK refused as malformed ("ValidationError:
# 1 validation error for GetConnection\nconn_id\n  Input should be a valid string
# [type=string_type, input_value=None"): the task code called Connection.get, Variable.get or an
# XCom call with an argument of the wrong type.
TASK_SDK_REQUEST_INVALID: tuple[str, ...] = (
    r"\bvalidation errors? for (?:get|set|put|delete)(?:connection|variable|xcom\w{0,20}"
    r"|assetevents?\w{0,20}|prevsuccessfuldagrun|dagrunstate|ticount|drcount)\b",
)

# An Airflow 3 DAG bundle a DAG or run refers to that the DAG processor's
# dag_bundle_config_list does not list ("ValueError: Requested bundle 'dags-folder1' is not
# configured.").
DAG_BUNDLE_NOT_CONFIGURED: tuple[str, ...] = (
    r"\brequested bundle '[^'\n]{1,200}' is not configured\b",
)

# A task a DAG, as parsed or as the run's DAG version has it, does not have (Airflow's
# "airflow.exceptions.TaskNotFound: Task load not found").
AIRFLOW_TASK_NOT_FOUND: tuple[str, ...] = (r"\btasknotfound\b",)

# A task pulling an XCom its upstream never pushed: Airflow 2's "XComArg result from extract at
# t1 with key=\"return_value\" is not found!", the Airflow 3 Task SDK's "XCom with key
# 'return_value' not found for task 'extract' in DAG 'etl'" (an upstream task id the DAG does
# not have, a task that was skipped or returned nothing).
XCOM_MISSING: tuple[str, ...] = (
    r"\bxcomarg result from [^\n]{1,300}? is not found\b",
    r"\bxcom with key '[^'\n]{1,250}' not found for task\b",
)

# A stored OAuth connection whose token could not be refreshed (Fabric's "ErrorCode:
# 'DMTS_OAuthTokenRefreshFailedError'", "failed to refresh the OAuth token").
OAUTH_REFRESH_FAILED: tuple[str, ...] = (
    r"oauth_?token_?refresh_?failed",
    r"\b(?:failed|unable) to refresh (?:the )?(?:oauth |access )?token\b",
)

# A Power Query (Dataflow, Fabric Dataflow Gen2, Power BI) step whose M expression fails
# ("MashupException.Error: Expression.Error: We cannot convert a value of type Table to type
# Text", "Expression.Error: There weren't enough elements in the enumeration to complete the
# operation").
POWER_QUERY_EXPRESSION: tuple[str, ...] = (r"\bexpression\.error\b",)

# Oracle's native network encryption or checksumming that client and server could not agree on
# (ORA-12650 "No common encryption or data integrity algorithm", ORA-12660 "Encryption or
# crypto-checksumming parameters incompatible", ORA-12599 "TNS:cryptographic checksum
# mismatch"): the SQLNET.ENCRYPTION_* and CRYPTO_CHECKSUM_* settings of the two sides, not the
# credentials or the network.
ORACLE_ENCRYPTION_MISMATCH: tuple[str, ...] = (
    r"\bora-(12650|12660|12599)\b",
    r"no common encryption or data integrity algorithm",
    r"encryption or crypto-checksumming parameters incompatible",
)

# A Dynamics 365 / Dataverse feature control bit (FCB) switched off for what the connector asks
# ("FCB 'EnableRegionalDisco' is disabled": the regional discovery service an Office 365 login
# goes through is retired): the linked service's authentication or endpoint, not the data.
DATAVERSE_FEATURE_DISABLED: tuple[str, ...] = (
    r"\bfcb '(\w{2,80})' is disabled",
    r"regional discovery (?:service )?(?:is )?(?:deprecated|disabled|retired)",
)

# SQL Server refusing a value for a column it fills itself: a rowversion/timestamp column (273
# "Cannot insert an explicit value into a timestamp column"), an identity column while
# IDENTITY_INSERT is off (544), a computed column (271 "The column "x" cannot be modified
# because it is either a computed column or is the result of a UNION operator").
GENERATED_COLUMN_WRITE: tuple[str, ...] = (
    r"cannot insert an explicit value into a (?:timestamp|rowversion) column",
    r"cannot insert explicit value for identity column in table '[^'\n]{1,128}'",
    r"cannot be modified because it is either a computed column",
)

# Unity Catalog refusing a storage location for a catalog, schema or table it is asked to
# create ("NotFound: Failed to validate location for workspace_1961 catalog", "Input path url
# 'abfss://...' overlaps with managed storage within 'CreateTable' call"): no external location
# (or storage credential) covers the path, or the path is storage Unity Catalog manages.
UC_LOCATION_INVALID: tuple[str, ...] = (
    r"failed to validate (?:the )?(?:storage )?location for ([\w.-]{1,120}) (catalog|schema|table)",
    r"\boverlaps with managed storage\b",
)

# A Databricks Connect / Spark Connect client started without the workspace, cluster or
# serverless setting it needs ("Only remote Spark sessions using Databricks Connect are
# supported. Could not find connection parameters to start a Spark remote session", "Cluster id
# or serverless are required but were not specified").
SPARK_CONNECT_CONFIG: tuple[str, ...] = (
    r"could not find connection parameters to start a spark remote session",
    r"only remote spark sessions using databricks connect are supported",
    r"cluster id or serverless (?:are|is) required but (?:were|was) not specified",
    r"cannot start a remote spark session because there is a regular spark session",
)

# A Spark Connect session or operation the server no longer knows ("[INVALID_HANDLE.
# SESSION_CLOSED] The handle ... is invalid. Session was closed.", SESSION_NOT_FOUND,
# OPERATION_ABANDONED): the cluster restarted or the session idled out while the client held it.
SPARK_CONNECT_SESSION_GONE: tuple[str, ...] = (
    r"\binvalid_handle\.(session_closed|session_not_found|session_changed|operation_abandoned"
    r"|operation_not_found)\b",
)

# Spark's analyser refusing a correlated subquery where it cannot plan one
# ("[UNSUPPORTED_SUBQUERY_EXPRESSION_CATEGORY.UNSUPPORTED_CORRELATED_SCALAR_SUBQUERY]
# Correlated scalar subqueries can only be used in filters, aggregations, projections, and
# UPDATE/MERGE/DELETE commands", "Correlated scalar subqueries must be aggregated",
# "Correlated column is not allowed in predicate"): the query's shape, to be rewritten as a join.
UNSUPPORTED_SUBQUERY: tuple[str, ...] = (
    r"\bunsupported_subquery_expression_category\b",
    r"correlated scalar subquer(?:y|ies) (?:can only be used|must be aggregated)",
    r"correlated column is not allowed in (?:a )?(?:non-equality )?predicate",
)

# A gRPC service's RESOURCE_EXHAUSTED status with its reason ("StatusRuntimeException:
# RESOURCE_EXHAUSTED: ... Concurrent stream usage exceeded." from the BigQuery Storage API): a
# quota or concurrency limit of the service, not a failed request.
GRPC_RESOURCE_EXHAUSTED: tuple[str, ...] = (
    r"\bstatusruntimeexception: resource_exhausted\b",
    r"\bconcurrent stream usage exceeded\b",
)

# Spark's memory settings below what it needs to start ("[INVALID_DRIVER_MEMORY] System memory
# 202768384 must be at least 471859200. Please increase heap size using the --driver-memory
# option or "spark.driver.memory"", INVALID_EXECUTOR_MEMORY "Executor memory 1 must be at
# least 471859200"): the job's configuration, raised before any data is read.
SPARK_MEMORY_SETTING: tuple[str, ...] = (
    r"\binvalid_(driver|executor)_memory\b",
    r"\b(system|executor) memory \d{1,20} must be at least \d{1,20}",
)

# Airflow's own metadata database behind the installed Airflow: a table or column the code
# reads is not there ("no such column: task_instance.pool_slots", "relation "dag" does not
# exist", "column base.dag_id does not exist" on task_reschedule): the schema was not migrated
# (`airflow db migrate`) after an upgrade, or the database was never initialised.
AIRFLOW_METADATA_SCHEMA: tuple[str, ...] = (
    r"(?:no such column|unknown column|column)[: ]+['\"`]?((?:task_instance|dag_run"
    r"|serialized_dag|rendered_task_instance_fields|task_reschedule|dag_code|slot_pool"
    r"|dag_tag|sla_miss|task_fail|import_error|dag_warning|dataset_event|xcom)\.\w{1,64})",
    r"(?:relation|table) ['\"`]?(?:\w{1,64}\.)?(dag|dag_run|task_instance|serialized_dag"
    r"|slot_pool|ab_user|dag_code|xcom|task_reschedule)['\"`]? does(?:n't| not) exist",
    r"no such table: (dag|dag_run|task_instance|serialized_dag|slot_pool|ab_user|xcom)\b",
)

# A value a loader could not read as the column's type ("Error parsing Numeric:
# '15600249032015053115'", "error parsing date: '31/02/2020'").
VALUE_PARSE_FAILED: tuple[str, ...] = (
    r"\berror parsing (?:numeric|integer|int|bigint|float|double|decimal|number|date|timestamp"
    r"|time|boolean|bool)\b[: ]{1,3}['\"]",
)

# A hook or client used before its connection was set up (Airflow's SmtpHook "The smtp
# connection should be loaded before!"): the connection id is missing or was never loaded.
CONNECTION_NOT_LOADED: tuple[str, ...] = (r"\bthe (\w{2,40}) connection should be loaded before\b",)

# SQL Server's Distributed Transaction Coordinator not answering for a distributed query or
# transaction ("Failed to execute query. Error: MSDTC on server 'SQL01' is unavailable", Azure
# Synapse's dedicated pool among them): the coordinator service on that server, not the query.
MSDTC_UNAVAILABLE: tuple[str, ...] = (
    r"\bmsdtc on server '([^'\n]{1,128})' is unavailable",
    r"\bdistributed transaction coordinator (?:\(msdtc\) )?(?:is )?(?:unavailable|not available)",
)

# SQL Server giving up on a query too complex to compile (8632 "Internal error: An expression
# services limit has been reached", 8623 "The query processor ran out of internal resources and
# could not produce a query plan"): the query's shape (huge IN lists, deep nesting), to be split
# or simplified, not a fault of the server.
QUERY_TOO_COMPLEX: tuple[str, ...] = (
    r"\ban expression services limit has been reached\b",
    r"\bquery processor ran out of internal resources and could not produce a query plan\b",
)

# A DB-API driver refusing a query whose parameters do not fit its placeholders (psycopg 3 "the
# query has 0 placeholders but 3 parameters were passed", sqlite3 "Incorrect number of bindings
# supplied. The current statement uses 1, and there are 2 supplied."): the code that builds the
# call, not the database.
QUERY_PARAMETER_COUNT: tuple[str, ...] = (
    r"\bthe query has (\d{1,6}) placeholders? but (\d{1,6}) parameters? (?:were|was) passed\b",
    r"\bincorrect number of bindings supplied\. the current statement uses (\d{1,6}), and there"
    r" are (\d{1,6}) supplied\b",
)

# An Azure management API version the subscription or region does not offer ("Api version
# '2018-06-01' is not available for your subscription", "No registered resource provider found
# for location 'westus' and API version '2015-01-01' for type 'factories'"): the client's or
# template's api-version, or the provider's registration.
API_VERSION_UNAVAILABLE: tuple[str, ...] = (
    r"\bapi version '([\w.-]{4,40})' is not available for (?:your|this|the) subscription",
    r"\bno registered resource provider found for location '[^'\n]{1,60}' and api version"
    r" '([\w.-]{4,40})'",
)

# A JVM started with a main class it cannot find on its classpath ("Error: Could not find or
# load main class com.acme.Main", Spark/HDInsight and ADF custom activities): the class name,
# the jar or the arguments that were taken for the class.
JAVA_MAIN_CLASS_MISSING: tuple[str, ...] = (
    r"\bcould not find or load main class ([\w.$-]{1,200})",
)

# A client refusing to trust a certificate whose revocation it could not check by OCSP
# (Snowflake's 254007 "Response is unreliable. Its validity date is out of range", 254005
# "Could not fetch OCSP Response from server"): the OCSP responder or the host's clock, reached
# through a proxy or firewall, not the credentials or the database.
OCSP_CHECK_FAILED: tuple[str, ...] = (
    r"\bresponse is unreliable\. its validity date is out of range\b",
    r"\bcould not fetch ocsp response\b",
    r"\bocsp response (?:is )?(?:invalid|unreliable|expired)\b",
)

# A YARN container killed for its memory (Hadoop 3 "Container [pid=...] is running 30707712B
# beyond the 'PHYSICAL' memory limit", Hadoop 2 "is running beyond physical memory limits"):
# the container's memory setting against what the process used.
YARN_CONTAINER_MEMORY: tuple[str, ...] = (
    r"\bbeyond the '(physical|virtual)' memory limit\b",
    r"\bis running beyond (physical|virtual) memory limits\b",
)

# A data file a Delta table's transaction log still lists but storage no longer holds
# (DELTA_FILE_NOT_FOUND_DETAILED "File abfss://.../part-00017.snappy.parquet referenced in the
# transaction log cannot be found"): files deleted outside the table (a manual delete, a VACUUM
# with a short retention) under a reader that still needs them.
DELTA_FILE_MISSING: tuple[str, ...] = (
    r"\bfile ([^\s]{1,500}) referenced in the transaction log cannot be found\b",
    r"\bdelta_file_not_found_detailed\b",
)

# A Delta table read or written as another format, or plain files as Delta (Databricks
# "Incompatible format detected. A transaction log for Delta was found at `...`, but you are
# trying to read from `...` using format("csv")"; "... using Databricks Delta, but there is no
# transaction log present"): the format or the path the code names.
DELTA_FORMAT_MISMATCH: tuple[str, ...] = (
    r"\bincompatible format detected\b",
    r"\bbut you are trying to (?:read from|write to) `[^`\n]{1,500}` using format\(\"?(\w{1,20})",
)

# A result larger than the service hands back: BigQuery's query results without a destination
# table (responseTooLarge), an Airflow mapped task's upstream list over [core] max_map_length.
RESULT_OVER_SIZE_CAP: tuple[str, ...] = (
    r"response too large to return",
    r"responsetoolarge",
    r"unmappable return value (?:length|size): (\d{1,12}) > (\d{1,12})",
)

# Airflow's note when a worker's log server refuses the webserver (403) over a [webserver]
# secret_key the components do not share.
LOG_SERVER_SECRET_MISMATCH: tuple[str, ...] = (
    r"have the same 'secret_key' configured in 'webserver' section",
)

# What an Airflow operator raises when the program it ran exited non-zero, the exit code its
# only content (the program's own error is in the task log, logged line by line before it):
# BashOperator's "Bash command failed. The command returned a non-zero exit code 1.",
# SparkSubmitOperator's "Cannot execute: spark-submit ... Error code is: 1.", SSHOperator's
# "SSH operator error: exit status = 1". The group is the exit code.
OPERATOR_EXIT_CODE: tuple[str, ...] = (
    r"\bbash command failed\. the command returned a non-zero exit code (-?\d{1,5})\b",
    r"\bcannot execute: [^\n]{0,2000}?\. error code is: (-?\d{1,5})\b",
    r"\bssh operator error: exit status = (-?\d{1,5})\b",
)


# A query the engine gave up on after its time ran out (Kusto's "Query execution has resulted in
# error (0x80DA0006): Query is expired", "query expired"): the query's timeout, not the data.
QUERY_EXPIRED: tuple[str, ...] = (
    r"\bquery (?:is|has|was) expired\b",
    r"\bquery expired\b",
    r"\bquery execution (?:has |was )?expired\b",
)

# A name a query refers to that the engine could not resolve to a table or column (Kusto and
# Azure Data Explorer "'where' operator: Failed to resolve table or column expression named
# 'X'", "Failed to resolve scalar expression named 'y'"): a missing table or column, not DNS.
QUERY_NAME_UNRESOLVED: tuple[str, ...] = (
    r"\bfailed to resolve (?:table|column|scalar|entity|table or column)"
    r"(?: or column)? expression named '([^'\n]{1,200})'",
)

# Compute that did not come up in time, reported by a code ending in _TIMED_OUT (Synapse's
# "CLUSTER_CREATION_TIMED_OUT ... Cluster was in terminal state=[Cancelled] before it reached
# 'Ready' state"): the pool or cluster never became ready for the job.
COMPUTE_START_TIMED_OUT: tuple[str, ...] = (
    r"\b(?:cluster|pool|session|spark|livy|node|instance|compute)_(?:creation|startup|start"
    r"|launch|provisioning|acquisition)_timed_?out\b",
    r"\bterminal state=\[\w{1,30}\] before it reached '?ready'? state",
)

# A dbt node disabled in the project that another one still refers to ("Model 'model.p.a' ...
# depends on a node named 'b' in package or project 'p' which is disabled"): the node's enabled
# config, not a typo in the ref().
DBT_REF_DISABLED: tuple[str, ...] = (
    r"depends on an? (?:node|source|model|metric|semantic model|exposure|snapshot|seed) named "
    r"'[^'\n]{1,200}'[^\n]{0,200}? which is disabled",
)

# A Power BI / Fabric semantic model whose sources the service cannot refresh ("You can't
# schedule refresh for this semantic model because the following data sources currently don't
# support refresh: - Data source for Query1"): how the query reaches its source, not access.
REFRESH_UNSUPPORTED_SOURCE: tuple[str, ...] = (
    r"can(?:'|no)t schedule refresh for this (?:semantic model|dataset)",
    r"data sources? (?:currently )?(?:don't|do not|doesn't|does not) support refresh",
)

# Spark code run after its session was stopped or with none created ("[NO_ACTIVE_SESSION] No
# active Spark session found", "Cannot call methods on a stopped SparkContext"): the job's own
# call order, not the cluster.
SPARK_SESSION_STOPPED: tuple[str, ...] = (
    r"\bno_active_session\b",
    r"\bno active spark session found\b",
    r"\bcannot call methods on a stopped sparkcontext\b",
)

# A SQL statement that names a parameter the caller did not bind (Spark and Databricks SQL
# "[UNBOUND_SQL_PARAMETER] Found the unbound parameter: p1", SQL Server "Must declare the scalar
# variable \"@p\"", python-oracledb "not all variables bound"): the call's arguments.
SQL_PARAMETER_UNBOUND: tuple[str, ...] = (
    r"\bfound the unbound parameter:? ?`?(\w{1,100})",
    r"\bunbound_sql_parameter\b",
    r"\bmust declare the scalar variable \"?(@\w{1,100})",
    r"\bnot all variables bound\b",
)

# A string longer than its column's declared CHAR/VARCHAR length (Spark's "[EXCEED_LIMIT_LENGTH]
# Exceeds char/varchar type length limitation: 255"): the data, not the engine.
VALUE_OVER_COLUMN_LENGTH: tuple[str, ...] = (
    r"\bexceeds? char/varchar type length limitation:? ?(\d{1,6})",
    r"\bexceed_limit_length\b",
    # Derby (22001): "A truncation error was encountered trying to shrink VARCHAR 'abc&' to
    # length 32672."
    r"\btruncation error was encountered trying to shrink\b",
)

# An Airflow 3 task's request for something the API server does not have (the Task SDK's
# "AirflowRuntimeError: ASSET_NOT_FOUND: {'name': 'x'}", VARIABLE_NOT_FOUND, CONNECTION_NOT_FOUND):
# the thing the DAG refers to is not defined in this deployment. The group is its kind.
AIRFLOW_RUNTIME_NOT_FOUND: tuple[str, ...] = (
    r"\b(asset_alias|asset|variable|connection|dag_run|dag)_not_found\b",
)

# A query or job that makes more partitions than the engine allows (BigQuery's "Too many
# partitions produced by query, allowed 4000, query produces at least 4272 partitions"): a limit
# the table's partitioning hits, fixed whatever the retry.
PARTITION_COUNT_LIMIT: tuple[str, ...] = (
    r"\btoo many partitions produced by (?:query|job|the query)\b",
    r"\ballowed (\d{1,9}),? (?:query|job) produces at least (\d{1,12}) partitions\b",
)

# A program built for another CPU architecture than the machine's ("exec /bin/sh: exec format
# error", "standard_init_linux.go:228: exec user process caused: exec format error", "OSError:
# [Errno 8] Exec format error"): an amd64 image on an arm64 node, or the reverse.
EXEC_FORMAT_ERROR: tuple[str, ...] = (r"\bexec format error\b",)

# A Slack post or edit refused for its channel (the Web API's "{'ok': False, 'error':
# 'channel_not_found'}", not_in_channel, is_archived; chat.update's is_inactive, its answer for a
# message in an archived, frozen or deleted channel): the channel name, the bot's membership, or
# the channel's being archived.
SLACK_CHANNEL_UNUSABLE: tuple[str, ...] = (
    r"['\"]error['\"]: ?['\"](channel_not_found|not_in_channel|is_archived|is_inactive)['\"]",
    r"\bslack\b[^\n]{0,200}\b(channel_not_found|not_in_channel|is_archived|is_inactive)\b",
)

# A CREATE of a table, view or database that is already there (Hive's "AlreadyExistsException(
# message:Table x already exists)", Spark's [TABLE_OR_VIEW_ALREADY_EXISTS], PostgreSQL's
# 'relation "x" already exists', SQL Server's "There is already an object named 'x' in the
# database"): a DDL statement that is not idempotent. The group is the object's name. Not
# PostgreSQL's NOTICE 'relation "x" already exists, skipping' (a CREATE ... IF NOT EXISTS that
# did what it should, logged by many a job beside its real error).
TABLE_ALREADY_EXISTS: tuple[str, ...] = (
    r"alreadyexistsexception\(message: ?(?:table|view|database) ([^)\n]{1,200}?) already exists",
    r"\[table_or_view_already_exists\] cannot create (?:table or view|table|view) "
    r"([^\n]{1,200}?) because it already exists",
    r"\brelation \"([^\"\n]{1,200})\" already exists(?!,? skipping)",
    r"\bthere is already an object named '([^'\n]{1,200})' in the database",
)

# A write whose columns do not line up with the table's (Spark's "not enough data columns;
# target table has 2 column(s) but the inserted data has 1 column(s)",
# [INSERT_COLUMN_ARITY_MISMATCH], SQL Server's "Column name or number of supplied values does
# not match table definition", PostgreSQL's "INSERT has more expressions than target columns"):
# the statement or DataFrame, not the values. The groups are the table's and the data's counts.
INSERT_COLUMN_COUNT_MISMATCH: tuple[str, ...] = (
    r"\b(?:not enough|too many) data columns;? target table has (\d{1,5}) column\(s\) but the "
    r"inserted data has (\d{1,5}) column",
    r"\binsert_column_arity_mismatch\b",
    r"\bcolumn name or number of supplied values does not match table definition\b",
    r"\binsert has more (?:expressions than target columns|target columns than expressions)\b",
)


def operator_exit_code(codes: str) -> str:
    """One regex matching an operator's exit-code-only error (OPERATOR_EXIT_CODE) whose code is
    one of `codes` (a regex alternation of numbers, e.g. "126|127")."""
    return any_of(
        *(phrase.replace(r"(-?\d{1,5})\b", rf"(?:{codes})\b") for phrase in OPERATOR_EXIT_CODE)
    )


# An ADF or Synapse Fail activity whose message or error code evaluated to something it cannot
# use ("Failed to interpret Ingestion Failed Error fail message or error code", its output's
# errorCode "ErrorCodeNotString"): the activity's expressions, not the failure they report. The
# group is the Fail activity's name.
FAIL_ACTIVITY_UNINTERPRETABLE: tuple[str, ...] = (
    r"\bfailed to interpret ([^\n]{1,200}?) fail message or error code\b",
    r"\berrorcodenotstring\b",
)

# Rows a dataflow or load refused to write while the rest went in (Power BI's and Dataverse's
# "The dataflow refresh completed, but some rows have failed to upsert", "12 rows failed to
# insert"): the values of those rows against the destination. Not "0 rows failed".
ROWS_FAILED_TO_WRITE: tuple[str, ...] = (
    r"\bsome rows (?:have |has )?failed to (?:upsert|insert|load|write)\b",
    r"\b[1-9]\d{0,11} rows? (?:have |has )?failed to (?:upsert|insert|load|write)\b",
)

# A Unity Catalog storage credential that is not there (UnityCatalogServiceException's
# DAC_DOES_NOT_EXIST "Root storage credential for metastore m does not exist", "Storage
# credential 'c' does not exist"): the metastore's or external location's setup, not a
# credential that was refused.
STORAGE_CREDENTIAL_MISSING: tuple[str, ...] = (
    r"\bdac_does_not_exist\b",
    r"\bstorage credential (?:for (?:the )?metastore [\w-]{1,100} |'[^'\n]{1,100}' "
    r"|`[^`\n]{1,100}` |[\w-]{1,100} )?does not exist\b",
)

# A Delta table looked up by name or path that is not there (Databricks' "[DELTA_TABLE_NOT_FOUND]
# Delta table `s`.`t` doesn't exist."). The group is the table's name.
DELTA_TABLE_NOT_FOUND: tuple[str, ...] = (
    r"\[delta_table_not_found\] delta table ([^\n]{1,200}?) (?:doesn't|does not) exist",
    r"\bdelta_table_not_found\b",
)

# An Airflow task assigned to a pool the metadata database does not have (PoolNotFound "Unknown
# pool: etl", "Task specified a pool (etl) but the pool doesn't exist"). The group is the
# pool's name.
AIRFLOW_POOL_NOT_FOUND: tuple[str, ...] = (
    r"\bpoolnotfound: unknown pool: ?([\w.-]{1,100})",
    r"\bspecified a pool \(([\w.-]{1,100})\) but the pool (?:doesn't|does not) exist\b",
    r"\bpoolnotfound\b",
)

# An Airflow id or key over the metadata database's length ("The key has to be less than 250
# characters", "The key: sales.load... has to be less than 250 characters"): the dag_id,
# task_id or group_id as composed (nested task groups add their ids).
IDENTIFIER_TOO_LONG: tuple[str, ...] = (
    r"\bthe key\b[^\n]{0,300}? has to be less than (\d{1,5}) characters\b",
)

# A container image reference the runtime cannot use (Azure Batch's ContainerInvalidImage "One
# or more container images specified are invalid", Kubernetes' InvalidImageName): the image
# name or tag as written.
CONTAINER_IMAGE_INVALID: tuple[str, ...] = (
    r"\bcontainerinvalidimage\b",
    r"\bcontainer images? specified (?:are|is) invalid\b",
    r"\binvalidimagename\b",
)

# A Slack Web API call refused for its token ("{'ok': False, 'error': 'invalid_auth'}",
# slacker's "Error: invalid_auth", not_authed, token_revoked, token_expired, account_inactive).
# The group is Slack's error code.
SLACK_AUTH_REFUSED: tuple[str, ...] = (
    r"['\"]error['\"]: ?['\"](invalid_auth|not_authed|token_revoked|token_expired"
    r"|account_inactive)['\"]",
    r"\bslack(?:er|_sdk)?\b[^\n]{0,200}\b(invalid_auth|not_authed|token_revoked|token_expired"
    r"|account_inactive)\b",
)


# Two settings of a source, sink or dataset that cannot be set together (ADF data flows'
# "Timestamp and version can't be set at the same time", "Recreate and truncate options can't be
# both specified", "Excel sheet name and index cannot exist at the same time"). The group is
# the two settings as the message names them.
SETTINGS_CONFLICT: tuple[str, ...] = (
    r"\b([\w-]{1,40}(?: [\w-]{1,40}){0,3} and [\w-]{1,40}(?: [\w-]{1,40}){0,2}?)(?: options?)? "
    r"(?:can't|cannot|can not) (?:be both|both be|be) (?:set|specified|used) "
    r"(?:at the same time|together)",
    r"\b([\w-]{1,40}(?: [\w-]{1,40}){0,3} and [\w-]{1,40}(?: [\w-]{1,40}){0,2}?)(?: options?)? "
    r"(?:can't|cannot|can not) (?:be both specified|both be specified|exist at the same time)",
)

# A setting a source, sink or format needs for the operation it is asked to do (ADF data flows'
# "Partition key path should be specified for update and delete operations", "Key column(s)
# should be specified for non-insertable operations", "Column delimiter is required for
# parse"). The first group is the setting, the second the operation.
SETTING_REQUIRED_FOR_OPERATION: tuple[str, ...] = (
    r"\b([\w-]{1,40}(?: [\w()-]{1,40}){0,3}) (?:should|must) be specified for "
    r"([\w-]{1,40}(?: [\w-]{1,40}){0,3}) operations?\b",
    r"\b(?!(?:it|this|that|which) )([\w-]{1,40}(?: [\w-]{1,40}){0,3}) is required for "
    r"(pars(?:e|ing))\b",
)

# A storage or database key a linked service gave that the store refused (ADF data flows'
# "Please make sure that the access key in your Linked Service is correct", Cosmos DB's "The
# input authorization token can't serve the request").
LINKED_SERVICE_KEY_REJECTED: tuple[str, ...] = (
    r"\bmake sure (?:that )?the (?:account name or )?access key in your linked service is "
    r"correct\b",
    r"\bthe input authorization token can'?t serve the request\b",
)

# A data flow expression that cannot be read or names a field its struct lacks (ADF data flows'
# DF-Executor-ParseError "Expression cannot be parsed", DF-Executor-FieldNotExist "Field in
# struct does not exist").
DATA_FLOW_EXPRESSION_INVALID: tuple[str, ...] = (
    r"\bexpression (?:cannot|can't|could not) be parsed\b",
    r"\bfield in struct does not exist\b",
)

# A parameter passed a value of another type than it declares (ADF data flows'
# DF-Executor-InvalidType "Please make sure that the type of parameter matches with type of value
# passed in. Passing float parameters from pipelines isn't currently supported.").
PARAMETER_TYPE_MISMATCH: tuple[str, ...] = (
    r"\btype of (?:the )?parameter matches (?:with )?(?:the )?type of (?:the )?value passed\b",
    r"\bpassing (\w{1,20}) parameters from pipelines isn't currently supported\b",
)

# A connector setting given a value or use the connector does not take (ADF data flows' "Storage
# type can either be blob or gen2", "Only privacy regulation that's currently supported is
# 'GDPR'", "Github store does not allow writes", "partition key should start with /", "Use
# 'Stored procedure' as Source is not supported for serverless (on-demand) pool", "File names
# cannot have empty value(s) while file name option is set as per partition", "Invalid
# connection mode").
SETTING_VALUE_UNSUPPORTED: tuple[str, ...] = (
    r"\b[\w-]{1,40}(?: [\w-]{1,40}){0,2} can (?:only )?either be [\w-]{1,40} or [\w-]{1,40}\b",
    r"\bonly [\w-]{1,40}(?: [\w-]{1,40}){0,2} (?:that's|that is) currently supported is\b",
    r"\b[\w-]{1,40} store does not allow writes\b",
    r"\bpartition key (?:path )?(?:should|must) start with\b",
    r"\buse '[^'\n]{1,60}' as (?:source|sink) is not supported\b",
    r"\b[\w-]{1,40}(?: [\w-]{1,40}){0,2} cannot have empty value(?:\(s\)|s)? while\b",
    r"\binvalid (?:[\w-]{1,30} )?(?:connection|validation) mode\b",
)

# A file whose content is not in a form the data flow reads (ADF data flows' "Invalid excel file
# is provided while only .xlsx and .xls are supported", "XML Element has sub elements or
# attributes which can't be converted"). The group is the file format.
FILE_CONTENT_UNREADABLE: tuple[str, ...] = (
    r"\binvalid (excel|xml|json|parquet|avro|orc|csv) file is provided\b",
    r"\b(xml) element has sub ?elements or attributes which can't be converted\b",
)


# A Spark configuration the run set or needs that Spark refuses: one it may not change at run
# time (CANNOT_MODIFY_CONFIG "Cannot modify the value of the Spark config:
# "spark.executor.memory""), one that does not exist (SQL_CONF_NOT_FOUND), a feature its config
# leaves off (FEATURE_NOT_ENABLED "Consider setting the config c to true"), a streaming state
# store setting changed between restarts of a query (STATE_STORE_INVALID_CONFIG_AFTER_RESTART),
# and a write mode a Delta table property turns off (DELTA_DYNAMIC_PARTITION_OVERWRITE_DISABLED).
# The groups name the config (and the feature or property).
SPARK_CONFIG_REJECTED: tuple[str, ...] = (
    r"\bcannot modify the value of the spark config: \"?([\w.-]{1,120})",
    r"\bthe sql config \"?([\w.-]{1,120})\"? cannot be found\b",
    r"\bthe feature ([^\n.]{1,80}?) is not enabled\. consider setting the config "
    r"([\w.-]{1,120}) to (\w{1,20})\b",
    r"\bcannot change ([\w.-]{1,120}) from [^\s]{1,200} to [^\s]{1,200} between "
    r"(?:query )?restarts\b",
    r"\bis specified by session config or write options, but it is disabled by "
    r"`?([\w.-]{1,120}=\w{1,20})",
)

# Two read or write options given together where one excludes the other (Spark's
# STDS_CONFLICT_OPTIONS "The options batchId, snapshotStartBatchId cannot be specified together",
# Delta's "A 'replaceWhere' expression and 'partitionOverwriteMode'='dynamic' cannot both be set
# in the DataFrameWriter options", "'overwriteSchema' cannot be used in dynamic partition
# overwrite mode"). The groups name the options.
OPTIONS_SET_TOGETHER: tuple[str, ...] = (
    r"\bthe options ([\w`'., -]{1,160}?) cannot be specified together\b",
    r"\b(?:an? )?('[\w.-]{1,60}'(?: expression)?) and ('[\w.-]{1,60}'(?:='[\w.-]{1,30}')?) "
    r"cannot both be set in the \w{1,40} options\b",
    r"('[\w.-]{1,60}') cannot be used in (dynamic partition overwrite) mode\b",
)

# A Delta table whose schema or operation needs a table feature the table has not enabled
# (DELTA_FEATURES_REQUIRE_MANUAL_ENABLEMENT "Your table schema requires manually enablement of the
# following table feature(s): timestampNtz", DELTA_FEATURE_REQUIRES_HIGHER_WRITER_VERSION).
# The group names the features.
DELTA_TABLE_FEATURE_MISSING: tuple[str, ...] = (
    r"\brequires manual(?:ly)? enablement of the following table feature\(s\): "
    r"([\w, -]{1,200}?)\.?(?:\s|$)",
    r"\bunable to enable table feature ([\w-]{1,60}) because it requires a higher "
    r"(?:reader|writer) protocol version\b",
)

# A table created at a location that holds files but is not a Delta table, or registered over
# a path without a Delta transaction log (DELTA_CREATE_TABLE_WITH_NON_EMPTY_LOCATION,
# DELTA_CREATE_EXTERNAL_TABLE_WITHOUT_TXN_LOG). The group is the location.
TABLE_LOCATION_NOT_DELTA: tuple[str, ...] = (
    r"\bthe associated location \('([^'\n]{1,300})'\) is not empty and also not a delta table\b",
    r"\bthere is no transaction log present at\s{1,3}`?([^`\s]{1,300})`?",
)

# A value or file Spark reads that is not of the type the read expects: a JSON field's value
# (CANNOT_PARSE_JSON_FIELD), an empty string for a typed field (EMPTY_JSON_FIELD_VALUE), a Parquet
# column of another physical type (FAILED_READ_FILE.PARQUET_COLUMN_DATA_TYPE_MISMATCH) and Avro
# data written with a schema the reader does not know (ERROR_READING_AVRO_UNKNOWN_FINGERPRINT).
SPARK_READ_TYPE_MISMATCH: tuple[str, ...] = (
    r"\bcannot parse the field name `?([\w.-]{1,80})`? and the value ([^\n]{1,80}?) of the "
    r"json token type \w{1,30} to target spark data type \"?([\w(), ]{1,40}?)\"?\.",
    r"\bfailed to parse an empty string for data type \"?([\w(), ]{1,40}?)\"?\.",
    r"\bdata type mismatches when reading parquet column `?([\w.-]{1,80})`?\. expected spark "
    r"type \"?([\w(), ]{1,40}?)\"?, actual parquet type \"?([\w(), ]{1,40}?)\"?\.",
    r"\berror reading avro data -- encountered an unknown fingerprint: (-?\d{1,25})",
)

# A struct field a query names that the struct does not have (FIELD_NOT_FOUND "No such struct
# field `zip` in `street`, `city`"). The groups are the field and the fields there are.
STRUCT_FIELD_MISSING: tuple[str, ...] = (
    r"\bno such struct field `?([\w.-]{1,80})`? in ([^\n]{1,300}?)\.?(?: sqlstate|\n|$)",
)

# A MERGE whose INSERT clause leaves out a column of the target table
# (DELTA_COLUMN_NOT_FOUND_IN_MERGE). The groups are the column and the columns inserted.
MERGE_INSERT_COLUMN_MISSING: tuple[str, ...] = (
    r"\bunable to find the column '([\w.-]{1,80})' of the target table from the insert columns: "
    r"([^\n]{1,300}?)\. insert clause must specify value for all the columns\b",
)

# A predicate that may reference only partition columns and references another
# (DELTA_NON_PARTITION_COLUMN_REFERENCE). The groups are the column and the partition columns.
PARTITION_PREDICATE_INVALID: tuple[str, ...] = (
    r"\bpredicate references non-partition column '([\w.-]{1,80})'\. only the partition columns "
    r"may be referenced: \[([^\]\n]{1,200})\]",
)

# A column a join of a DataFrame with itself (or one derived from it) cannot tell apart
# (AMBIGUOUS_COLUMN_REFERENCE). The group is the column.
AMBIGUOUS_COLUMN_REFERENCE: tuple[str, ...] = (
    r"\bcolumn \"?([\w.-]{1,80})\"? is ambiguous\. it's because you joined several "
    r"data(?:frame|set)s? together\b",
)

# A default database (schema) the session is set to that does not exist
# (DEFAULT_DATABASE_NOT_EXISTS). The group is the database.
DEFAULT_DATABASE_MISSING: tuple[str, ...] = (
    r"\bdefault database `?([\w.-]{1,120})`? does not exist\b",
)

# dbt that cannot read its project: no dbt_project.yml where it runs ("Not a dbt project (or any
# of the parent directories). Missing dbt_project.yml file"), or a project setting its schema
# refuses ("at path ['name']: 'jaffle-shop' does not match ..."). The groups are the setting's
# path and value.
DBT_PROJECT_UNREADABLE: tuple[str, ...] = (
    r"\bnot a dbt project \(or any of the parent directories\)",
    r"\berror while reading the project:(?:.|\n){0,80}?\bat path \[([^\]\n]{1,80})\]: "
    r"([^\n]{1,80}?) (?:does not match|is not of type|is not valid)\b",
)

# A streaming query's state store that did not fit in memory when loaded
# (CANNOT_LOAD_STATE_STORE.ROCKSDB_STORE_PROVIDER_OUT_OF_MEMORY). The group is the store kind.
STATE_STORE_OUT_OF_MEMORY: tuple[str, ...] = (
    r"\bcould not load (rocksdb|hdfs) state store with id [^\n]{0,400}? because of an out of "
    r"memory exception\b",
)

# A source directory read with no file in it (Delta's DELTA_EMPTY_DIRECTORY "No file found in the
# directory: path"). The group is the directory.
DIRECTORY_HAS_NO_FILES: tuple[str, ...] = (
    r"\bno files? found in the directory: ([^\s]{1,300}?)\.?(?:\s|$)",
)

# A Delta log checkpoint some of whose part files are gone (DELTA_MISSING_PART_FILES "Couldn't find
# all part files of the checkpoint version: 1200"). The group is the version.
DELTA_CHECKPOINT_PARTS_MISSING: tuple[str, ...] = (
    r"\bcouldn't find all part files of the checkpoint version: (\d{1,20})",
)

# A NOT NULL constraint added to a Delta table that rows already there break
# (DELTA_NEW_NOT_NULL_VIOLATION "12 rows in main.sales.orders violate the new NOT NULL constraint
# on customer_id"). The groups are the row count, the table and the column.
NEW_NOT_NULL_CONSTRAINT_VIOLATED: tuple[str, ...] = (
    r"\b(\d{1,20}) rows? in ([\w.`-]{1,200}) violates? the new not null constraint on "
    r"`?([\w.-]{1,80})",
)

# A MERGE with several WHEN [NOT] MATCHED clauses where one other than the last has no condition
# (DELTA_NON_LAST_MATCHED_CLAUSE_OMIT_CONDITION and its NOT MATCHED variants). The group is the
# clause.
MERGE_CLAUSE_CONDITION_MISSING: tuple[str, ...] = (
    r"\bonly the last ((?:not )?matched(?: by source)?) clause can omit the condition\b",
)


# Airflow tasks the executor took and no worker started before a timeout: the scheduler failing
# task instances stuck in queued past [scheduler] task_queued_timeout ("Marked the following 85
# task instances stuck in queued as failed."), and the Celery executor giving up on tasks it
# adopted from an earlier scheduler ("Adopted tasks were still pending after 0:10:00, assuming
# they never made it to celery and clearing:"). The groups are the count and the wait.
TASKS_STUCK_IN_QUEUE: tuple[str, ...] = (
    r"\bmarked the following (\d{1,7}) task instances? stuck in queued as failed\b",
    r"\badopted tasks were still pending after ([\d:.]{1,20}), assuming they never made it to "
    r"celery\b",
)

# An Airflow Celery worker whose `airflow tasks run` command for a task exited non-zero
# ("Celery command failed on host: slautop02 with celery_task_id 5d7f...  (PID: 815333, Return
# Code: 256)"). The groups are the host and the return code.
CELERY_COMMAND_FAILED: tuple[str, ...] = (
    r"\bcelery command failed on host: ?([\w.*-]{1,120}) with celery_task_id [\w.-]{1,60}"
    r"(?: \(pid: ?\d{1,10}, return code: ?(-?\d{1,6})\))?",
)

# A Celery broker reached through Redis Sentinel that is set up wrong: a sentinel:// broker URL
# with no master_name transport option ("'master_name' transport option must be specified."),
# or Sentinels that know no master of the configured name ("No master found for
# 'airflowmaster'"). The group is the master's name.
REDIS_SENTINEL_MISCONFIGURED: tuple[str, ...] = (
    r"'master_name' transport option must be specified\b",
    r"\b(?:masternotfounderror: )?no master found for '([\w.:-]{1,120})'",
)

# A container registry that answered a server error while Kubernetes pulled a pod's image ("failed
# to fetch anonymous token: unexpected status from GET https://auth.docker.io/token?...: 502 Bad
# Gateway"). The groups are the registry host and the status.
IMAGE_REGISTRY_UNAVAILABLE: tuple[str, ...] = (
    r"\bfailed to (?:fetch (?:anonymous|oauth) token|authorize|pull and unpack image|resolve "
    r"reference)\b[^\n]{0,80}?\s{0,4}unexpected status (?:code )?(?:from \w{3,6} "
    r"https?://([\w.-]{1,120})[^\s]{0,300}?: )?(5\d\d)\b",
)

# A T-SQL statement given a value its option does not take ("CREATE/ALTER WORKLOAD GROUP
# statement failed because a non-integer value 9.6 for MIN_RESOURCE_PERCENTAGE is not allowed.
# The value should be an integer between 0 and 100."). The groups are the statement, the value,
# the option and what it takes.
STATEMENT_VALUE_NOT_ALLOWED: tuple[str, ...] = (
    r"\b([A-Z/]{3,40}(?: [A-Z]{2,40}){0,3}) statement failed because a ([\w -]{1,40}?) value "
    r"([^\s]{1,60}) for ([\w.]{1,80}) is not allowed\.\s{1,3}the value should be ([^\n.]{1,120})",
)

# A Synapse Spark pool given a node count outside what it allows ("A Spark pool cannot have 1
# nodes; it must have between 3 and 200 nodes."). The groups are the count and the range.
NODE_COUNT_OUT_OF_RANGE: tuple[str, ...] = (
    r"\bspark pool cannot have (\d{1,6}) nodes?; it must have between (\d{1,6}) and (\d{1,6}) "
    r"nodes\b",
)

# A Synapse or ADF activity that could not hand its notebook or Spark job to the Spark pool's Livy
# endpoint (errorCode 5000 "Failed to send request to Livy due to
# exception=[Microsoft.Marlin.Common.Exception.LivyException].").
LIVY_REQUEST_FAILED: tuple[str, ...] = (r"\bfailed to send request to livy due to exception\b",)

# Synapse Spark's error classification codes for an ADLS Gen2 operation that failed
# ("Spark_System_ABFS_OperationFailed: An operation with ADLS Gen2 has failed.") and for a class
# the job's code needs and the pool does not have ("Spark_Ambiguous_ClassLoader_NoClassDefFound:
# A class required by the code could not be found during runtime of the script.").
SYNAPSE_STORAGE_OPERATION_FAILED: tuple[str, ...] = (
    r"\bspark_\w{1,20}_abfs_operationfailed\b",
    r"\ban operation with adls gen2 has failed\b",
)
SYNAPSE_CLASS_NOT_FOUND: tuple[str, ...] = (
    r"\bspark_\w{1,20}_classloader_noclassdeffound\b",
    r"\ba class required by the code could not be found during runtime\b",
)

# An Azure Databricks workspace whose deployment failed, so it cannot be opened ("The workspace
# 'databricks16z0vkn' is in a failed state and cannot be launched."). The group is the workspace.
WORKSPACE_FAILED_STATE: tuple[str, ...] = (
    r"\bthe workspace '([\w.-]{1,120})' is in a failed state and cannot be launched\b",
)

# A namespace Unity Catalog does not take: nested beyond catalog.schema or empty
# (UC_INVALID_NAMESPACE "Nested or empty namespaces are not supported in Unity Catalog."). The
# group is the namespace a SetNamespaceCommand names, when the text prints it.
UC_NAMESPACE_INVALID: tuple[str, ...] = (
    r"\bnested or empty namespaces are not supported in unity catalog\b"
    r"(?:[^\n]{0,200}?setnamespacecommand \[([\w, -]{1,160})\])?",
)

# A request a Synapse dedicated SQL pool's workload management could not place in any workload
# group ("Failed to classify the current request into a workload group.").
WORKLOAD_CLASSIFICATION_FAILED: tuple[str, ...] = (
    r"\bfailed to classify the current request into a workload group\b",
)


# A MySQL binary log a change-data-capture connector (Debezium) cannot read as it needs: the
# log off or unreadable ("Cannot read the binlog filename and position via 'SHOW MASTER STATUS'.
# Make sure your server is correctly configured"), or kept in another format than ROW with full
# row images ("The MySQL server is not configured to use a ROW binlog_format, which is required
# for this connector to work properly"). The group is the setting the server lacks.
MYSQL_BINLOG_NOT_READY: tuple[str, ...] = (
    r"\bcannot read the binlog filename and position via 'show master status'",
    r"\bnot configured to use a (?:row|full) (binlog_format|binlog_row_image)\b",
)

# A binary-log event a MySQL binlog client does not know ("ConnectException: Unknown event type
# 100", mysql-binlog-connector-java under Debezium): the server writes events of a newer or
# another flavour's (MariaDB) version than the client reads. The group is the event type.
BINLOG_EVENT_UNKNOWN: tuple[str, ...] = (r"\bunknown event type (\d{1,5})\b",)

# A JDBC driver's method a connector calls and the driver on the classpath does not have
# ("NoSuchMethodError: com.microsoft.sqlserver.jdbc.SQLServerBulkCopy.writeToServer(...)"): the
# connector was built against another version of the driver. The groups are the class and the
# method.
JDBC_DRIVER_METHOD_MISSING: tuple[str, ...] = (
    r"\bnosuchmethoderror: ((?:[\w$]{1,60}\.){1,12}jdbc\.(?:[\w$]{1,60}\.){0,6}[\w$]{1,80})"
    r"\.([\w$<>]{1,80})\(",
)

# A class that cannot be cast to a class of the very same name ("ClassCastException:
# com.mongodb.spark.MongoConnector cannot be cast to com.mongodb.spark.MongoConnector"): two
# class loaders each loaded the class, from two copies of its JAR. The group is the class.
CLASS_CAST_SAME_NAME: tuple[str, ...] = (
    r"\b(?:class )?([\w$]{1,60}(?:\.[\w$]{1,60}){1,12}) cannot be cast to (?:class )?\1\b",
)

# A staged file whose characters do not line up with the file format's delimiters (Snowflake
# COPY: "Found character ':' instead of field delimiter ','", "Found character '\\u0016' instead
# of record delimiter '\\n'"). The groups are the character, the delimiter's kind and the
# delimiter.
FILE_DELIMITER_MISMATCH: tuple[str, ...] = (
    r"\bfound character '([^'\n]{1,12})' instead of (field|record) delimiter '([^'\n]{1,6})'",
)

# An HDFS NameNode in safe mode, read-only: while it starts and waits for its DataNodes' block
# reports, or turned on by hand or for low disk ("SafeModeException: Cannot create directory
# /user/root/.sparkStaging/... Name node is in safe mode.").
HDFS_SAFE_MODE: tuple[str, ...] = (
    r"\bname ?node is in safe mode\b",
    r"\bsafemodeexception\b",
)

# A Kafka write refused because fewer replicas of the partition are in sync than the topic's
# min.insync.replicas asks of an acks=all producer ("NotEnoughReplicasException: Messages are
# rejected since there are fewer in-sync replicas than required.", the broker's "Number of
# insync replicas for partition p-0 is [1], below required minimum [2]"). The groups are the
# partition, the replicas in sync and the minimum.
KAFKA_ISR_BELOW_MINIMUM: tuple[str, ...] = (
    r"\bmessages are rejected since there are fewer in-sync replicas than required\b",
    r"\bnumber of insync replicas for partition ([\w.-]{1,250}) is \[(\d{1,4})\], below "
    r"required minimum \[(\d{1,4})\]",
)

# Flink's Kafka sink failing to commit a transaction it had prepared for a checkpoint ("Failed
# to commit KafkaCommittable{producerId=282, epoch=0, transactionalId=flink-0-274}"). The group
# is the transactional id.
KAFKA_TRANSACTION_COMMIT_FAILED: tuple[str, ...] = (
    r"\bfailed to commit kafkacommittable\{producerid=\d{1,20}, epoch=\d{1,10}, "
    r"transactionalid=([^,}\s]{1,200})\}",
)

# An Iceberg commit refused because another writer committed files the operation's rows could
# match ("ValidationException: Found conflicting files that can contain records matching
# true", "Found new conflicting delete files that can apply to records matching ...").
ICEBERG_COMMIT_CONFLICT: tuple[str, ...] = (
    r"\bfound (?:new )?conflicting (?:delete )?files that can (?:contain|apply to) records "
    r"matching\b",
)

# A MySQL statement the user may not run on a table or column ("SELECT command denied to user
# ''@'10.34.1.106' for column 'pin' in table 'P2M_trans'"). The groups are the command, the user,
# the host, the column and the table.
MYSQL_COMMAND_DENIED: tuple[str, ...] = (
    r"\b(\w{3,20}) command denied to user '([^'\n]{0,80})'@'([^'\n]{0,80})'"
    r"(?: for (?:column '([^'\n]{1,128})' in )?table '([^'\n]{1,128})')?",
)

# A MySQL (or MariaDB) database a connection names that the server does not have
# ("SQLSyntaxErrorException: Unknown database 'db'"). The group is the database.
MYSQL_UNKNOWN_DATABASE: tuple[str, ...] = (r"\bunknown database '([^'\n]{1,128})'",)

# A Google Cloud project without billing, where BigQuery allows only what its free tier does
# ("Streaming insert is not allowed in the free tier", "Billing has not been enabled for this
# project. ... DML queries are not allowed in the free tier.").
GCP_BILLING_DISABLED: tuple[str, ...] = (
    r"\bbilling has not been enabled for this project\b",
    r"\b([\w ]{1,40}) (?:is|are) not allowed in the free tier\b",
    r"\bbillingnotenabled\b",
)

# elasticsearch-hadoop (Spark, Hive) reaching no Elasticsearch node ("EsHadoopNoNodesLeftException:
# Connection error (check network and/or proxy settings)- all nodes failed; tried
# [[10.0.0.5:9200]]"). The group is the nodes it tried.
ES_HADOOP_NO_NODES: tuple[str, ...] = (
    r"\bconnection error \(check network and/or proxy settings\)- ?all nodes failed; tried "
    r"\[\[([^\]\n]{1,300})\]\]",
    r"\beshadoopnonodesleftexception\b",
)

# A file a Hive-connector query (Presto, Trino, Athena) planned to read and that was gone when
# it read it ("Error opening Hive split hdfs://.../part-m-00002.snappy (offset=0, length=814)
# using ...TextInputFormat: File does not exist: ...", Athena's HIVE_CANNOT_OPEN_SPLIT). The
# group is the file.
SPLIT_FILE_MISSING: tuple[str, ...] = (
    r"\b(?:error opening (?:hive|iceberg) split|hive_cannot_open_split)\b[^\n]{0,600}?"
    r"\b(?:file does not exist|no such file)\b",
)

# A MongoDB driver that found no server it could use before its server selection timeout
# ("MongoTimeoutException: Timed out after 30000 ms while waiting for a server that matches
# ...; Client view of cluster state is {...}"). The group is the timeout.
MONGO_SERVER_SELECTION_TIMEOUT: tuple[str, ...] = (
    r"\btimed out after (\d{1,7}) ms while waiting for a server that matches\b",
)

# A Google Cloud API a request needs that its project has not enabled ("Cloud Storage JSON API
# has not been used in project 465736758727 before or it is disabled. Enable it by visiting
# ..."). The groups are the API and the project.
GCP_API_DISABLED: tuple[str, ...] = (
    r"\b([a-z][\w-]{0,30}(?: [a-z][\w-]{0,30}){0,5}) api has not been used in project "
    r"([\w-]{1,80}) before or it is "
    r"disabled\b",
)

# The Spark Cassandra connector reaching none of its contact points ("Failed to open native
# connection to Cassandra at {10.0.3.7}:9042"). The groups are the hosts and the port.
CASSANDRA_UNREACHABLE: tuple[str, ...] = (
    r"\bfailed to open native connection to cassandra at \{([^}\n]{1,200})\}:(\d{1,5})",
)


# A name Data Factory refuses for its length when it starts a run ("ErrorCode=
# InvalidWorkflowRunActionName, ErrorMessage=Activity 'x' has a length of '82' which exceeds the
# maximum limit of '80'"): an activity's name with the suffix the service adds to it, a pipeline's
# or another entity's name. The groups are the length and the limit.
ADF_NAME_TOO_LONG: tuple[str, ...] = (
    r"\bhas a length of '?(\d{1,6})'? which exceeds the maximum limit of '?(\d{1,6})'?",
    r"\binvalidworkflowrunactionname\b",
)

# A mapping data flow's debug settings with a row limit that is not above zero (left blank or 0):
# "DF-ARG-005 - Limit should be a > 0 - [503 644]".
DATAFLOW_DEBUG_ROW_LIMIT: tuple[str, ...] = (
    r"\bdf-arg-005\b",
    r"\blimit should be a\s{0,3}>?\s{0,3}0\b",
)

# A DB2 server that refuses the security mechanism the client authenticates with (DRDA): "Have not
# received expected codepoint: EUSRIDNWPWD. SQLSTATE=HY000 SQLCODE=-1040", the server asking for
# an encrypted user ID and password the client did not send. The group is the codepoint.
DB2_SECURITY_MECHANISM: tuple[str, ...] = (
    r"\bhave not received expected codepoint:? ?((?:e?usrid|usrsec|secmec)\w{0,12})",
)

# A DBFS path that is not there when a notebook or job lists or opens it through dbutils or the
# JVM ("%fs ls dbfs:/FileStore/shared_uploads/images/ ... FileNotFoundException:
# /FileStore/shared_uploads/images"). The group is the path.
DBFS_PATH_NOT_FOUND: tuple[str, ...] = (
    r"\bfilenotfoundexception:? (?:file (?:or directory )?(?:does not exist:? )?)?"
    r"((?:dbfs:)?/(?:filestore|databricks-datasets)/[^\s'\"]{1,300}|dbfs:/mnt/[^\s'\"]{1,300})",
)

# A Databricks Python task whose file the job cannot read ("Cannot read the python file
# dbfs:/Shared/dbx/projects/p/../artifacts/tests/sample_test.py"): not uploaded there, or a path
# the workspace does not resolve. The group is the path.
JOB_PYTHON_FILE_UNREADABLE: tuple[str, ...] = (
    r"\bcannot read the python file ((?:dbfs:|s3a?:|abfss:|gs:|file:|/)[^\s'\"]{1,300})",
)

# A dbt project or profile file without a field dbt requires ('Runtime Error Required "name"
# field not present in project'). The groups are the field and the file's kind.
DBT_PROJECT_FIELD_MISSING: tuple[str, ...] = (
    r"\brequired \"(\w{1,40})\" field not present in (project|profile)\b",
)

# A Delta table's transaction log directory that is not there when the log store writes a commit
# ("FileNotFoundException: No such file or directory: lakefs://repo/main/t/_delta_log", at
# DefaultLogStore.write): a file system that does not create a file's parent directories. The
# group is the log directory.
DELTA_LOG_DIR_MISSING: tuple[str, ...] = (
    r"\bno such file or directory: ([a-z][\w+.-]{0,20}://[^\s'\"]{1,300}/_delta_log)(?![/\w])",
)

# A bulk copy (SqlBulkCopy) whose column mappings name a column the source rows or the destination
# table does not have ("The given ColumnMapping does not match up with any column in the source or
# destination.").
BULK_COPY_COLUMN_MAPPING_MISMATCH: tuple[str, ...] = (
    r"\bthe given columnmapping does not match up with any column in the source or destination\b",
)

# A file an SFTP client (paramiko, the SSH.NET library under Data Factory) asked the server for
# and the server does not have: paramiko's "IOError: [Errno 2] No such file" (without "or
# directory", which is the local file system's).
SFTP_REMOTE_FILE_MISSING: tuple[str, ...] = (
    r"\b(?:ioerror|filenotfounderror): \[errno 2\] no such file(?! or directory)\b",
)

# A dbt node a model depends on that astronomer-cosmos did not find when it rendered the project
# into tasks ("ERROR [cosmos.providers.dbt.render] Dependency abc not found for model
# DbtModel(name='xyz'...)"). The groups are the dependency and the model.
COSMOS_DEPENDENCY_NOT_FOUND: tuple[str, ...] = (
    r"\bdependency ([^\s']{1,200}) not found for model dbtmodel\(name='([^'\n]{1,200})'",
)

# A Livy session whose RPC channel to its Spark driver is closed ("Failed to invoke livy statement
# (Server error: (500) Internal Server Error): java.lang.IllegalStateException: RPC channel is
# closed."): the driver is gone.
LIVY_RPC_CHANNEL_CLOSED: tuple[str, ...] = (r"\brpc channel is closed\b",)

# A complex type Spark says it cannot cast to the very same type ("due to data type mismatch:
# cannot cast array<struct<a:string>> to array<struct<a:string>>"): the two differ in what the
# printed type leaves out (a field's nullability, a map's or array's contains-null flag), or the
# cast runs into a MERGE's schema evolution. The groups are the two types, compared by the rule.
CAST_TO_IDENTICAL_TYPE: tuple[str, ...] = (
    r"\bcannot cast ((?:array|struct|map)<\S{1,3000}) to ((?:array|struct|map)<\S{1,3000})",
)


# A Delta table read at a version its log no longer reaches ("AnalysisException: Cannot time
# travel Delta table to version 322. Available versions: [330, 341]."): the files or log entries of
# that version were removed (VACUUM, log retention) or the version is not written yet. The group is
# the version asked for.
DELTA_TIME_TRAVEL_VERSION_UNAVAILABLE: tuple[str, ...] = (
    r"\bcannot time travel delta table to version (-?\d{1,12})",
)

# A time-travel read (VERSION AS OF, TIMESTAMP AS OF, versionAsOf) of an object that has no
# history to travel to ("AnalysisException: Cannot time travel views."). The group is the kind of
# object.
TIME_TRAVEL_UNSUPPORTED_OBJECT: tuple[str, ...] = (
    r"\bcannot time travel (views?|streams?|temp(?:orary)? views?|non-delta tables?)\b",
)

# A BigQuery load or query whose destination table lacks a field the new data has, without the
# schema update option that allows adding it ("Invalid schema update. Cannot add fields (field:
# jsonPayload.fields.flowid)"). The group is the field.
BIGQUERY_FIELD_ADDITION_REFUSED: tuple[str, ...] = (
    r"\bcannot add fields \(field: ([\w.$-]{1,300})\)",
)

# A Data Factory linked service, dataset or activity type the runtime that runs the copy does not
# know ("PluginNotRegisteredException,Message=Invalid type 'GoogleBigQueryV2' is provided in
# 'linkedServices'"): a connector version the integration runtime (self-hosted, or the copy's
# sink side) does not have. The groups are the type and the section.
ADF_PLUGIN_TYPE_UNKNOWN: tuple[str, ...] = (
    r"\binvalid type '([\w.-]{1,100})' is provided in '(\w{1,40})'",
    r"\bpluginnotregisteredexception\b",
)

# A change Data Factory refuses to a tumbling window trigger that has runs (its frequency,
# interval or start time are fixed once it has started: "TumblingWindowTriggerFrequencyOr
# IntervalUpdateNotAllowed"). The group is what was changed.
ADF_TUMBLING_TRIGGER_UPDATE_REFUSED: tuple[str, ...] = (
    r"\btumblingwindowtrigger(\w{1,60}?)updatenotallowed\b",
)

# An Airflow command (airflow tasks run/test/state, a task's callback) given a DAG run that does
# not exist ("airflow.exceptions.DagRunNotFound: DagRun for example_bash_operator with run_id or
# execution_date of '2015-01-01' not found"). The groups are the DAG and the run or date.
AIRFLOW_DAG_RUN_NOT_FOUND: tuple[str, ...] = (
    r"\bdagrun for ([\w.-]{1,250}) with run_id or execution_date of '([^'\n]{1,200})' not found",
    r"\bdagrunnotfound\b",
)

# A mapped Airflow task the scheduler cannot expand because an upstream task did not push the
# values it maps over ("Cannot expand '<Mapped(_PythonDecoratedOperator): get_wakes>' for run
# manual__...; missing upstream values: ['delay']"). The groups are the task and the values.
AIRFLOW_MAPPED_UPSTREAM_MISSING: tuple[str, ...] = (
    r"\bcannot expand '[^'\n]{0,80}?\): ([\w.-]{1,250})>?[^'\n]{0,20}' for run [^;\n]{1,250}; "
    r"missing upstream values: \[([^\]\n]{1,300})\]",
    r"\bmissing upstream values: \[",
)

# A server's worker or background thread pool that refuses new work because every thread is
# busy and its queue is full ("WarehouseQueryError: The background threadpool cannot accept new
# task for execution, please retry the operation"; Java's "RejectedExecutionException ... Thread
# pool is EXHAUSTED").
THREAD_POOL_SATURATED: tuple[str, ...] = (
    r"\bthread ?pool cannot accept new tasks?\b",
    r"\bthread ?pool is exhausted\b",
)

# A Databricks SQL warehouse that would not start when a client asked it to ("Failed to request
# warehouse start"; the API's "Failed to start warehouse").
SQL_WAREHOUSE_START_FAILED: tuple[str, ...] = (
    r"\bfailed to (?:request )?(?:sql )?warehouse start\b",
    r"\bfailed to start (?:sql )?warehouse\b",
)

# A BigQuery load (or external table) whose source URI pattern matches no object ("Failed to expand
# table t with file pattern gs://b/p/*.parquet: matched no files"). The group is the pattern.
BIGQUERY_FILE_PATTERN_NO_MATCH: tuple[str, ...] = (
    r"\bwith file pattern ((?:gs|s3|abfss?|https?)://[^\s:'\"]{1,300}): matched no files\b",
)


# A request to Azure Resource Manager for a Data Factory child resource (a managed virtual
# network, a managed private endpoint, a linked service) that the service refuses as given
# ("InvalidResourceRequest: Invalid resource request. Resource type: 'ManagedPrivateEndpoint',
# Resource name: 'pe1' 'Error: A managed private endpoint to the data source already exist.'").
# The groups are the resource type and name.
ADF_RESOURCE_REQUEST_INVALID: tuple[str, ...] = (
    r"\binvalid resource request\. resource type: '(\w{1,80})', resource name: '([^'\n]{1,200})'",
)

# An SSIS package run (Data Factory's Execute SSIS Package activity, SSISDB) given an environment
# reference the catalog does not have or the runner may not read ("Failed get environment
# reference.").
SSIS_ENVIRONMENT_REFERENCE_FAILED: tuple[str, ...] = (
    r"\bfailed (?:to )?get environment reference\b",
)

# A Databricks job or pipeline whose cluster specification does not hold together: a task's job
# cluster key that names no job cluster ("Job cluster 'etl' is not defined in field
# 'job_clusters'"), a pipeline without exactly one default cluster. The group is the key or the
# count.
DATABRICKS_CLUSTER_SPEC_INVALID: tuple[str, ...] = (
    r"\bjob cluster '([^'\n]{1,200})' is not defined in field 'job_clusters'",
    r"\bclusters must have exactly (\d{1,3}) default clusters?\b",
)

# Delta Live Tables (Lakeflow declarative pipeline) code run outside a pipeline: the notebook or
# a dbt model run on a cluster or warehouse, where the table it defines is never populated
# ("This Delta Live Tables query is syntactically valid, but you must create a pipeline in order
# to define and populate your table.").
DLT_QUERY_OUTSIDE_PIPELINE: tuple[str, ...] = (
    r"\byou must create a pipeline in order to (?:define|populate|run)\b",
)

# A Go program (the Databricks Terraform provider, the Databricks CLI, a Go connector) that
# crashed on a bug: "panic: interface conversion: interface {} is nil, not map[string]interface
# {}", "panic: runtime error: invalid memory address or nil pointer dereference". The group is
# the kind of panic.
GO_RUNTIME_PANIC: tuple[str, ...] = (r"\bpanic: (interface conversion|runtime error)\b",)

# A SQL engine's binder that cannot resolve a column a query uses: the column is not in the
# FROM clause's scope (DuckDB's "Binder Error: Referenced column \"x\" not found in FROM
# clause!"), or the engine lost track of it while planning (DuckDB's "INTERNAL Error: Failed to
# bind column reference \"x\" [21.0]"). The group is the column.
SQL_COLUMN_BINDING_FAILED: tuple[str, ...] = (
    r"\bbinder error: referenced column \"([^\"\n]{1,300})\" not found in from clause",
    r"\bfailed to bind column reference \"([^\"\n]{0,300})\"",
)

# A Parquet file whose footer or metadata cannot be read: truncated, written by a broken
# writer or another format under the name (DuckDB's "No magic bytes found at end of file
# 'x.parquet'", Polars' "parquet: File out of specification: Invalid thrift: protocol error").
# The group, where there is one, is the file.
PARQUET_FOOTER_UNREADABLE: tuple[str, ...] = (
    r"\bno magic bytes found at end of file '([^'\n]{1,300})'",
    r"\bfile out of specification: invalid thrift\b",
)

# A scan over files or partitions that found none to read (Polars' "ComputeError: expected at
# least 1 source" for a path, glob or partition filter matching nothing).
SCAN_WITHOUT_SOURCE: tuple[str, ...] = (r"\bexpected at least 1 source\b",)

# A partitioned directory tree whose levels disagree on the partition column's name (Spark's
# "Conflicting partition column names detected: Partition column name list #0: day ... #1:
# date"): a file or directory written by another job or layout. The group is the first name
# listed.
CONFLICTING_PARTITION_COLUMNS: tuple[str, ...] = (
    r"\bconflicting partition column names detected:\s+partition column name list #0: "
    r"([\w.-]{1,100})",
    r"\bconflicting partition column names detected\b",
)

# A CSV row with more fields than the columns the reader settled on (DuckDB's "Something went
# wrong when reading the CSV file, more positions than columns").
CSV_ROW_WIDER_THAN_COLUMNS: tuple[str, ...] = (
    r"\bmore (?:positions|values|fields) than columns\b",
)

# An HTTP(S) file-system client (DuckDB's httpfs, an object store reader) whose request to the
# store failed without an HTTP status: the connection broke or was never made ("IO Error:
# Connection error for HTTP HEAD to 'https://...'", "Unknown error for HTTP GET to '/?list-type=2
# ...'"). The groups are the method and the URL or path.
HTTP_FILESYSTEM_REQUEST_FAILED: tuple[str, ...] = (
    r"\b(?:connection|unknown) error for http (get|head|put|post|delete) to '?([^'\s]{1,300})",
)

# A MongoDB driver whose server selection failed because every connection it opened was closed
# (pymongo's "host:27017: connection closed (configured timeouts: socketTimeoutMS: ...)"): the
# host answers but drops the connection (an allow list, a paused cluster, TLS expected). The
# group is the port.
MONGODB_CONNECTION_CLOSED: tuple[str, ...] = (
    r":(\d{2,5}): connection closed \(configured timeouts: sockettimeoutms\b",
)

# An HTTP server that answered a ranged file read without the Content-Length the client needs to
# read the file (DuckDB's httpfs: "Server did not send Content-Length header, can not read from
# this file.").
HTTP_CONTENT_LENGTH_MISSING: tuple[str, ...] = (r"\bserver did not send content-length header\b",)

# A Kafka client built on librdkafka that lost, or could not open, its connection to a broker
# ("failed to acquire metadata: Local: Broker transport failure", the error code
# RD_KAFKA_RESP_ERR__TRANSPORT).
KAFKA_BROKER_TRANSPORT_FAILURE: tuple[str, ...] = (
    r"\blocal: broker transport failure\b",
    r"\brd_kafka_resp_err__transport\b",
)

# An Azure SDK (msrest/autorest) refusing a request before sending it because a required
# parameter or model property is None ("ValidationError: Parameter
# 'ExecuteDataFlowActivity.data_flow' can not be None."). The group is the parameter.
AZURE_SDK_PARAMETER_NONE: tuple[str, ...] = (
    r"\bparameter '([\w.\[\]]{1,200})' can ?not be none\b",
)

# A JVM (Spark, Hadoop, a connector) that could not start a program because no file is at the
# path it was given (java.io.IOException: 'Cannot run program "/opt/conda/bin/python3.7":
# error=2, No such file or directory'): an interpreter or executable the configuration names
# that the node does not have. The group is the program.
PROGRAM_NOT_FOUND: tuple[str, ...] = (
    r'\bcannot run program "([^"\n]{1,300})"[^\n]{0,80}?: error=2\b',
)

# A locally checkpointed Spark RDD whose block is gone with the executor that held it
# ("Checkpoint block rdd_1208_8 not found! Either the executor that originally checkpointed this
# partition is no longer alive, or the original RDD is unpersisted."). The group is the block.
SPARK_CHECKPOINT_BLOCK_LOST: tuple[str, ...] = (r"\bcheckpoint block (rdd_\d+_\d+) not found\b",)

# A Hive metastore that could not reach its backing database through DataNucleus
# ("MetaException(message:Error creating transactional connection factory)"): its JDBC URL,
# driver, credentials or the database itself.
HIVE_METASTORE_DB_UNREACHABLE: tuple[str, ...] = (
    r"\berror creating transactional connection factory\b",
)
