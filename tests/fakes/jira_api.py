"""A local stand-in for the JIRA REST API v2, for tests that run the real `jira` library.

    with FakeJira() as fake:
        JIRA(server=fake.url, basic_auth=(fake.user, fake.token), get_server_info=False,
             max_retries=0)
        fake.issues["OPS-1"]                # {"summary", "status", "labels", "comments", ...}
        fake.lose_create_response(status=500)   # create the issue, then answer 500 (or stall)
        fake.can_delete = False                 # the account lacks "Delete Issues": 403
        fake.deleted                            # keys of the issues deleted, in order
        fake.move_issue("OPS-1", "DATA")        # moved to another project: a new key ("DATA-1"),
                                                # the old one still answered, as JIRA does
        fake.fail(503) / fake.throttle(7) / fake.stall(5)   # from FakeHttpService
        fake.requests                       # every request seen: method, path, query, headers, body

Paths answered (what `jira` 3.10 calls with get_server_info=False, prefetch=False, a project
given as {"key": ...} and a transition given by id):
  GET  /rest/api/2/serverInfo
  GET  /rest/api/2/myself                     the signed-in account (`account_id`)
  GET  /rest/api/2/field                      (the library's field-name cache, before a search)
  GET|POST /rest/api/2/search                 (Server/Data Center search; `total`/`startAt`)
  GET|POST /rest/api/2/search/jql             (Jira Cloud's search; `isLast`/`nextPageToken`)
  POST /rest/api/2/issue                      201 {"id", "key", "self"}; keys PROJ-1, PROJ-2...;
                                              400 without a field `required_fields` names
  GET  /rest/api/2/issue/{key}                `fields=` filters the fields returned
  PUT  /rest/api/2/issue/{key}                204; `fields` (summary, description, labels,
                                              priority) and `update` operations on labels
                                              (add/remove/set) and comment (add)
  DELETE /rest/api/2/issue/{key}              204; 403 without the delete permission
  GET  /rest/api/2/issue/{key}/transitions    every transition leading to another status (with
                                              `expand=transitions.fields`, its screen's fields)
  POST /rest/api/2/issue/{key}/transitions    204, applied; 400 without the resolution a
                                              transition screen shows, or with a field it
                                              does not show
  POST /rest/api/2/issue/{key}/comment        201
{key} is an issue key or its numeric id, as in JIRA. Issues carry `created` and `updated`
(JIRA's "2024-04-05T10:00:00.000+0000" form, from the clock; ids and `created` increase with each
creation). JQL understood: `labels = "X"`, `project = KEY`, `key = KEY`, joined by AND, with an
optional `ORDER BY created|key ASC|DESC`; anything else is a 400 as JIRA answers an invalid query.
Errors use JIRA's body `{"errorMessages": [...], "errors": {...}}`; wrong basic-auth credentials
get 401; a description or comment over 32,767 characters (UTF-16 code units, as Java counts) is a
400, as in JIRA.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import threading
from dataclasses import dataclass
from typing import Any

from tests.fakes.http import FakeHttpService, RecordedRequest, Reply

API = "/rest/api/2"
PRIORITIES = ("Highest", "High", "Medium", "Low", "Lowest")
ISSUE_TYPES = ("Task", "Bug", "Story", "Incident")
RESOLUTIONS = ("Done", "Won't Do", "Duplicate", "Cannot Reproduce")
STATUS_CATEGORY = {"To Do": "new", "In Progress": "indeterminate", "Done": "done"}
EDITABLE = ("summary", "description", "labels", "priority")
# JIRA refuses a longer description or comment body (a 400 naming the field).
TEXT_LIMIT = 32767


def text_length(text: str) -> int:
    """JIRA (Java) counts UTF-16 code units: an emoji is two."""
    return len(text.encode("utf-16-le")) // 2


TOO_LONG = "The entered text is too long. It exceeds the allowed limit of 32,767 characters."


@dataclass(frozen=True)
class Transition:
    id: str
    name: str  # the transition's name, as shown on the button: not the status it leads to
    to: str
    # The statuses it is offered from (a classic workflow's "Reopen Issue" only from Resolved
    # and Closed); empty: from any status (a global transition).
    sources: tuple[str, ...] = ()
    # The fields its transition screen shows (a classic workflow's "Resolve Issue" screen:
    # `("resolution",)`); Resolution on a screen is required, as in JIRA. Empty: no screen.
    screen: tuple[str, ...] = ()


# The standard simplified workflow: from any status to any other. Names differ from the status
# names on purpose, so a client must match on `to.name`.
STANDARD_WORKFLOW = (
    Transition("11", "Reopen", "To Do"),
    Transition("21", "Start Progress", "In Progress"),
    Transition("31", "Resolve", "Done"),
)

_CLAUSE = re.compile(
    r"""^\s*(?P<field>labels|project|key|issuekey)\s*=\s*
        (?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<bare>[A-Za-z0-9_\-.]+))\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
