"""Celery tasks of the handling engine: thin calls of ``workflows.services``."""

from celery import shared_task


@shared_task(name="workflows.cases_start", ignore_result=True)
def cases_start(request_ids: list[int]) -> int:
    """Start the cases of handling requests just committed (sent after commit by the detector)."""
    from workflows.services import cases_start as start

    return start(request_ids=request_ids)


@shared_task(name="workflows.cases_end", ignore_result=True)
def cases_end(exception_ids: list[int]) -> int:
    """End the cases of exceptions that stopped being active (auto-resolved, resolved, dismissed)."""
    from workflows.services import cases_end as end

    return end(exception_ids=exception_ids)


@shared_task(name="workflows.cases_sweep", ignore_result=True)
def cases_sweep() -> dict[str, int]:
    """Beat: start what a dead worker or a lost message missed; end cases of ended exceptions."""
    from workflows.services import cases_sweep as sweep

    report = sweep()
    return {"started": report.started, "ended": report.ended}


@shared_task(name="workflows.timers_fire", ignore_result=True)
def timers_fire() -> int:
    """Beat, every second: fire due viewflow timers (step deadlines, wait steps), lane 0 here and
    each other lane on another of the worker's processes."""
    from workflows.services import timers_dispatch
    from workflows.services import timers_fire as fire

    first, *others = timers_dispatch()
    for lane in others:
        timers_fire_lane.delay(lane)
    return fire(lane=first)


@shared_task(name="workflows.timers_fire_lane", ignore_result=True)
def timers_fire_lane(lane: int) -> int:
    """One lane of the due timers (sent by ``timers_fire``)."""
    from workflows.services import timers_fire as fire

    return fire(lane=lane)
