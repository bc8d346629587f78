from celery import shared_task


@shared_task(name="rules.scan_time_based", ignore_result=True)
def scan_time_based() -> dict[str, int]:
    """Periodic set-based scan of the time-based rules (orders that become late with no event)."""
    from apps.rules.services import scan

    report = scan(time_based_only=True)
    return {outcome.code: outcome.matched for outcome in report.outcomes}
