from celery import shared_task
from django.db import InterfaceError, OperationalError


@shared_task(name="rules.scan_time_based", ignore_result=True)
def scan_time_based() -> dict[str, int]:
    """Periodic set-based scan of the time-based rules (orders that become late with no event)."""
    from apps.rules.services import scan

    report = scan(time_based_only=True)
    return {outcome.code: outcome.matched for outcome in report.outcomes}


@shared_task(
    name="rules.backtest_run",
    bind=True,
    ignore_result=True,
    # A lost database connection is worth another try; the run starts over (it is idempotent).
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=3,
)
def backtest_run(self, run_id: int) -> None:
    """Compute a queued back-test run (sent after commit by ``backtest_run_start``)."""
    from apps.rules.services import backtest_run_execute, backtest_run_fail

    try:
        backtest_run_execute(run_id=run_id)
    except (OperationalError, InterfaceError) as exc:
        if self.request.retries >= self.max_retries:
            backtest_run_fail(run_id=run_id, error=f"{type(exc).__name__}: {exc}")
            return
        raise
