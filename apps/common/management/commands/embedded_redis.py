import os

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.common.embedded_redis import redis_server_argv


class Command(BaseCommand):
    help = "Replace this process with the embedded redis-server on the run directory's unix socket."

    def handle(self, *args, **options):
        data_dir = settings.RUN_DIR / "redis"
        data_dir.mkdir(parents=True, exist_ok=True)
        socket_path = settings.EMBEDDED_REDIS_SOCKET
        socket_path.unlink(missing_ok=True)
        argv = redis_server_argv(socket_path=socket_path, data_dir=data_dir)
        self.stdout.write(f"embedded redis-server on unix://{socket_path}")
        self.stdout.flush()
        # exec, so the process manager's Ctrl-C (SIGINT/SIGTERM) reaches redis-server itself.
        os.execv(argv[0], argv)  # noqa: S606 (a fixed binary, no shell)
