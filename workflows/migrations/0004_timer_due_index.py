"""An index for the timer dispatcher's query (viewflow's fire_due_timers: status, type, due moment).

Without it, and without planner statistics (SQLite is never ANALYZEd here), the query reads every
scheduled timer through the status index and sorts them: 60-70 ms with 100,000 open SLA clocks,
against 0.3-0.6 ms with it (bench/sla.py). viewflow's Task is a library model, so the index is
SQL of our own, the same on SQLite and PostgreSQL.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0003_change_kinds"),
        ("viewflow", "0015_task_scheduled"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS viewflow_task_timer_due_idx"
            " ON viewflow_task (status, flow_task_type, scheduled)",
            "DROP INDEX IF EXISTS viewflow_task_timer_due_idx",
        )
    ]
