from django.core.management.base import BaseCommand, CommandError

from rca_project.observability import WORKER_HEARTBEAT_MAX_AGE, worker_heartbeat_recent


class Command(BaseCommand):
    # A health check run every 30 s: Django's system checks would cost seconds of CPU each time.
    requires_system_checks: list[str] = []
    help = (
        "Exit 0 when a worker ran the heartbeat task beat schedules every 30 s within the last "
        f"{WORKER_HEARTBEAT_MAX_AGE} s, 1 otherwise (compose's beat health check; `/readyz` "
        "reports the same as its `worker` check)."
    )

    def handle(self, *args, **options):
        if not worker_heartbeat_recent():
            raise CommandError(
                f"no worker heartbeat in the last {WORKER_HEARTBEAT_MAX_AGE} s: beat or every "
                "worker of the default queue is down, or Redis is unreachable"
            )
        self.stdout.write("worker heartbeat recent")