_ORDER = re.compile(r"\s+ORDER\s+BY\s+(?P<field>created|key)(?:\s+(?P<dir>ASC|DESC))?\s*$", re.I)


class JqlError(ValueError):
    """A query the fake (like JIRA) cannot parse: answered 400."""


def parse_jql(jql: str) -> tuple[list[tuple[str, str]], str, bool]:
    """-> ([(field, value)], order field, descending)."""
    order, descending = "key", False
    match = _ORDER.search(jql)
    if match:
        order = match["field"].lower()
        descending = (match["dir"] or "ASC").upper() == "DESC"
        jql = jql[: match.start()]
    clauses = []
    for part in re.split(r"\s+AND\s+", jql.strip(), flags=re.IGNORECASE):
        clause = _CLAUSE.match(part)
        if not clause:
            raise JqlError(f"Error in the JQL Query: cannot parse {part.strip()!r}.")
        value = clause["quoted"] if clause["quoted"] is not None else clause["bare"]
        value = re.sub(r"\\(.)", r"\1", value)
        field = clause["field"].lower()
        clauses.append(("key" if field == "issuekey" else field, value))
    return clauses, order, descending


# The fields an issue here keeps under their own keys; any other one sent on create is kept, as
# sent, under "other_fields".
OWN_FIELDS = ("project", "summary", "description", "issuetype", "priority", "labels")


def jira_error(*messages: str, **errors: str) -> dict[str, Any]:
    return {"errorMessages": list(messages), "errors": dict(errors)}


