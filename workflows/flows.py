"""The one generic handling flow (SPEC §9.1): it runs whatever steps its case copied at start.

    start ─▶ route ─┬─ task / approval ─▶ human (assigned by the step's rule, its form) ─┐
                    │        └─ SLA (timer boundary, non-interrupting) ─▶ ladder ─▶ ladder_next
                    │              ladder_next ─┬─ more points ─▶ ladder_wait (timer) ─▶ ladder
                    │                           ├─ a manager takes over ─▶ route
                    │                           └─ ladder_end
                    ├─ action ─▶ action (an automatic step) ──────────────────────────────┤
                    ├─ wait ──▶ wait (a database timer) ─▶ waited ────────────────────────┤
                    └─ resolve / dismiss ─▶ finish ─▶ end          ◀── back to route ────┘

The case's ``step`` says where it stands; a completed task, an action or a timer sets the next
one from the outcome taken, and ``route`` sends the token there. The handlers are thin: the
engine's services (``workflows.engine``) do the work.
"""

from __future__ import annotations

from django.shortcuts import redirect
from viewflow import this
from viewflow.workflow import flow, lock

from workflows import engine
from workflows.models import HandlingCase, HandlingTask


def task_page(request, **kwargs):
    """Viewflow's own task view is not used: staff work in the workspace (``workflows/views.py``)."""
    return redirect("workspace:task", task_id=kwargs.get("task_pk"))


class HandlingFlow(flow.Flow):
    process_class = HandlingCase
    task_class = HandlingTask
    # Row locks on PostgreSQL; SQLite serializes writers anyway (IMMEDIATE transactions).
    lock_impl = lock.select_for_update_lock

    process_title = "Handling"

    start = flow.StartHandle(this.start_case).Next(this.route)
    route = (
        flow.Switch()
        .Case(this.human, this.at_human_step)
        .Case(this.action, this.at_action_step)
        .Case(this.wait, this.at_wait_step)
        .Default(this.finish)
    )
    human = (
        flow.View(task_page)
        .Assign(this.step_owner)
        .onCreate(this.step_created)
        .OnTimeout(this.ladder_first_due, this.ladder, interrupting=False)
        .Next(this.route)
    )
    # The SLA clock's points (workflows.escalation): remind, breach, notify the lead, a manager.
    ladder = flow.Function(this.ladder_fire).Next(this.ladder_next)
    ladder_next = (
        flow.Switch()
        .Case(this.route, this.ladder_takes_over)
        .Case(this.ladder_wait, this.ladder_more)
        .Default(this.ladder_end)
    )
    ladder_wait = flow.Timer(this.ladder_next_due).Next(this.ladder)
    ladder_end = flow.End()
    action = flow.Function(this.run_action).Next(this.route)
    wait = flow.Timer(this.wait_until).Next(this.waited)
    waited = flow.Function(this.wait_over).Next(this.route)
    finish = flow.Function(this.finish_case).Next(this.end)
    end = flow.End()

    def start_case(self, activation, **kwargs):
        return engine.case_begin(activation, **kwargs)

    def at_human_step(self, activation) -> bool:
        return engine.current_kind(activation) in ("task", "approval")

    def at_action_step(self, activation) -> bool:
        return engine.current_kind(activation) == "action"

    def at_wait_step(self, activation) -> bool:
        return engine.current_kind(activation) == "wait"

    def step_owner(self, activation):
        return engine.step_owner(activation)

    def step_created(self, activation) -> None:
        engine.step_created(activation)

    def ladder_first_due(self, activation):
        return engine.ladder_first_due(activation)

    def ladder_fire(self, activation) -> None:
        engine.ladder_fire(activation)

    def ladder_takes_over(self, activation) -> bool:
        return engine.ladder_takes_over(activation)

    def ladder_more(self, activation) -> bool:
        return engine.ladder_more(activation)

    def ladder_next_due(self, activation):
        return engine.ladder_next_due(activation)

    def run_action(self, activation) -> None:
        engine.run_action(activation)

    def wait_until(self, activation):
        return engine.wait_until(activation)

    def wait_over(self, activation) -> None:
        engine.wait_over(activation)

    def finish_case(self, activation) -> None:
        engine.finish_case(activation)
