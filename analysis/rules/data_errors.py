"""Data that does not fit: NULLs, duplicates, truncation, schema and type mismatches, missing
columns or paths, malformed input, files a data flow cannot read in their format.
"""

from __future__ import annotations

import re

from analysis import signals
from analysis.rules.base import Context, Finding, rule
from analysis.rules.extract import clean_value, grab, quoted
from analysis.signals import any_of


@rule(
    "not_null_violation",
    "DataError DatabaseError",
    r"null value in column \"([^\"]+)\"|cannot insert the value null into column '([^']+)'"
    r"|column '([^']+)' cannot be null|notnullviolation|does not allow nulls",
    example=(
        'psycopg2.errors.NotNullViolation: null value in column "customer_id" of '
        'relation "orders" violates not-null constraint\nDETAIL:  Failing row '
        "contains (1021, null, 2024-03-01, 19.99)."
    ),
)
def not_null_violation(m: re.Match[str], ctx: Context) -> Finding:
    column = clean_value(next((g for g in m.groups() if g), ""))
    table = grab(ctx.text, r"table '([^']+)'", r'of relation "([^"]+)"')
    col = f"column {quoted(column)}" if column else "a NOT NULL column"
    where = f" of {table}" if table else ""
    return Finding(
        f"rows with NULL in {col}{where} were written into a NOT NULL column",
        (
            f"Find the source rows where {column or 'the column'} is null and fix them at the "
            "source or in the transformation (filter, default or COALESCE).",
            "Check whether an upstream change (new source, join, schema change) started "
            "producing nulls.",
            "Add a data-quality check on this column before the load.",
            "Redirect bad rows (fault tolerance or a quarantine table) if partial loads are "
            "acceptable, then rerun.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "duplicate_key",
    "DataError DatabaseError",
    any_of(
        r"duplicate key",
        r"violation of (?:primary|unique) key",
        r"uniqueviolation",
        r"unique constraint",
        *signals.DUPLICATE_KEY,
    ),
    example=(
        "com.microsoft.sqlserver.jdbc.SQLServerException: Violation of PRIMARY "
        "KEY constraint 'PK_Customers'. Cannot insert duplicate key in object "
        "'dbo.Customers'. The duplicate key value is (42)."
    ),
)
def duplicate_key(m: re.Match[str], ctx: Context) -> Finding:
    constraint = grab(
        ctx.text,
        r"constraint '([^']+)'",
        r'constraint "([^"]+)"',
        r"duplicate entry '[^'\n]*' for key '([^']+)'",
        r"\b(?:entity|alternate) key ([\w .-]{1,60}?) requires",
    )
    value = grab(
        ctx.text,
        r"duplicate key value is \(([^)]*)\)",
        r"Key \(([^)]*)\)",
        r"duplicate entry '([^'\n]*)' for key",
    )
    cause = "the load inserted a key that already exists"
    if constraint:
        cause += f" (constraint {constraint}"
        cause += f", key {value})" if value else ")"
    elif "document already exists" in ctx.text.lower():
        index = grab(ctx.text, r"'_index': '([^'\n]+)'", r'"_?index" ?: ?"([^"\n]+)"')
        where = f" of index {quoted(index)}" if index else ""
        cause = (
            f"the load created documents{where} whose ids are there already (version "
            "conflict, document already exists): a create (op_type create) refuses an existing id"
        )
    return Finding(
        cause,
        (
            "Deduplicate the source data on the key before loading.",
            "Make the load idempotent (MERGE/upsert instead of INSERT) so reruns do not collide.",
            "Check whether a previous partial run already loaded these rows.",
            "Rerun the failed run after the fix.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "merge_multiple_matches",
    "DataError DatabaseError",
    r"multiple source rows matched|multiple_source_row_matching"
    r"|merge statement attempted to (?:update or delete|update|delete) the same row"
    r"|target row matches more than one source row|duplicate row detected during dml action",
    example=(
        "The MERGE statement attempted to UPDATE or DELETE the same row more than once. This "
        "happens when a target row matches more than one source row. [SQLSTATE 42000] "
        "(Error 8672)."
    ),
)
def merge_multiple_matches(m: re.Match[str], ctx: Context) -> Finding:
    target = grab(
        ctx.text,
        r"\bmerge into ([`\"\[]?[\w.]+)",
        r"target row in the delta table ([`\w.]+)",
    )
    code = grab(ctx.text, r"\(error (8672)\)", r"\b(100090)\b")
    target = target.strip('`["')
    where = f"target {quoted(target)}" if target else "the target"
    return Finding(
        f"a MERGE found several source rows for one row of {where}"
        + (f" (error {code})" if code else "")
        + ": the source has duplicates on the merge key, or the ON condition matches on too "
        "few columns, so which row should win is ambiguous",
        (
            "Find the duplicated keys in the source (GROUP BY the merge key HAVING COUNT(*) > 1).",
            "Deduplicate the source before the MERGE (keep the latest row per key), or add the "
            "missing columns to the ON condition.",
            "Rerun the failed run after the fix.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "foreign_key_violation",
    "DataError DatabaseError",
    r"integrity constraint \(([^)\n]{1,128})\) violated|parent key not found|child record found"
    r"|violates foreign key constraint|a foreign key constraint fails|foreignkeyviolation",
    example=(
        "ORA-02291: integrity constraint (DOTCMSALB.CONTENT_IDENTIFIER_FK) violated - parent "
        "key not found"
    ),
)
def foreign_key_violation(m: re.Match[str], ctx: Context) -> Finding:
    constraint = grab(
        ctx.text,
        r"integrity constraint \(([^)\n]{1,128})\) violated",
        r'foreign key constraint "([^"\n]+)"',
        r"CONSTRAINT `([^`\n]+)` FOREIGN KEY",
    )
    named = f" {constraint}" if constraint else ""
    lowered = ctx.text.lower()
    # Oracle ORA-02292, PostgreSQL "is still referenced from table", MySQL "Cannot delete or
    # update a parent row": the parent side of the constraint.
    if any(
        words in lowered
        for words in ("child record found", "still referenced", "update a parent row")
    ):
        cause = (
            f"a delete or update removed a key that other rows still reference (foreign key"
            f"{named}): the child rows must go first"
        )
        recs = (
            "Delete or repoint the referencing (child) rows before their parent rows, or "
            "load in an order that keeps the references valid.",
            "Check whether the constraint should cascade (ON DELETE CASCADE) for this load.",
        )
    else:
        cause = (
            f"a row references a key its parent table does not have (foreign key{named}): "
            "the parent rows were not loaded first, or the reference is wrong"
        )
        recs = (
            "Load the parent table before the child table, or add the missing parent rows.",
            "Find the rows whose key has no match in the referenced table and fix or filter them.",
        )
    return Finding(cause, (*recs, "Rerun the failed run after the fix."), 0.7, transient=False)


# Azure AI Search indexes a filterable, sortable or facetable string field as one term, which
# may not exceed 32766 bytes in UTF-8.
@rule(
    "search_term_too_large",
    "DataError ResourceExhaustion",
    r"contains a term that is too large|max length for utf-8 encoded terms is (\d+) bytes",
    example=(
        "Could not 'Index' document to the search index. Field 'copyrights' contains a term "
        "that is too large to process. The max length for UTF-8 encoded terms is 32766 bytes."
    ),
)
def search_term_too_large(m: re.Match[str], ctx: Context) -> Finding:
    field = grab(ctx.text, r"field '([^'\n]{1,80})' contains a term")
    limit = m.group(1) or grab(ctx.text, r"encoded terms is (\d+) bytes")
    target = f"field {quoted(field)}" if field else "a field"
    bound = f"{limit}-byte" if limit else "maximum"
    return Finding(
        f"a value of {target} is too large to index: the search index keeps a filterable, "
        f"sortable or facetable field as a single term, and its {bound} term limit was exceeded",
        (
            f"Turn off filtering, sorting and faceting on {target} so the value is tokenised "
            "instead of indexed whole, or trim the value before it is indexed.",
            "Find the documents with the longest values of the field in the source.",
            "Reset and rerun the indexer once the index definition or the data is fixed.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "truncation",
    "DataError DatabaseError",
    any_of(
        r"would be truncated|value too long for type|data too long for column"
        r"|invalid column length|string data,? right truncation",
        *signals.VALUE_OVER_COLUMN_LENGTH,
    ),
    example=(
        "String or binary data would be truncated in table 'dw.dbo.DimCustomer', "
        "column 'PostalCode'. Truncated value: '12345-'."
    ),
)
def truncation(m: re.Match[str], ctx: Context) -> Finding:
    column = grab(ctx.text, r"column '([^']+)'", r'column "([^"]+)"')
    table = grab(ctx.text, r"in table '([^']+)'") or grab(
        ctx.text, r"\binsert into [`\"\[]?([\w.]+)", r"\bupdate [`\"\[]?([\w.]+)[`\"\]]? set\b"
    )
    target = f"column {quoted(column)}" if column else "a target column"
    target += f" of {table}" if table else ""
    declared = grab(ctx.text, r"exceeds? char/varchar type length limitation:? ?(\d{1,6})")
    if declared:
        # Spark's EXCEED_LIMIT_LENGTH names the declared length, not the column.
        return Finding(
            f"a string longer than the CHAR/VARCHAR length of {declared} its target column "
            "declares was written (exceeds char/varchar type length limitation)",
            (
                f"Find the values longer than {declared} characters in the data being written "
                "and trim, reject or route them before the write.",
                f"Or declare the column wider than {declared} (or as STRING) in the target "
                "table or the JDBC createTableColumnTypes.",
                "Rerun the failed run after the fix.",
            ),
            0.7,
            transient=False,
        )
    # Derby's 22001 ("A truncation error was encountered trying to shrink VARCHAR 'abc&' to
    # length 32672."): the value's start, its type and the length it had to fit.
    shrink = re.search(
        r"trying to shrink (\w{1,30}) '([^'\n]{0,120})' to length (\d{1,10})",
        ctx.text,
        re.IGNORECASE,
    )
    if shrink:
        kind, start, length = (clean_value(g) for g in shrink.groups())
        value = f" (the one starting {quoted(start)})" if start else ""
        return Finding(
            f"a value{value} was longer than the {length} characters its {kind} target takes, "
            f"so Derby refused to truncate it: {kind} columns hold at most {length} characters "
            "here, and a long value (a serialised array or struct, a free-text field) does "
            "not fit",
            (
                f"Store such values in a CLOB (or a wider type) instead of {kind}({length}), or "
                "shorten them before the write.",
                "Find which column receives the long value (the write's table definition, a "
                "struct or array column Spark writes as text).",
                "Rerun the failed run after the fix.",
            ),
            0.7,
            transient=False,
        )
    # An ODBC driver's SQLSTATE 22001 ("String data, right truncation: length 512 buffer
    # 510"): the parameter buffer was sized below the value, by the column or by the driver
    # from earlier rows (pyodbc fast_executemany).
    sizes = re.search(r"right truncation: length (\d+) buffer (\d+)", ctx.text, re.IGNORECASE)
    if sizes and not column:
        length, buffer = sizes.groups()
        return Finding(
            f"a parameter value of {length} bytes was bound to a {buffer}-byte buffer (SQLSTATE "
            "22001, string data right truncation): the value is longer than its column, or the "
            "driver sized the buffer from earlier rows (pyodbc fast_executemany)",
            (
                "Compare the longest values in the batch with the target columns' widths.",
                "With pyodbc fast_executemany, declare the parameter sizes (cursor.setinputsizes) "
                "or turn fast_executemany off for this load.",
                "Rerun the failed run after the fix.",
            ),
            0.7,
            transient=False,
        )
    return Finding(
        f"a value longer than {target} allows was loaded",
        (
            f"Widen {target} or truncate/validate the value in the transformation.",
            "Find the offending rows (longest values) in the source.",
            "Check whether the source schema changed (longer codes, new formats).",
            "Rerun the failed run after the fix.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "row_too_wide",
    "DataError ConfigurationError",
    r"row size too large(?: \(> ?(\d+)\))?",
    example=(
        "MySqlException: Row size too large (> 8126). Changing some columns to TEXT or BLOB or "
        "using ROW_FORMAT=DYNAMIC or ROW_FORMAT=COMPRESSED may help."
    ),
)
def row_too_wide(m: re.Match[str], ctx: Context) -> Finding:
    limit = clean_value(m.group(1) or "")
    table = grab(ctx.text, r"insert into `?([\w.]+)`?", r"create table `?([\w.]+)`?")
    over = f" (Row size too large, over {limit} bytes)" if limit else " (Row size too large)"
    target = f"table {quoted(table)}" if table else "the table"
    return Finding(
        f"a row of {target} is wider than the storage engine allows in one page{over}: too "
        "many or too wide columns are stored inline",
        (
            f"Change the widest VARCHAR/VARBINARY columns of {target} to TEXT/BLOB, or use "
            "ROW_FORMAT=DYNAMIC so long values are stored off-page.",
            "Check whether a schema change added columns or widened them.",
            "Rerun the failed run after the change.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "store_item_too_large",
    "DataError ResourceExhaustion",
    r"item size (?:has )?exceeded the maximum allowed size"
    r"|size of all (range|hash|sort|partition) keys (?:has )?exceeded(?: the size limit of (\d+))?"
    r"|(range|hash|sort|partition) key (?:size )?(?:has )?exceeded the size limit(?: of (\d+))?",
    example=(
        "botocore.exceptions.ClientError: An error occurred (ValidationException) when calling "
        "the PutItem operation: Item size has exceeded the maximum allowed size"
    ),
)
def store_item_too_large(m: re.Match[str], ctx: Context) -> Finding:
    key = m.group(1) or m.group(3)
    limit = clean_value(m.group(2) or m.group(4) or "")
    operation = grab(ctx.text, r"when calling the (\w+) operation", r"DynamoDB: (\w+),")
    by = f" ({operation})" if operation else ""
    if key:
        over = f" of {limit} bytes" if limit else ""
        cause = (
            f"an item was written{by} whose {key.lower()} key values are over the store's size "
            f"limit{over} for {key.lower()} keys: the key is built from a value that is too long"
        )
        recs = (
            f"Shorten the {key.lower()} key (hash or truncate the long part, move it to a "
            "non-key attribute).",
            "Find the items whose key values are longest in the source.",
        )
    else:
        cause = (
            f"an item was written{by} that is over the store's maximum item size (400 KB for "
            "DynamoDB): one attribute or the whole item grew too large"
        )
        recs = (
            "Move large attributes to object storage (S3) and keep a pointer, compress them, or "
            "split the item.",
            "Find which attribute grew (a list or document appended to on every run).",
        )
    return Finding(cause, (*recs, "Rerun the failed run after the fix."), 0.7, transient=False)


@rule(
    "spectrum_scan_error",
    "DataError",
    r"spectrum scan error",
    example=(
        "ERROR: Spectrum Scan Error DETAIL: error: Spectrum Scan Error code: 15007 context: "
        "Unmatched number of columns between table and file. Table columns: 20, Data "
        "columns: 16, File name: https://s3.us-east-1.amazonaws.com/b/x.parquet"
    ),
)
def spectrum_scan_error(m: re.Match[str], ctx: Context) -> Finding:
    context = grab(ctx.text, r"\bcontext:\s*([^\n]{1,300})")
    code = grab(ctx.text, r"\bcode:\s*(\d{3,6})")
    said = f": {context}" if context else ""
    coded = f" (code {code})" if code else ""
    return Finding(
        f"Redshift Spectrum could not read a file of the external table{coded}{said}",
        (
            "Compare the external table's column list and types with the files' schema (a "
            "column added, reordered or stored as another type or length).",
            "Fix the table definition (ALTER TABLE ... or recreate it) or rewrite the "
            "offending files.",
            "Rerun the failed run once a query over the table reads the files.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "timestamp_out_of_range",
    "DataError",
    r"invalid timestamp value|range of valid timestamp values",
    example=(
        "Cannot return an invalid timestamp value of 1605052806000000000 microseconds relative "
        "to the Unix epoch. The range of valid timestamp values is [0001-01-1 00:00:00, "
        "9999-12-31 23:59:59.999999]; error in writing field mod_timestamp"
    ),
)
def timestamp_out_of_range(m: re.Match[str], ctx: Context) -> Finding:
    value = grab(ctx.text, r"invalid timestamp value of (-?\d+ \w+)")
    field = grab(ctx.text, r"error in writing field ([\w.]+)", r"\bfield:? ([\w.]+)")
    details = [f"value {value}" if value else "", f"field {field}" if field else ""]
    said = ", ".join(d for d in details if d)
    return Finding(
        "a timestamp outside the range the store takes (0001-01-01 to 9999-12-31) was "
        f"written{f' ({said})' if said else ''}: usually a value in the wrong unit "
        "(milliseconds or nanoseconds read as microseconds) or a placeholder date",
        (
            "Check the unit of the source's epoch values against what the load expects "
            "(seconds, milliseconds, microseconds).",
            "Map placeholder dates (year 0, negative epochs) to NULL or clamp them before the "
            "load (SAFE_CAST, a CASE on the range).",
            "Rerun the failed run after the fix.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "schema_mismatch",
    "DataError",
    any_of(
        *signals.SCHEMA_MISMATCH,
        r"incompatible types?",
        r"found: (\w+), required: (\w+)",
        r"expected: (\w+), found: (\w+)",
        r"column cannot be converted",
        r"recordreaderfillbuffer|filling record reader buffer",
        r"unable to infer schema for (\w+)",
        # BigQuery loads and schema updates: "Provided Schema does not match Table p:d.t. Field
        # x has changed type from STRING to INTEGER", "Invalid schema update. Field x ...".
        r"provided schema does not match table",
        r"invalid schema update",
    ),
    example=(
        "AnalysisException: A schema mismatch detected when writing to the Delta "
        "table (Table ID: 5b9a1c0e-8d21-4c4f-9b1e-7a6f0d3e2c11).\nTo enable "
        "schema migration using DataFrameWriter or DataStreamWriter, please set:\n"
        '\'.option("mergeSchema", "true")\'.'
    ),
)
def schema_mismatch(m: re.Match[str], ctx: Context) -> Finding:
    column = grab(
        ctx.text,
        r"column '([^'\s]+)",
        r"column: \[([^\]]+)\]",
        r"column `([^`]+)`",
        # Elasticsearch: "mapper [size] cannot be changed from type [long] to [text]".
        r"mapper \[([^\]\n]{1,200})\] (?:cannot be changed|of different type)",
    )
    found = grab(ctx.text, r"found: (\w+)")
    expected = grab(ctx.text, r"(?:required|expected): (\w+)")
    cause = "the data's schema no longer matches the target schema"
    if re.search(r"does not match (?:the )?expected schema", ctx.text, re.I):
        cause = "the data's schema does not match the expected schema"
    elif re.search(r"hierarchical ?to ?tabular", ctx.text, re.I):
        # ADF's SchemaMappingFailedInHierarchicalToTabularStage wraps whatever failed while the
        # JSON source was flattened (a value out of range as much as a mapping): say that one.
        stated = grab(ctx.text, r"tabular stage, error message: ([^\r\n,]{1,200})")
        cause = (
            "ADF's copy failed in its hierarchical to tabular stage (flattening the JSON source "
            "into the sink's columns)"
        )
        if stated and not re.match(r"one or more errors occurred", stated, re.I):
            cause += f": {stated.rstrip('.')}"
    modes = re.search(
        r"field '([^'\n]{1,200})' is specified as (\w{1,20}) in provided schema which does not "
        r"match (\w{1,20}) as specified in the file",
        ctx.text,
        re.IGNORECASE,
    )
    if modes:
        # BigQuery loading Parquet/Avro: a field's mode differs between the schema it was given
        # and the file.
        field, given, in_file = (clean_value(g) for g in modes.groups())
        cause = (
            f"field {quoted(field)} is {given} in the schema the load was given but {in_file} "
            "in the file it reads: the load's schema and the file's field modes differ"
        )
    if re.search(r"recordreaderfillbuffer|record reader buffer", ctx.text, re.IGNORECASE):
        inner = grab(ctx.text, r"record reader buffer: (\w+(?:: [^\n,']{1,80})?)")
        cause = (
            "PolyBase could not read the external files' rows into the external table: a "
            "column's type in the files (e.g. Parquet) does not match the table's definition"
            + (f" ({inner})" if inner else "")
        )
    if re.search(r"schemacolumnconvertnotsupported", ctx.text, re.IGNORECASE):
        cause = (
            "a Parquet file stores a column with another physical type than the schema it is "
            "read with (SchemaColumnConvertNotSupportedException)"
        )
    inferred_format = grab(ctx.text, r"unable to infer schema for (\w+)")
    if inferred_format:
        # Spark says so when the path holds no file of that format it can read: an empty or
        # wrong directory, or one with only _SUCCESS/metadata files.
        cause = (
            f"Spark was unable to infer schema for {inferred_format}: the input path holds no "
            f"readable {inferred_format} files (empty, wrong path, or only marker files), so "
            "there is no schema to read"
        )
        return Finding(
            cause,
            (
                "List the input path of the failed run: check that it exists and holds "
                f"{inferred_format} data files, not only _SUCCESS or metadata files.",
                "Check that the upstream step that writes it ran and wrote rows, and that the "
                "path (date partition, container, mount) is the one it wrote to.",
                "Pass an explicit schema to the reader if an empty input is expected, then rerun.",
            ),
            0.7,
            transient=False,
        )
    partition = grab(ctx.text, r"but partition '([^']+)' declared")
    if partition:
        # Hive/Athena: "The column 'c' in table 't' is declared as type 'double', but partition
        # 'p=4' declared column 'c' as type 'int'".
        table = grab(ctx.text, r"in table '([^']+)'")
        expected = grab(ctx.text, r"is declared as type '([^']+)'")
        found = grab(ctx.text, r"but partition '[^']+' declared column '[^']+' as type '([^']+)'")
        cause = (
            f"partition {quoted(partition)}"
            + (f" of table {quoted(table)}" if table else "")
            + " declares a column with another type than the table, and the types cannot be "
            "coerced"
        )
    field = grab(
        ctx.text,
        r"field (\w+) (?:has changed type|is missing in new schema|has changed mode)",
    )
    if field and not column:
        # BigQuery names the table and the field that differs between the rows' schema and it.
        table = grab(ctx.text, r"does not match table ([\w.:-]+?)\.? field")
        change = grab(
            ctx.text,
            r"has changed (type from \w+ to \w+)",
            r"has changed (mode from \w+ to \w+)",
            r"(is missing in new schema)",
        )
        cause = (
            "the schema the rows were written with does not match "
            + (f"table {quoted(table)}" if table else "the target table")
            + f": field {quoted(field)}"
            + (f" {change}" if change else " differs")
        )
    if column:
        cause += f": column {quoted(column)}"
        if found and expected:
            cause += f" is {found} but {expected} is expected"
    return Finding(
        cause,
        (
            "Compare the source schema with the target (and the last successful run) to find "
            "the changed column.",
            "Align the types with an explicit cast in the transformation, or update the target "
            "schema if the change is intended.",
            "Enable schema evolution (e.g. Delta mergeSchema) only for intended changes.",
            "Rerun the failed run after the fix.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "parquet_dictionary_type",
    "DataError CodeError",
    r"plainvaluesdictionary\$plain(\w{1,20}?)dictionary",
    example=(
        "Caused by: java.lang.UnsupportedOperationException: "
        "org.apache.parquet.column.values.dictionary.PlainValuesDictionary$PlainLongDictionary\n"
        "\tat org.apache.parquet.column.Dictionary.decodeToBinary(Dictionary.java:41)"
    ),
)
def parquet_dictionary_type(m: re.Match[str], ctx: Context) -> Finding:
    # parquet-mr's reader: a dictionary page of one physical type (PlainLongDictionary) read
    # by a converter of another (decodeToBinary). Spark's vectorized reader says "Parquet
    # column cannot be converted" for the same mismatch.
    stored = m.group(1)
    wanted = grab(ctx.text, r"dictionary\.decodeTo(\w{1,20})\(")
    file = grab(ctx.text, r"in block -?\d+ in file ([^\s,]+)", r"in file ([^\s,]+\.parquet)")
    cause = (
        f"a Parquet file stores a column as {stored} (PlainValuesDictionary$Plain{stored}"
        "Dictionary)"
        + (f" but the reader's schema asks for {wanted} (decodeTo{wanted})" if wanted else "")
        + ": the column's type in the files differs from the table's or reader's schema"
        + (f" (file {file})" if file else "")
    )
    return Finding(
        cause,
        (
            "Compare the file's schema (parquet-tools schema, or spark.read.parquet on that "
            "file) with the table's: find the column written with another type.",
            "Rewrite the files written with the old type, or read with the type they hold and "
            "cast in the transformation.",
            "Check which job or schema change wrote the mismatching files.",
            "Rerun the failed run after the fix.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "bad_value",
    "DataError",
    r"invalid input syntax for (?:type )?(\w+)|cannot be cast to|invalid literal for (\w+)\(\)"
    r"|cannot be converted to|could not convert|conversion failed|converting .{0,40}failed"
    r"|does not match format|numberformatexception|cast_invalid_input|typeconversionfailure"
    r"|exception occurred when converting|cannot convert from type"
    r"|implicit conversion from data type|trying to convert numpy type"
    # OLE DB/ODBC (SQL Server Native Client): a value the target type cannot take.
    r"|invalid character value for cast specification"
    # Athena and Trino: "INVALID_CAST_ARGUMENT: Cannot cast 'ae' to BIGINT".
    r"|cannot cast '[^'\n]{0,200}' to \w"
    # A JVM parse of a field's text (NumberFormatException, toBoolean's IllegalArgumentException)
    # and SQL Server 8114 "Error converting data type varchar to numeric".
    r'|for input string: "|error converting data type \w+ to \w',
    example="ValueError: time data '2024-13-45' does not match format '%Y-%m-%d'",
)
def bad_value(m: re.Match[str], ctx: Context) -> Finding:
    value = grab(
        ctx.text,
        r"cannot cast '([^'\n]{0,200})' to",
        r"invalid input syntax for (?:type )?\w+: \"([^\"]*)\"",
        r"the value '([^']*)'",
        r"with base \d+: '([^']*)'",
        r"converting value '([^']*)'",
        r"time data '([^']*)'",
        r'for input string: "([^"]*)"',
    )
    target = grab(
        ctx.text,
        r"invalid input syntax for (?:type )?(\w+)",
        r"cannot be cast to \"?(\w+)",
        r"cannot cast '[^'\n]{0,200}' to (\w+)",
        r"to type '?(\w+)",
        r"to type: ?([\w.]+)",
        r"invalid literal for (\w+)\(\)",
        r"implicit conversion from data type [\w()]+ to ([\w()]+)",
        r"trying to convert numpy type (\w+)",
        r"error converting data type \w+ to (\w+)",
    )
    source_type = grab(
        ctx.text,
        r"value of type (\w+)",
        r"from type: ?([\w.]+)",
        r"from type '?(\w+)",
        r"Found: (\w+)",
        r"implicit conversion from data type ([\w()]+)",
        r"trying to convert numpy type \w+ but got (\w+)",
        r"error converting data type (\w+) to",
    )
    column = grab(ctx.text, r"column(?: name)? '([^']+)'", r"column ([\w]+):")
    conversion = grab(ctx.text, r"converting to (a date or time|[\w ]{1,30}?) failed")
    cause = "a source value could not be converted to the target type"
    details = []
    if value:
        details.append(f"value {quoted(value)}")
    if target and source_type:
        details.append(f"type {source_type} to {target}")
    elif target:
        details.append(f"type {target}")
    if column:
        details.append(f"column {quoted(column)}")
    if conversion and not target:
        details.append(f"converting to {conversion}")
    if not details and re.search(r"invalid character value for cast", ctx.text, re.I):
        details.append("invalid character value for cast specification")
    if details:
        cause += " (" + ", ".join(details) + ")"
    return Finding(
        cause,
        (
            "Find the offending rows in the source and fix or filter them.",
            "Make the conversion tolerant where appropriate (try_cast / TRY_CONVERT, explicit "
            "formats, locale-aware number parsing).",
            "Add a data-quality check for this column before the load.",
            "Redirect bad rows to a quarantine location if partial loads are acceptable, then "
            "rerun.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "missing_column",
    "DataError CodeError",
    any_of(
        *signals.MISSING_COLUMN,
        r"cannot resolve '([^']+)' given input columns",
        r"column \"([^\"]+)\" does not exist",
        r"invalid column name '([^']+)'",
        r"column '([^']+)' (?:specified .{0,40})?(?:does not exist|cannot be found|not found)",
        r"name `([^`]+)` cannot be resolved",
        # Salesforce: "No such column 'MW_Case_ID__c' on entity 'Case'", "InvalidBatch : Field
        # name not found : Report_Date__c".
        r"no such column '([^'\n]+)'",
        r"field name not found\s?:\s?([\w.]+)",
    ),
    example=(
        "AnalysisException: [UNRESOLVED_COLUMN.WITH_SUGGESTION] A column or "
        "function parameter with name `customer_id` cannot be resolved. Did you "
        "mean one of the following? [`cust_id`, `name`, `email`]."
    ),
)
def missing_column(m: re.Match[str], ctx: Context) -> Finding:
    column = clean_value(next((g for g in m.groups() if g), ""))
    if not column:
        column = grab(ctx.text, r"name `([^`]+)`")
    suggestion = grab(
        ctx.text,
        r"did you mean one of the following\? \[([^\]]+)\]",
        # DataFusion / delta-rs list the fields there are.
        r"valid fields are ([^.\n]{1,400})",
        # ClickHouse lists the columns the block does have.
        r"there are only columns: ([\w., ]{1,400}?)(?::| \(|$)",
    )
    col = f"column {quoted(column)}" if column else "a referenced column"
    # A reader that names the file it read (a Parquet file without the column) says so.
    where = (
        "the data file it read"
        if re.search(r"\bin (?:the )?data file\b", ctx.text, re.I)
        else "the input data"
    )
    cause = f"{col} is not present in {where}"
    if suggestion:
        cause += f" (available: {suggestion})"
    return Finding(
        cause,
        (
            f"Check whether the source renamed or dropped {col} (compare with the last "
            "successful run).",
            "Update the query, column mapping or transformation to the current column names.",
            "If the source is semi-structured, make the column optional or add it with a default.",
            "Rerun the failed run after the fix.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "missing_path",
    "DataError ConfigurationError",
    r"path does not exist:? ?([^\s;,]+)|((?:dbfs|abfss?|s3a?|wasbs?|gs|adl|hdfs):/[^\s;,]*) "
    r"(?:does not|doesn't) exist|blob is missing|blobnotfound|the specified blob does not exist"
    r"|no such file or directory:? ?'?([^'\s]*)|nosuchkey"
    # A plain absolute path ("IllegalStateException: /checkpoint/q/sources/0/1 does not exist"),
    # begun only where a path begins so a long run of segments is read once (mounts are a
    # setup matter: missing_storage; a ZooKeeper node, "node /brokers/topics/x", is no data path).
    r"|(?<![\w./-])(?<!node )(/(?!(?:dbfs/)?mnt/)[\w.-]{1,100}(?:/[\w.=-]{1,100}){1,30})"
    r" (?:does not|doesn't) exist"
    # Synapse serverless (OPENROWSET) and Google Cloud Storage.
    r"|file '([^']+)' cannot be opened because it does not exist|no such object: ([^\s]+)",
    example=("Analysis Exception: Path does not exist: dbfs:/user/account/people.parquet"),
)
def missing_path(m: re.Match[str], ctx: Context) -> Finding:
    path = clean_value(next((g for g in m.groups() if g), ""))
    if not path:
        path = grab(ctx.text, r"blobprefix: ([^,\s]+)", r"path[: ]+'([^']+)'")
    target = f"path {quoted(path)}" if path else "the input path"
    return Finding(
        f"{target} does not exist when the pipeline read it",
        (
            "Check whether the upstream job that produces this data ran and succeeded for this "
            "date or partition.",
            "Verify the path parameters (dates, partition names, container, mount) the run "
            "resolved.",
            "If the data can legitimately be missing, add an existence check or a sensor before "
            "the read.",
            "Rerun once the data has arrived.",
        ),
        0.65,
        transient=False,
    )


@rule(
    "load_too_many_errors",
    "DataError",
    r"\b(csv|json|avro|parquet|orc|datastore)? ?table encountered too many errors, giving up\."
    r"(?: rows: (\d+); errors: (\d+))?",
    example=(
        "Error: Error while reading data, error message: JSON table encountered too many errors, "
        "giving up. Rows: 1; errors: 1. Please look into the errors[] collection for more "
        "details. [invalid]"
    ),
)
def load_too_many_errors(m: re.Match[str], ctx: Context) -> Finding:
    """BigQuery's load job that stopped on bad rows: the message carries the counts and, in the
    job's status, the file (Location or File), which say where to look; the rows' own errors
    are only in the job's errors[] collection."""
    fmt = (m.group(1) or "").upper()
    rows, errors = m.group(2), m.group(3)
    located = re.search(
        r"(?:location|file): \"?((?:gs|s3)://[^\s\";]{1,400})", ctx.text, re.IGNORECASE
    )
    # The whole object path: its date and file name are what tell one load from another.
    file = clean_value(located.group(1), limit=400) if located else ""
    noun = f"{fmt} file" if fmt else "file"
    source = f"the {noun} {quoted(file)}" if file else f"the {fmt + ' input' if fmt else 'input'}"
    cause = f"BigQuery's load job gave up on {source}: it found more bad rows than the job allows"
    if rows and errors:
        cause += f" ({errors} bad of {rows} rows read)"
    cause += (
        " (max_bad_records); each bad row and why (a value that does not fit its column, a "
        "malformed record, a schema mismatch) is in the job's errors[] collection"
    )
    return Finding(
        cause,
        (
            "Read the load job's errors (bq show -j <job_id>, the job's status.errors, or the "
            "operator's log) for the row, column and reason of each bad record.",
            "Fix the file or its producer, or align the table's schema and the load's options "
            "(source format, field delimiter, quote, schema autodetect) with the file.",
            "If some bad rows are acceptable, raise max_bad_records (or set ignore_unknown_values) "
            "and rerun the load.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "malformed_file",
    "DataError",
    r"malformed|more columns than|fewer columns than|error tokenizing|expected \d+ fields"
    r"|jsondecodeerror|unicodedecodeerror|codec can't decode|invalid byte sequence"
    r"|not a parquet file|corrupt|not (?:a )?valid (?:parquet|avro|orc) file"
    r"|magic (?:bytes|number)\b[^\n]{0,60}(?:not found|but found|\bgot\b)"
    r"|references\s+column\s+position",
    example="ValueError: Connection string is either blank or malformed.",
)
def malformed_file(m: re.Match[str], ctx: Context) -> Finding:
    file = grab(
        ctx.text,
        r"source '([^']+)'",
        r"in file ([^\s,]+)",
        r"file '([^']+)'",
        r"(gs://[^\s:,]+): csv table references",
    )
    row = grab(ctx.text, r"row number (\d+)", r"line (\d+)")
    lowered = ctx.text.lower()
    columnar = None
    # BigQuery: "CSV table references column position 23, but line starting at
    # position:2375002 contains only 23 columns" (positions count from 0).
    short_line = re.search(
        r"references\s+column\s+position\s+(\d+),\s+but\s+line\s+starting\s+at\s+position:?\s*"
        r"(\d+)\s+contains\s+only\s+(\d+)\s+columns",
        ctx.text,
        re.IGNORECASE,
    )
    if short_line:
        kind = (
            f"has a line with fewer fields than the table has columns (the line starting at "
            f"byte {short_line.group(2)} contains only {short_line.group(3)} columns, so column "
            f"position {short_line.group(1)} has no value): an unquoted delimiter or line break "
            "inside a value, or a short row"
        )
        row = ""
    elif "json" in lowered:
        kind = "is not valid JSON (an empty body or an HTML error page is a common cause)"
        row = ""
    elif "decode" in lowered or "byte sequence" in lowered:
        kind = "has an unexpected character encoding"
        # Python: "'utf-8' codec can't decode byte 0xe3 in position 1999": the codec, byte and
        # offset; a traceback's "line 321" is the reader's source line, not the file's row.
        decode = re.search(
            r"'([\w-]{1,20})' codec can't decode byte (0x[0-9a-f]{2}) in position (\d+)",
            ctx.text,
            re.IGNORECASE,
        )
        if decode:
            kind += (
                f" (read as {decode.group(1)}, byte {decode.group(2)} at position "
                f"{decode.group(3)} is invalid)"
            )
            row = ""
    elif columnar := re.search(
        r"\b(parquet|avro|orc)\b[^\n]{0,80}magic|magic[^\n]{0,80}\b(parquet|avro|orc)\b"
        r"|not (?:a )?valid (parquet|avro|orc) file|not an? (parquet|avro|orc) file",
        ctx.text,
        re.IGNORECASE,
    ):
        # The reader found no footer or magic bytes: the file is truncated, corrupted or in
        # another format under the name. Delimiters and quoting do not apply.
        fmt = next(g for g in columnar.groups() if g).capitalize()
        kind = (
            f"is not a readable {fmt} file: its magic bytes or footer are missing (a "
            "truncated or corrupted file, a write still in progress, or another format under "
            f"a {fmt} name)"
        )
        row = ""
    else:
        kind = "is malformed (wrong delimiter, quoting or column count)"
    where = f" {file}" if file else ""
    at = f" at row {row}" if row else ""
    noun = "response or file" if "json" in lowered else "file"
    steps = (
        "Inspect the file around the reported row and compare with a file that loaded "
        "successfully.",
        "Check the format settings (delimiter, quote and escape characters, encoding, "
        "header) against the file.",
    )
    if columnar:
        steps = (
            "Check the file's size and last bytes against a good one (a columnar file ends "
            "with its footer and magic bytes); list the folder for partial or foreign files.",
            "Make the reader skip files that are not data (_SUCCESS, _committed_, .crc, "
            "temporary files) or fix the suffix filter.",
        )
    return Finding(
        f"the input {noun}{where} {kind}{at}",
        (
            *steps,
            "Ask the producer to fix the export, or skip and log bad records if acceptable.",
            "Rerun the failed run after the fix.",
        ),
        0.65,
        transient=False,
    )


@rule(
    "payload_property_conversion",
    "DataError ConfigurationError",
    r"failed to convert the value in '([^'\n]{1,120})' property to '([^'\n]{1,120})' type",
    example=(
        "Failure happened on 'Source' side. ErrorCode=UserErrorInvalidValueInPayload,'Type="
        "Microsoft.DataTransfer.Common.Shared.HybridDeliveryException,Message=Failed to convert "
        "the value in 'requestBody' property to 'System.String' type. Please make sure the "
        "payload structure and value are correct.,Source=Microsoft.DataTransfer.DataContracts,'"
    ),
)
def payload_property_conversion(m: re.Match[str], ctx: Context) -> Finding:
    prop, target = clean_value(m.group(1)), clean_value(m.group(2))
    return Finding(
        f"the value given for the {quoted(prop)} property could not be converted to "
        f"{quoted(target)}: the activity's payload has another shape or type there (an object or "
        "array where a string is expected, or the reverse)",
        (
            f"Check the value the {quoted(prop)} property resolves to in the activity's input "
            "(dynamic content, parameters) and give it the type the connector expects (for a "
            "JSON body as a string, wrap the expression in string()).",
            "Compare it with the connector's documented property and republish.",
            "Rerun after the fix; the same payload fails the same way.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "delta_log_truncated",
    "DataError ConfigurationError",
    any_of(*signals.DELTA_LOG_TRUNCATED),
    example=(
        "DeltaFileNotFoundException: [DELTA_TRUNCATED_TRANSACTION_LOG] s3://lake/orders/"
        "_delta_log/00000000000000000000.json: Unable to reconstruct state at version 2 as the "
        "transaction log has been truncated due to manual deletion or the log retention policy "
        "(delta.logRetentionDuration=30 days) and checkpoint retention policy "
        "(delta.checkpointRetentionDuration=2 days)"
    ),
)
def delta_log_truncated(m: re.Match[str], ctx: Context) -> Finding:
    table = grab(ctx.text, r"([^\s\]\[:]{1,300})/_delta_log/")
    version = grab(
        ctx.text,
        r"reconstruct state at version (\d+)",
        r"could not find any delta file for version (\d+)",
    )
    retention = grab(ctx.text, r"delta\.logRetentionDuration=([^)\n]{1,40})\)")
    what = f"the Delta table at {table}" if table else "the Delta table"
    at = f" version {version}" if version else " the version it asked for"
    kept = (
        f" (delta.logRetentionDuration={retention})"
        if retention
        else " (delta.logRetentionDuration)"
    )
    return Finding(
        f"the transaction log of {what} no longer reaches back to{at}: its older log entries "
        f"were removed, by hand or by the log retention policy{kept}, while a reader still "
        "needed them (a streaming checkpoint or time-travel query older than the log keeps)",
        (
            "Restart the reader from the table's current state: a new checkpoint location for "
            "a stream (or startingVersion at or after the oldest kept version), a newer version "
            "for a time-travel query.",
            f"If readers lag or pause for longer than {retention or 'the retention period'}, "
            "raise delta.logRetentionDuration (and delta.checkpointRetentionDuration) on the "
            "table.",
            "Do not delete files under _delta_log by hand; let log cleanup remove them.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "delta_log_corrupt",
    "DataError",
    any_of(*signals.DELTA_LOG_CORRUPT),
    example=(
        "java.lang.IllegalStateException: The transaction log has failed integrity checks. We "
        "recommend you contact Databricks support for assistance. To disable this check, set "
        "spark.databricks.delta.state.corruptionIsFatal to false. Failed verification of:\n"
        "  Table size (bytes) - Expected: 696757759 Computed: 696757530"
    ),
)
def delta_log_corrupt(m: re.Match[str], ctx: Context) -> Finding:
    check = grab(ctx.text, r"failed verification of:\s{0,20}([^\n]{1,200})")
    failed = f" ({check.strip()})" if check else ""
    return Finding(
        "the Delta table's transaction log no longer agrees with the files it describes"
        f"{failed}: data files were written, removed or replaced outside Delta (a copy, a "
        "manual delete, a table dropped and recreated under its readers), so Databricks stops "
        "rather than read a state it cannot trust",
        (
            "Find what changed the table's folder outside Delta (DESCRIBE HISTORY, the storage "
            "account's logs) and stop it.",
            "Restore the table to its last good version (RESTORE TABLE ... TO VERSION AS OF) or "
            "rebuild it from its source.",
            "Leave spark.databricks.delta.state.corruptionIsFatal on: turning it off reads a "
            "state that may be wrong.",
        ),
        0.6,
        transient=False,
    )


@rule(
    "delta_file_missing",
    "DataError ConfigurationError DatabaseError",
    any_of(*signals.DELTA_FILE_MISSING),
    example=(
        "[DELTA_FILE_NOT_FOUND_DETAILED] File abfss://lake@contoso.dfs.core.windows.net/silver/"
        "orders/part-00017-3f1c.c000.snappy.parquet referenced in the transaction log cannot be "
        "found."
    ),
)
def delta_file_missing(m: re.Match[str], ctx: Context) -> Finding:
    path = (m.group(1) or "").rstrip("/")
    folder, _, name = path.rpartition("/")
    file = clean_value(name)
    table = clean_value(folder.rpartition("/")[2]) if folder else ""
    what = f"the data file {quoted(file)}" if file else "a data file"
    where = f" of {quoted(table)}" if table else ""
    return Finding(
        f"{what}{where} is still listed in the Delta table's transaction log but is no longer "
        "in storage: files removed outside the table (a manual delete, a VACUUM with a short "
        "retention) while a reader or stream still needed them",
        (
            "Check who or what deleted the file (storage logs, VACUUM runs and their retention "
            "against the readers' and streams' lag).",
            "Restore the file from a storage snapshot or soft delete if it can be, or run FSCK "
            "REPAIR TABLE to drop the missing files from the log (their rows are lost).",
            "Keep deletes inside the table (DELETE, VACUUM with the default retention), never "
            "on its files directly.",
            "Rerun once the table reads again.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "rows_failed_to_write",
    "DataError ExternalServiceError",
    any_of(*signals.ROWS_FAILED_TO_WRITE),
    example=(
        "The dataflow refresh completed, but some rows have failed to upsert. Please review "
        "the errors, edit the dataflow to fix the problem and try again."
    ),
)
def rows_failed_to_write(m: re.Match[str], ctx: Context) -> Finding:
    count = grab(ctx.text, r"\b([1-9]\d{0,11}) rows? (?:have |has )?failed to")
    rows = f"{count} rows" if count else "Some rows"
    return Finding(
        f"{rows} failed to upsert or insert into the destination while the rest were written: "
        "their values do not fit the destination table (a required column left empty, a "
        "value of the wrong type or length, a lookup or key that does not match)",
        (
            "Open the refresh's or load's error details for the failed rows and the column "
            "each one names.",
            "Fix those values at the source or in the dataflow's transformation, or relax the "
            "destination column (type, length, required).",
            "Refresh again and check the failed-row count is zero.",
        ),
        0.65,
        transient=False,
    )


@rule(
    "file_content_unreadable",
    "DataError ConfigurationError",
    any_of(*signals.FILE_CONTENT_UNREADABLE),
    example="Error code: DF-Excel-InvalidFile. Invalid excel file is provided while only .xlsx "
    "and .xls are supported.",
)
def file_content_unreadable(m: re.Match[str], ctx: Context) -> Finding:
    if m.group(2):
        file_format = "XML"
        problem = "has elements with sub elements or attributes the data flow cannot convert"
    else:
        file_format = (m.group(1) or "input").upper()
        problem = f"is not a valid {file_format} file"
        if file_format == "EXCEL":
            file_format = "Excel"
            problem = "is not an .xlsx or .xls workbook the data flow can read"
    return Finding(
        f"The {file_format} file the source read {problem}: the file's content, not the connection",
        (
            "Find the file in the source folder (the activity's input path, or the last file "
            "listed before the failure).",
            "Filter the source to the files in the format it reads (a wildcard such as *.xlsx), "
            "or fix or remove the file.",
            "Rerun the data flow once only readable files are in the source.",
        ),
        0.65,
        transient=False,
    )


@rule(
    "spark_read_type_mismatch",
    "DataError",
    any_of(*signals.SPARK_READ_TYPE_MISMATCH),
    example="[FAILED_READ_FILE.PARQUET_COLUMN_DATA_TYPE_MISMATCH] Encountered error while reading "
    "file abfss://raw@lake.dfs.core.windows.net/orders/part-00003.snappy.parquet. Data type "
    'mismatches when reading Parquet column amount. Expected Spark type "DECIMAL(18,2)", actual '
    "Parquet type DOUBLE. SQLSTATE: KD001",
)
def spark_read_type_mismatch(m: re.Match[str], ctx: Context) -> Finding:
    (
        json_field,
        json_value,
        json_type,
        empty_type,
        column,
        expected,
        actual,
        fingerprint,
    ) = (clean_value(group) if group else "" for group in m.groups())
    if json_field:
        what = (
            f"The JSON field {quoted(json_field)} has the value {quoted(json_value)}, which "
            f"cannot be read as {json_type}, the type the schema gives it"
        )
    elif empty_type:
        what = (
            f"A JSON field the schema reads as {empty_type} holds an empty string, which "
            f"cannot be read as {empty_type}"
        )
    elif column:
        what = (
            f"The Parquet column {quoted(column)} is stored as {actual} in the file, while the "
            f"table or read schema expects {expected} (the files were written with another type)"
        )
    else:
        what = (
            f"The Avro data was written with a schema the reader does not know (unknown "
            f"fingerprint {fingerprint}): a writer registered a new schema after the reader "
            "started"
        )
    return Finding(
        f"{what}: the data read, not the code",
        (
            "Find the file or records with the value (the error names the file where it can) "
            "and compare their type with the schema the read uses.",
            "Fix or exclude the bad data, or read the field as a string and convert it "
            "explicitly (or align the table's type with the files').",
            "Rerun the job once the data and schema agree.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "struct_field_missing",
    "DataError CodeError",
    any_of(*signals.STRUCT_FIELD_MISSING),
    example="[FIELD_NOT_FOUND] No such struct field `zip` in `street`, `city`, `state`. "
    "SQLSTATE: 42704",
)
def struct_field_missing(m: re.Match[str], ctx: Context) -> Finding:
    field = clean_value(m.group(1))
    fields = clean_value(m.group(2), 160)
    return Finding(
        f"The struct the query reads has no field {quoted(field)} (its fields: {fields}): the "
        "data's nested schema changed, or the query names the field wrongly",
        (
            f"Compare the field name {quoted(field)} with the struct's schema (printSchema or "
            "DESCRIBE); names are case-sensitive in structs.",
            "If the source dropped or renamed the field, update the query, or read it "
            "conditionally when older and newer records differ.",
            "Rerun the job once the query and the struct agree.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "directory_has_no_files",
    "DataError ConfigurationError",
    any_of(*signals.DIRECTORY_HAS_NO_FILES),
    example="[DELTA_EMPTY_DIRECTORY] No file found in the directory: "
    "abfss://landing@lake.dfs.core.windows.net/orders/2024-06-01. SQLSTATE: 42K03",
)
def directory_has_no_files(m: re.Match[str], ctx: Context) -> Finding:
    directory = clean_value(m.group(1), 200)
    return Finding(
        f"The directory {quoted(directory)} the job reads has no file in it: the upstream "
        "load did not deliver (yet), or the job reads the wrong path",
        (
            "Check whether the upstream job or export ran and wrote files for this run's "
            "period, and whether the path (date folder, container) is the one it writes.",
            "Make the job wait for the files (a sensor or file-arrival trigger), or skip the "
            "period when no data is expected.",
            "Rerun the job once the files are there.",
        ),
        0.65,
        transient=None,
    )


@rule(
    "delta_checkpoint_parts_missing",
    "DataError",
    any_of(*signals.DELTA_CHECKPOINT_PARTS_MISSING),
    example="[DELTA_MISSING_PART_FILES] Couldn't find all part files of the checkpoint version: "
    "1200 SQLSTATE: 42KD6",
)
def delta_checkpoint_parts_missing(m: re.Match[str], ctx: Context) -> Finding:
    version = clean_value(m.group(1))
    return Finding(
        f"Part files of the Delta log's checkpoint at version {version} are missing from "
        "_delta_log: they were deleted (a manual cleanup, a lifecycle rule on the storage) or "
        "the checkpoint write did not finish",
        (
            "List the table's _delta_log for the checkpoint's part files and check the storage "
            "account's lifecycle rules and recent deletions.",
            "Restore the files from soft delete or a backup if you can; otherwise ask "
            "Databricks support how to rebuild the checkpoint from the JSON commits.",
            "Rerun the job once the table's log is whole.",
        ),
        0.65,
        transient=False,
    )


@rule(
    "new_not_null_constraint_violated",
    "DataError",
    any_of(*signals.NEW_NOT_NULL_CONSTRAINT_VIOLATED),
    example="[DELTA_NEW_NOT_NULL_VIOLATION] 12 rows in main.sales.orders violate the new NOT "
    "NULL constraint on customer_id SQLSTATE: 23512",
)
def new_not_null_constraint_violated(m: re.Match[str], ctx: Context) -> Finding:
    rows, table, column = (clean_value(group) for group in m.groups())
    return Finding(
        f"The NOT NULL constraint being added on {quoted(column)} of {table} cannot be: "
        f"{rows} rows already in the table have NULL in {quoted(column)}",
        (
            f"Find the rows (SELECT ... WHERE {column} IS NULL) and fill or remove them, then "
            "add the constraint again.",
            "If NULLs are valid there, leave the column nullable and drop the ALTER from the "
            "job or migration.",
            "Rerun the job once no row breaks the constraint.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "external_table_rows_rejected",
    "DataError",
    r"\b(\d{1,12}) rows? rejected from external table ([\w.\]\[]{1,160}?) in plan step",
    example="12 rows rejected from external table [stage].[orders_ext] in plan step 3 of query "
    "execution:\n\tLocation: '/landing/orders/2024-07-01.csv' Column ordinal: 4, Expected data "
    "type: DECIMAL(18,2).",
)
def external_table_rows_rejected(m: re.Match[str], ctx: Context) -> Finding:
    """Rows of a dedicated SQL pool's external (PolyBase) table that did not fit its columns."""
    rows = m.group(1)
    table = clean_value(m.group(2).replace("[", "").replace("]", ""))
    location = grab(ctx.text, r"location: '([^'\n]{1,300})'")
    column = grab(ctx.text, r"column ordinal: (\d{1,5})")
    expected = grab(ctx.text, r"expected data type: ([\w(), ]{1,60}?)(?: collate|\.|$)")
    where = f" in {quoted(location)}" if location else ""
    detail = (
        f": column {column} does not hold values of its declared type {expected}"
        if column and expected
        else ""
    )
    return Finding(
        f"{rows} row(s) of the files behind the external table {quoted(table)}{where} did not "
        f"fit its definition{detail}, and were rejected (values of another type or length, a "
        "header row, a delimiter or encoding that splits the fields differently)",
        (
            "Open the file at that location and compare the column with the external table's "
            "definition (type, length, field terminator, first row).",
            "Fix the file or the definition (the column's type or length, the file format's "
            "FIRST_ROW and FIELD_TERMINATOR); set REJECT_VALUE only to tolerate known bad rows.",
            "Rerun the load once the rows fit.",
        ),
        0.65,
        transient=False,
    )


@rule(
    "bulk_copy_value_too_long",
    "DataError",
    r"\bgiven value of type (\w{1,20})\((\d{1,10})\) from the data source cannot be converted to "
    r"type (\w{1,20})\((\d{1,10})\)",
    example="com.microsoft.sqlserver.jdbc.SQLServerException: The given value of type "
    "NVARCHAR(307) from the data source cannot be converted to type nvarchar(255) of the "
    "specified target column.",
)
def bulk_copy_value_too_long(m: re.Match[str], ctx: Context) -> Finding:
    """SQL Server bulk copy refusing a string or binary value longer than its target column."""
    source_type, source_len, target_type, target_len = (clean_value(g) for g in m.groups())
    column = grab(ctx.text, r"column '([^']+)'", r"colid (\d+)")
    target = f"column {quoted(column)}" if column else "a target column"
    return Finding(
        f"A value of type {source_type}({source_len}) was bulk-copied into {target} of type "
        f"{target_type}({target_len}): the value is longer than the {target_len} the column "
        "holds, and SQL Server's bulk copy refuses to truncate it (a source column longer than "
        "expected, or corrupt or concatenated data)",
        (
            f"Find the source rows longer than {target_len} in that column and fix, trim or "
            "reject them before the write.",
            f"Or widen the target column beyond {target_len} (or to {target_type}(max)).",
            "Rerun the load after the fix.",
        ),
        0.7,
        transient=False,
    )


_NAMED_CHARS = {"|": "a pipe", '"': "a double quote", "&": "an ampersand", "<": "a '<'"}


def _shown(chars: str) -> str:
    """A delimiter or character as the message prints it (punctuation, or an escape such as
    \\u0016), quoted; named where the RCA's plain text drops it (a pipe, a double quote)."""
    if chars in _NAMED_CHARS:
        return _NAMED_CHARS[chars]
    shown = re.sub(r"[<>&|\"\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e]", "", chars)[:12]
    return f"'{shown}'" if shown else "a control character"


@rule(
    "file_delimiter_mismatch",
    "DataError ConfigurationError",
    any_of(*signals.FILE_DELIMITER_MISMATCH),
    example="Found character 'x' instead of field delimiter '|'\n  File 'stage/orders_01.csv.gz', "
    'line 12, character 33\n  Row 12, column "ORDERS"["AMOUNT":4]',
)
def file_delimiter_mismatch(m: re.Match[str], ctx: Context) -> Finding:
    """A staged file (Snowflake COPY) that does not line up with its file format's delimiters."""
    found, kind, delimiter = _shown(m.group(1)), m.group(2).lower(), _shown(m.group(3))
    named = re.search(r"\bfile '([^'\n]{1,300})'", ctx.text, re.IGNORECASE)
    path = named.group(1) if named else ""
    where = f" in {quoted(clean_value(path, 160))}" if path else ""
    line = grab(ctx.text, r"\bline (\d{1,12})")
    at = f" at line {line}" if line else ""
    lowered = path.lower()
    other = next(
        (
            fmt
            for fmt, marks in (
                ("Parquet", (".parquet", "-parquet/")),
                ("JSON", (".json", "/json/")),
                ("Avro", (".avro",)),
                ("ORC", (".orc",)),
            )
            if any(mark in lowered for mark in marks)
        ),
        "",
    )
    if other:
        why = (
            f"the file is {other}, but the COPY reads it with a delimited (CSV) file format, "
            f"so its {other} content does not split into the table's fields"
        )
        fix = (
            f"Load {other} files with TYPE = {other.upper()} (and MATCH_BY_COLUMN_NAME or a "
            "transforming SELECT), or add a PATTERN so the CSV COPY skips them."
        )
    else:
        why = (
            "the row has a different number of fields or another delimiter than the file "
            "format declares (a delimiter inside an unquoted value, "
            "FIELD_OPTIONALLY_ENCLOSED_BY not set, another file type in the stage)"
        )
        fix = (
            "Compare the file's first lines with the file format (FIELD_DELIMITER, "
            "RECORD_DELIMITER, FIELD_OPTIONALLY_ENCLOSED_BY, SKIP_HEADER) and fix the one "
            "that differs."
        )
    return Finding(
        f"The COPY found {found} where the file format's {kind} delimiter ({delimiter}) "
        f"should be{where}{at}: {why}",
        (
            fix,
            "Check the stage path or PATTERN picks only the files this COPY's file format "
            "describes; use VALIDATION_MODE = RETURN_ERRORS to list every bad row.",
            "Rerun the load once the files and the file format agree (ON_ERROR = SKIP_FILE "
            "only to skip known bad files).",
        ),
        0.7,
        transient=False,
    )


@rule(
    "split_file_missing",
    "DataError DatabaseError",
    any_of(*signals.SPLIT_FILE_MISSING),
    example="HIVE_CANNOT_OPEN_SPLIT: Error opening Hive split s3://lake/events/dt=2024-06-01/"
    "part-00003.parquet (offset=0, length=1024): File does not exist",
)
def split_file_missing(m: re.Match[str], ctx: Context) -> Finding:
    """A file a Hive-connector query (Presto, Trino, Athena) planned to read, gone when read."""
    path = re.search(
        r"\bsplit ((?:s3a?|hdfs|gs|abfss?|wasbs?|file)://[^\s()]{1,400})", ctx.text, re.IGNORECASE
    )
    name = clean_value(path.group(1).rsplit("/", 1)[-1]) if path else ""
    file = f"the file {quoted(name)}" if name else "a file"
    return Finding(
        f"The query planned to read {file} of the table and it no longer existed when read: it "
        "was removed or replaced after the query listed the table's files (an INSERT "
        "OVERWRITE, a rewrite or compaction, or a cleanup running at the same time), or the "
        "metastore or the engine's metadata cache still lists files an overwrite deleted",
        (
            "Check what rewrites the table or partition (a job overwriting it at that time) "
            "and keep readers from running during the overwrite.",
            "Refresh stale metadata: MSCK REPAIR TABLE or the partition's location in the "
            "metastore, and the engine's cache (Trino: CALL system.flush_metadata_cache()).",
            "Rerun the query; it lists the current files.",
        ),
        0.65,
        transient=True,
    )


@rule(
    "dbfs_path_not_found",
    "DataError ConfigurationError",
    any_of(*signals.DBFS_PATH_NOT_FOUND),
    example="%fs ls dbfs:/FileStore/tables/sales/\nFileNotFoundException: /FileStore/tables/sales",
)
def dbfs_path_not_found(m: re.Match[str], ctx: Context) -> Finding:
    """A DBFS path a notebook or job lists or opens and that does not exist."""
    path = clean_value(m.group(1))
    upload = "/filestore/" in path.lower()
    hint = (
        " Files uploaded through the workspace UI land under a folder of their own "
        "(/FileStore/tables/ or /FileStore/shared_uploads/<user>/), which may not be the path "
        "the code names"
        if upload
        else ""
    )
    return Finding(
        f"The DBFS path {quoted(path)} does not exist: nothing was uploaded or written there, it "
        f"was written under another folder, or a mount it relies on is not mounted.{hint}",
        (
            "List the parent folder (dbutils.fs.ls or %fs ls) to find where the data actually "
            "is, and point the code at that path.",
            "If the data should be produced upstream, check that step ran and wrote to this "
            "path; upload or copy it there otherwise.",
            "Rerun the notebook or job once the path exists.",
        ),
        0.7,
        transient=False,
    )


def _top_level_split(text: str, sep: str) -> tuple[str, str] | None:
    """`text` split at the first `sep` outside parentheses, or None."""
    depth = 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0 and text.startswith(sep, index):
            return text[:index], text[index + len(sep) :]
    return None


def _type_name(text: str) -> str:
    return grab(text, r"^\s*\"?([A-Za-z_][\w]{0,40})")


@rule(
    "nested_field_type_conflict",
    "DataError",
    r"\bfailed to merge fields '([^'\n]{1,100})' and '\1'\.\s{0,3}"
    r"failed to merge fields '([^'\n]{1,100})' and '\2'",
    example="Failed to merge fields 'payload' and 'payload'. Failed to merge fields 'items' and "
    "'items'. Failed to merge incompatible data types LongType and StringType",
)
def nested_field_type_conflict(m: re.Match[str], ctx: Context) -> Finding | None:
    """A schema merge (Delta's mergeSchema, a read merging files' schemas) refused for a field
    nested in structs whose type differs between the two schemas."""
    fields = re.findall(
        r"failed to merge fields '([^'\n]{1,100})' and '\1'", ctx.text[m.start() :], re.IGNORECASE
    )
    path = ".".join(clean_value(field) for field in fields[:12] if clean_value(field))
    if not path:
        return None
    types = ""
    rest = re.search(
        r"failed to merge incompatible data types (.{1,2000})", ctx.text, re.IGNORECASE | re.DOTALL
    )
    if rest:
        split = _top_level_split(rest.group(1), " and ")
        if split:
            first, second = _type_name(split[0]), _type_name(split[1])
            if first and second:
                types = f" ({first} in one schema, {second} in the other)"
    return Finding(
        f"The two schemas being merged give the nested field '{path}' incompatible types"
        f"{types}: the data written or read has that field in another shape than the table or "
        "the other files, e.g. a struct in one and a map or string in the other, and Spark does "
        "not convert one into the other when it merges schemas",
        (
            f"Compare '{path}' in the incoming data with the table's schema (DESCRIBE TABLE, "
            "df.printSchema()) and find which side changed its shape.",
            "Cast or reshape the incoming field to the table's type before writing (from_json "
            "with the table's schema, to_json for a string column), or evolve the table "
            "deliberately (a new column, or overwriteSchema in a controlled rewrite).",
            "If the source's shape varies from run to run, read it with an explicit schema "
            "instead of inferring it.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "cast_to_identical_type",
    "DataError CodeError",
    any_of(*signals.CAST_TO_IDENTICAL_TYPE),
    example="AnalysisException: cannot resolve 'transform(src.tags, lambdafunction(x, x))' due "
    "to data type mismatch: cannot cast array<struct<k:string,v:string>> to "
    "array<struct<k:string,v:string>>;",
)
def cast_to_identical_type(m: re.Match[str], ctx: Context) -> Finding | None:
    """A complex type Spark cannot cast to the type it prints identically."""
    source, target = (group.rstrip(";.,'\"") for group in m.groups())
    if source != target:
        return None
    column = grab(ctx.text, r"cannot resolve '\w{1,40}\(([\w.`]{1,200})")
    where = f" {quoted(column)}" if column else ""
    kind = source.split("<", 1)[0].lower()
    article = "an" if kind == "array" else "a"
    return Finding(
        f"Spark refused to cast{where} from {article} {kind} type to the identical {kind} type it "
        "prints: "
        "the two differ in what the printed type leaves out, most often the nullability of a "
        "struct's fields or of an array's or map's elements (containsNull, valueContainsNull), "
        "which Spark will not narrow from nullable to non-nullable; a Delta MERGE with schema "
        "evolution on an array of structs runs into this too",
        (
            "Compare the two schemas with their nullability (df.schema.json(), DESCRIBE "
            "TABLE) and make the source's fields and elements as nullable as the target's, or "
            "rebuild the column with the target's exact type.",
            "For a Delta MERGE, try without automatic schema evolution, or a newer Delta/runtime "
            "version that casts nested arrays of structs.",
            "Rerun the write once the types agree.",
        ),
        0.65,
        transient=False,
    )


@rule(
    "delta_time_travel_version_unavailable",
    "DataError",
    any_of(*signals.DELTA_TIME_TRAVEL_VERSION_UNAVAILABLE),
    example="AnalysisException: Cannot time travel Delta table to version 12. Available versions: "
    "[40, 57].",
)
def delta_time_travel_version_unavailable(m: re.Match[str], ctx: Context) -> Finding:
    """A Delta table read at a version its log no longer reaches (or not yet written)."""
    version = clean_value(m.group(1))
    available = grab(ctx.text, r"available versions: \[(\d{1,12}, ?\d{1,12})\]")
    low, _, high = available.partition(",")
    low, high = low.strip(), high.strip()
    where = f" (the table can be read from version {low} to {high})" if low and high else ""
    why = (
        "the version is newer than the table's latest commit"
        if low and high and version.isdigit() and high.isdigit() and int(version) > int(high)
        else "its data files or log entries were removed since: VACUUM deletes the files older "
        "versions need after delta.deletedFileRetentionDuration, and log cleanup drops commits "
        "older than delta.logRetentionDuration, though DESCRIBE HISTORY can still list them"
    )
    return Finding(
        f"The read asked for version {version} of a Delta table that cannot be reconstructed"
        f"{where}: {why}",
        (
            f"Read a version the table still has{where or ''} instead of {version}, or the "
            "version at a timestamp within the retention period.",
            "If jobs need to travel further back, raise delta.logRetentionDuration and "
            "delta.deletedFileRetentionDuration on the table and run VACUUM with a retention "
            "at least as long.",
            "Keep the data a job must reread (audits, backfills) in a snapshot or a deep clone "
            "rather than in the table's history.",
        ),
        0.8,
        transient=False,
    )