class FakeJira(FakeHttpService):
    def __init__(self, *, user: str = "rca-bot@example.com", token: str = "jira-api-token") -> None:
        super().__init__()
        self.user = user
        self.token = token
        self.projects = {"OPS", "PROJ", "DATA"}
        self.workflow: tuple[Transition, ...] = STANDARD_WORKFLOW
        self.initial_status = "To Do"  # the workflow's first status, a new issue's
        self.issue_types: tuple[str, ...] = ISSUE_TYPES  # the project's issue type scheme
        # The priority scheme: a Jira Server/Data Center site set up before 7.6 keeps
        # Blocker / Critical / Major / Minor / Trivial; a project may leave Priority off its
        # create and edit screens (empty: "cannot be set").
        self.priorities: tuple[str, ...] = PRIORITIES
        # Fields a project's create screen requires beyond JIRA's own (e.g. a "Team" custom
        # field): project key -> {field id: its name}; a create without one is a 400 naming it.
        self.required_fields: dict[str, dict[str, str]] = {}
        # The site's resolutions (Jira Cloud's defaults), offered on a transition screen.
        self.resolutions: tuple[str, ...] = RESOLUTIONS
        self.issues: dict[str, dict[str, Any]] = {}
        self._next_number: dict[str, int] = {}
        self._next_id = 10000
        self._state_lock = threading.Lock()
        self._lost_creates: list[tuple[int, float]] = []
        self.can_delete = True
        self.deleted: list[str] = []
        self.moved: dict[str, str] = {}  # an old key -> the key its issue was moved to

    # -- knobs ---------------------------------------------------------------------------------
    def lose_create_response(
        self, *, status: int = 500, stall: float = 0.0, times: int = 1
    ) -> None:
        """The next `times` issue creations succeed, but the answer is lost: after `stall`
        seconds the client gets `status` instead of 201 (0: the normal answer, late)."""
        with self._state_lock:
            self._lost_creates.extend([(status, stall)] * times)

    def add_issue(self, project: str, summary: str, **fields: Any) -> str:
        """Create an issue directly (as if someone made it in JIRA)."""
        body = {"fields": {"project": {"key": project}, "summary": summary, **fields}}
        status, reply, _ = self._create(body)
        assert status == 201, reply
        return reply["key"]

    def move_issue(self, key: str, project: str) -> str:
        """Move an issue to another project (as JIRA's "Move"): it gets the next key there and
        keeps its id; the old key still reaches it (JIRA redirects it). Returns the new key."""
        with self._state_lock:
            issue = self.issues.pop(key)
            number = self._next_number.get(project, 1)
            self._next_number[project] = number + 1
            new_key = f"{project}-{number}"
            issue.update(key=new_key, project=project, updated_at=_now())
            self.issues[new_key] = issue
            self.moved[key] = new_key
        return new_key

    def issue_requests(self, method: str | None = None) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if r.path.startswith(f"{API}/issue") and (method is None or r.method == method)
        ]

    # -- FakeHttpService -------------------------------------------------------------------------
    def error_body(self, status: int, message: str) -> Any:
        return jira_error(message)

    def route(self, request: RecordedRequest) -> Reply:
        if not self._authorised(request):
            return (
                401,
                jira_error("You are not authenticated. Authentication required to perform this."),
                {"WWW-Authenticate": 'Basic realm="protected-area"'},
            )
        path, method = request.path.rstrip("/"), request.method
        if path == f"{API}/serverInfo" and method == "GET":
            return 200, self._server_info(), {}
        if path == f"{API}/myself" and method == "GET":
            return 200, self.myself(), {}
        if path == f"{API}/field" and method == "GET":
            return 200, self._fields(), {}
        if path in (f"{API}/search", f"{API}/search/jql") and method in ("GET", "POST"):
            return self._search(request, cloud=path.endswith("/jql"))
        if path == f"{API}/issue" and method == "POST":
            return self._create(request.body)
        match = re.fullmatch(rf"{API}/issue/(?P<key>[^/]+)(?P<rest>/transitions|/comment)?", path)
        if match:
            issue = self._find(match["key"])
            if issue is None:
                return 404, jira_error("Issue Does Not Exist"), {}
            rest = match["rest"] or ""
            if rest == "" and method == "GET":
                return 200, self._issue_json(issue, request.param("fields")), {}
            if rest == "" and method == "PUT":
                return self._edit(issue, request.body or {})
            if rest == "" and method == "DELETE":
                return self._delete(issue)
            if rest == "/transitions" and method == "GET":
                expand = request.param("expand") or ""
                available = self._available(issue, fields="transitions.fields" in expand)
                return 200, {"expand": "transitions", "transitions": available}, {}
            if rest == "/transitions" and method == "POST":
                return self._transition(issue, request.body or {})
            if rest == "/comment" and method == "POST":
                return self._comment(issue, request.body or {})
        return 404, jira_error(f"No resource at {method} {request.path}"), {}

    # -- internals -----------------------------------------------------------------------------
    def _authorised(self, request: RecordedRequest) -> bool:
        header = request.header("Authorization") or ""
        if not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header[6:]).decode()
        except ValueError:
            return False
        return decoded == f"{self.user}:{self.token}"

    account_id = "557058:rca-bot-account"

    def myself(self) -> dict[str, Any]:
        """The signed-in account as Jira Cloud shows it (its e-mail hidden, as by default);
        a webhook's `user` for a change the service made."""
        return {"accountId": self.account_id, "displayName": "RCA bot", "active": True}

    def _server_info(self) -> dict[str, Any]:
        return {
            "baseUrl": self.url,
            "version": "9.12.15",
            "versionNumbers": [9, 12, 15],
            "deploymentType": "Server",
            "buildNumber": 9120015,
            "serverTitle": "Fake JIRA",
        }

    def _fields(self) -> list[dict[str, Any]]:
        names = {
            "summary": "Summary",
            "status": "Status",
            "labels": "Labels",
            "priority": "Priority",
            "description": "Description",
            "project": "Project",
            "issuetype": "Issue Type",
            "created": "Created",
        }
        return [
            {"id": fid, "key": fid, "name": name, "custom": False, "clauseNames": [fid]}
            for fid, name in names.items()
        ]

    def _find(self, key_or_id: str) -> dict[str, Any] | None:
        with self._state_lock:
            key = key_or_id.upper()
            while key in self.moved:  # an old key: where its issue was moved
                key = self.moved[key]
            if key in self.issues:
                return self.issues[key]
            return next((i for i in self.issues.values() if i["id"] == key_or_id), None)

    def _refused_priority(self, fields: dict[str, Any]) -> str:
        """Why JIRA refuses the `priority` of a create or an edit, or '' (none given: the
        project's default, the first of the scheme)."""
        if "priority" in fields and not self.priorities:
            return (
                "Field 'priority' cannot be set. It is not on the appropriate screen, or unknown."
            )
        wanted = fields.get("priority")
        name = wanted.get("name") if isinstance(wanted, dict) else None
        if wanted is not None and name not in self.priorities:
            return f"Specify the Priority (name) in the string format: {name}"
        return ""

    def _priority_of(self, fields: dict[str, Any]) -> str:
        """The priority a created issue gets: the one given, or the scheme's default (its
        middle one: Medium, or Major), or none when the project has no priority."""
        wanted = fields.get("priority")
        if isinstance(wanted, dict) and wanted.get("name"):
            return str(wanted["name"])
        return self.priorities[len(self.priorities) // 2] if self.priorities else ""

    def _create(self, body: Any) -> Reply:
        fields = (body or {}).get("fields") or {}
        errors: dict[str, str] = {}
        project = (fields.get("project") or {}).get("key")
        if not project or project not in self.projects:
            errors["project"] = "project is required"
        if not str(fields.get("summary") or "").strip():
            errors["summary"] = "You must specify a summary of the issue."
        elif len(fields["summary"]) > 255:
            errors["summary"] = "Summary must be less than 255 characters."
        elif "\n" in fields["summary"] or "\r" in fields["summary"]:
            errors["summary"] = "The summary is invalid because it contains newline characters."
        issue_type = (fields.get("issuetype") or {"name": "Task"}).get("name")
        if issue_type not in self.issue_types:
            errors["issuetype"] = "Specify a valid issue type"
        priority = self._refused_priority(fields)
        if priority:
            errors["priority"] = priority
        if text_length(str(fields.get("description") or "")) > TEXT_LIMIT:
            errors["description"] = TOO_LONG
        labels = fields.get("labels") or []
        bad = [label for label in labels if not label or " " in label]
        if bad:
            errors["labels"] = f"The label '{bad[0]}' contains spaces which is invalid."
        for field, name in self.required_fields.get(str(project), {}).items():
            if fields.get(field) in (None, "", [], {}):
                errors[field] = f"{name} is required."
        if errors:
            return 400, jira_error(**errors), {}
        assert isinstance(project, str)  # checked above: one of self.projects
        with self._state_lock:
            number = self._next_number.get(project, 1)
            self._next_number[project] = number + 1
            self._next_id += 1
            key = f"{project}-{number}"
            issue = {
                "id": str(self._next_id),
                "key": key,
                "project": project,
                "summary": fields["summary"],
                "description": fields.get("description") or "",
                "issuetype": issue_type,
                "priority": self._priority_of(fields),
                "labels": list(labels),
                "other_fields": {k: v for k, v in fields.items() if k not in OWN_FIELDS},
                "status": self.initial_status,
                "comments": [],
                "transitions": [],
                "created": self._next_id,  # the order of creation
                "created_at": _now(),
                "updated_at": _now(),
            }
            self.issues[key] = issue
            lost = self._lost_creates.pop(0) if self._lost_creates else None
        reply = {"id": issue["id"], "key": key, "self": f"{self.url}{API}/issue/{issue['id']}"}
        if lost:
            status, stall = lost
            if stall:
                self._released.wait(stall)
            if status:
                return status, jira_error("Internal server error"), {}
        return 201, reply, {}

    def _issue_json(self, issue: dict[str, Any], wanted: str | None) -> dict[str, Any]:
        fields = {
            **issue["other_fields"],
            "summary": issue["summary"],
            "description": issue["description"],
            "labels": list(issue["labels"]),
            "priority": {"name": issue["priority"]} if issue["priority"] else None,
            "issuetype": {"name": issue["issuetype"]},
            "project": {"key": issue["project"], "name": issue["project"]},
            "status": {
                "name": issue["status"],
                "statusCategory": {"key": STATUS_CATEGORY.get(issue["status"], "indeterminate")},
            },
            "comment": {"comments": list(issue["comments"]), "total": len(issue["comments"])},
            "created": issue["created_at"],
            "updated": issue["updated_at"],
        }
        if wanted and "*all" not in wanted:
            names = {n.strip() for n in wanted.split(",")}
            fields = {k: v for k, v in fields.items() if k in names}
        return {
            "id": issue["id"],
            "key": issue["key"],
            "self": f"{self.url}{API}/issue/{issue['id']}",
            "fields": fields,
        }

    def _search(self, request: RecordedRequest, *, cloud: bool) -> Reply:
        params: dict[str, Any] = {k: v[0] for k, v in request.query.items()}
        if request.method == "POST" and isinstance(request.body, dict):
            params.update(request.body)
        fields = params.get("fields")
        if isinstance(fields, list):
            fields = ",".join(fields)
        try:
            clauses, order, descending = parse_jql(str(params.get("jql") or ""))
        except JqlError as exc:
            return 400, jira_error(str(exc)), {}
        with self._state_lock:
            found = [i for i in self.issues.values() if all(_matches(i, c) for c in clauses)]
        found.sort(key=lambda i: i["created"], reverse=descending)
        if order == "key":
            found.sort(
                key=lambda i: (i["project"], int(i["key"].split("-")[1])), reverse=descending
            )
        start = int(params.get("startAt") or 0)
        size = int(params.get("maxResults") or 50)
        page = [self._issue_json(i, fields) for i in found[start : start + size]]
        if cloud:
            return 200, {"issues": page, "isLast": start + size >= len(found)}, {}
        body = {"startAt": start, "maxResults": size, "total": len(found), "issues": page}
        return 200, body, {}

    def _available(self, issue: dict[str, Any], *, fields: bool = False) -> list[dict[str, Any]]:
        """The transitions offered from the issue's status; with `fields`
        (`expand=transitions.fields`), each with the fields of its screen, as JIRA lists them."""
        return [
            {
                "id": t.id,
                "name": t.name,
                "to": {
                    "name": t.to,
                    "statusCategory": {"key": STATUS_CATEGORY.get(t.to, "indeterminate")},
                },
                "hasScreen": bool(t.screen),
                **({"fields": self._screen_fields(t)} if fields else {}),
            }
            for t in self.workflow
            if t.to != issue["status"] and (not t.sources or issue["status"] in t.sources)
        ]

    def _screen_fields(self, transition: Transition) -> dict[str, Any]:
        shown: dict[str, Any] = {}
        if "resolution" in transition.screen:
            shown["resolution"] = {
                "required": True,
                "schema": {"type": "resolution", "system": "resolution"},
                "name": "Resolution",
                "key": "resolution",
                "hasDefaultValue": False,
                "operations": ["set"],
                "allowedValues": [
                    {"id": str(10000 + n), "name": name} for n, name in enumerate(self.resolutions)
                ],
            }
        return shown

    def _transition(self, issue: dict[str, Any], body: dict[str, Any]) -> Reply:
        wanted = str((body.get("transition") or {}).get("id", ""))
        with self._state_lock:
            available = {t["id"]: t for t in self._available(issue)}
            if wanted not in available:
                message = f"Transition id '{wanted}' is not valid for this issue."
                return 400, jira_error(message), {}
            screen = next(t.screen for t in self.workflow if t.id == wanted)
            given = body.get("fields") or {}
            for name in given:
                if name not in screen:
                    message = (
                        f"Field '{name}' cannot be set. It is not on the appropriate screen,"
                        " or unknown."
                    )
                    return 400, jira_error(**{name: message}), {}
            resolution = str((given.get("resolution") or {}).get("name", ""))
            if "resolution" in screen and resolution not in self.resolutions:
                return 400, jira_error("Field Resolution is required."), {}
            if resolution:
                issue["resolution"] = resolution
            before = issue["status"]
            issue["status"] = available[wanted]["to"]["name"]
            issue["transitions"].append({"id": wanted, "from": before, "to": issue["status"]})
        return 204, None, {}

    def _edit(self, issue: dict[str, Any], body: dict[str, Any]) -> Reply:
        """Edit issue: `fields` set values, `update` applies operations (as JIRA's PUT does)."""
        fields = body.get("fields") or {}
        update = body.get("update") or {}
        unknown = [name for name in [*fields, *update] if name not in (*EDITABLE, "comment")]
        if unknown or "comment" in fields:
            name = (unknown or ["comment"])[0]
            message = (
                f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
            )
            return 400, jira_error(**{name: message}), {}
        if text_length(str(fields.get("description") or "")) > TEXT_LIMIT:
            return 400, jira_error(description=TOO_LONG), {}
        refused = self._refused_priority(fields) if "priority" in fields else ""
        if refused:
            return 400, jira_error(priority=refused), {}
        with self._state_lock:
            labels = list(issue["labels"])
            if "labels" in fields:
                labels = list(fields["labels"] or [])
            for operation in update.get("labels") or []:
                for verb, value in operation.items():
                    if verb == "add" and value not in labels:
                        labels.append(value)
                    elif verb == "remove" and value in labels:
                        labels.remove(value)
                    elif verb == "set":
                        labels = list(value or [])
            bad = [label for label in labels if not label or " " in str(label)]
            if bad:
                message = f"The label '{bad[0]}' contains spaces which is invalid."
                return 400, jira_error(labels=message), {}
            issue["labels"] = labels
            for name in ("summary", "description", "priority"):
                if name in fields:
                    value = fields[name]
                    issue[name] = value.get("name") if isinstance(value, dict) else value
            issue["updated_at"] = _now()
        for operation in update.get("comment") or []:
            added = (operation.get("add") or {}) if isinstance(operation, dict) else {}
            status, reply, _ = self._comment(issue, added)
            if status != 201:
                return status, reply, {}
        return 204, None, {}

    def _delete(self, issue: dict[str, Any]) -> Reply:
        if not self.can_delete:
            message = "You do not have permission to delete issues in this project."
            return 403, jira_error(message), {}
        with self._state_lock:
            if self.issues.pop(issue["key"], None) is None:
                return 404, jira_error("Issue Does Not Exist"), {}
            self.deleted.append(issue["key"])
        return 204, None, {}

    def _comment(self, issue: dict[str, Any], body: dict[str, Any]) -> Reply:
        text = body.get("body")
        if not isinstance(text, str) or not text.strip():
            return 400, jira_error(comment="Comment body can not be empty!"), {}
        if text_length(text) > TEXT_LIMIT:
            return 400, jira_error(comment=TOO_LONG), {}
        with self._state_lock:
            self._next_id += 1
            comment = {
                "id": str(self._next_id),
                "body": text,
                "author": {"name": self.user, "displayName": "RCA bot"},
                "created": _now(),
            }
            issue["comments"].append(comment)
            issue["updated_at"] = _now()
        return 201, comment, {}


def _now() -> str:
    """JIRA's timestamp form: 2024-04-05T10:00:00.000+0000."""
    now = dt.datetime.now(dt.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"


def _matches(issue: dict[str, Any], clause: tuple[str, str]) -> bool:
    field, value = clause
    if field == "labels":
        return value in issue["labels"]
    if field == "project":
        return issue["project"].upper() == value.upper()
    return issue["key"].upper() == value.upper()
