import signal
from pathlib import Path

from django.core.management.base import BaseCommand

from integrations.relay import InboxRelay


class Command(BaseCommand):
    help = (
        "Run the inbox relay: hand accepted webhook deliveries to the task queue in batches "
        "(integrations/relay.py). `make run` starts it; several may run at once."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--heartbeat-file",
            type=Path,
            help="touched every few seconds while the relay hands deliveries over (health checks)",
        )

    def handle(self, *args, **options):
        relay = InboxRelay(heartbeat_path=options["heartbeat_file"])

        def stop(*_: object) -> None:
            relay.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write("inbox relay running", ending="\n")
        self.stdout.flush()
        relay.run()
        self.stdout.write(f"inbox relay stopped after {relay.relayed} deliveries")
