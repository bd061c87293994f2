"""The registry of outbound targets: the delivery engine (integrations/fanout.py) and the Celery
routing know targets only through it.

A new target is one module in this package exporting a `Target` (see base.py) plus its line in
`_BUILT_IN`. Each target's deliveries go to its own Celery queue, `<default queue>.<name>`
(`route_outbound`, wired in as CELERY_TASK_ROUTES), so that a worker per queue keeps a slow
target from holding up the others (`make run` and docker-compose.yml start one per target).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from integrations.targets import (
    adf_rerun,
    airflow_clear,
    blob,
    databricks_repair,
    jira,
    playbook,
    slack,
)
from integrations.targets.base import Action, Target

_BUILT_IN: tuple[Target, ...] = (
    jira.TARGET,
    slack.TARGET,
    blob.TARGET,
    # Remediation actions (integrations/remediation.py schedules them; nothing initial).
    adf_rerun.TARGET,
    databricks_repair.TARGET,
    airflow_clear.TARGET,
    playbook.TARGET,
)

_targets: dict[str, Target] = {target.name: target for target in _BUILT_IN}

# The one outbound task (integrations/tasks.py); its second argument names the target.
DELIVER_TASK = "integrations.tasks.deliver_outbound"


def register(target: Target) -> None:
    """Add a target (or replace the one of that name)."""
    _targets[target.name] = target


def unregister(name: str) -> None:
    _targets.pop(name, None)


def targets() -> list[Target]:
    return list(_targets.values())


def get(name: str) -> Target:
    """The target of that name; KeyError for an unknown one."""
    return _targets[name]


def action(target: str, action: str) -> Action:
    return _targets[target].actions[action]


def target_of(action: str) -> Target:
    """The target an action belongs to (action names are unique across targets)."""
    for target in _targets.values():
        if action in target.actions:
            return target
    raise KeyError(action)


def action_label(target: str, action: str) -> str:
    """What an action does, for people; the bare name for one no target knows (any more)."""
    found = _targets.get(target)
    return found.actions[action].label if found and action in found.actions else action


def queue_for(target: str) -> str:
    """The Celery queue of a target's deliveries."""
    return f"{settings.CELERY_TASK_DEFAULT_QUEUE}.{target}"


def outbound_queues() -> list[str]:
    return [queue_for(target.name) for target in _targets.values()]


def route_outbound(
    name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **extra: Any
) -> dict[str, str] | None:
    """Celery router: a delivery goes to its target's queue; other tasks are left alone."""
    if name != DELIVER_TASK:
        return None
    target = (kwargs or {}).get("target") or (args[1] if args and len(args) > 1 else None)
    return {"queue": queue_for(target)} if target else None
