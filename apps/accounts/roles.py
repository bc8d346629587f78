"""What each role may do, as Django model permissions (``app_label.codename``).

The API checks these through ``RoleModelPermissions``; the admin checks them natively.
Every ``migrate`` makes the role groups match this table (``AccountsConfig.ready`` connects
the sync to ``post_migrate``), so a change here reaches existing databases at the next release.
"""

from apps.accounts.models import Role

ORDER_MODELS = (
    "carrier",
    "customer",
    "order",
    "orderline",
    "product",
    "stocklevel",
    "payment",
    "shipment",
    "shipmentline",
    "trackingevent",
)


def _perms(app: str, models: tuple[str, ...], actions: tuple[str, ...]) -> set[str]:
    return {f"{app}.{action}_{model}" for model in models for action in actions}


ROLE_PERMISSIONS: dict[str, set[str]] = {
    # Admins configure the platform and are the accounts that other systems' tokens belong to.
    Role.ADMIN: _perms("orders", ORDER_MODELS, ("view", "add", "change", "delete"))
    | _perms("accounts", ("department", "user"), ("view", "add", "change"))
    | {"authtoken.view_token", "authtoken.add_token", "authtoken.change_token", "authtoken.delete_token"}
    | _perms("exceptions", ("orderexception", "gradingrule"), ("view", "add", "change", "delete"))
    | _perms("exceptions", ("exceptionevent",), ("view",))
    # SLA (SPEC §9.4, §9.5): business calendars and escalation ladders are configured; the
    # timer firings (their lag) and the dispatcher's heartbeat are only read.
    | _perms(
        "exceptions",
        ("businesscalendar", "calendarday", "officialday", "escalationladder", "escalationlevel"),
        ("view", "add", "change", "delete"),
    )
    | _perms("exceptions", ("timerfiring", "heartbeat"), ("view",))
    | {"exceptions.grant_waiver"}
    | _perms("rules", ("exceptionrule",), ("view", "add", "change", "delete"))
    # A rule's and a grading row's versions are written by their services and only read; a
    # back-test run is started through the rule (its test and back-test need change_exceptionrule).
    | _perms("rules", ("ruleversion",), ("view",))
    | _perms("rules", ("backtestrun",), ("view", "add"))
    | _perms("exceptions", ("gradingruleversion",), ("view",))
    # The form designer: drafts are edited and published; published versions and the history
    # are only read (the database refuses to change a version).
    | _perms("formdesigner", ("formdefinition",), ("view", "add", "change"))
    | _perms("formdesigner", ("formversion", "formchange"), ("view",))
    # The workflow designer, likewise: drafts edited and published, versions and history read.
    | _perms("workflows", ("workflowdefinition",), ("view", "add", "change"))
    | _perms("workflows", ("workflowversion", "workflowchange"), ("view",))
    # Handling: everyone who handles sees and acts on tasks (the services scope them by department).
    | _perms("workflows", ("handlingtask",), ("view", "change"))
    # Sign-in lockouts (django-axes): deleting an access attempt unlocks that user and address.
    | _perms("axes", ("accessattempt",), ("view", "delete"))
    | _perms("axes", ("accesslog",), ("view",))
    # The console's 系统 group: API tokens (the admin lists them through a proxy model), the
    # roles as groups (read: ROLE_PERMISSIONS is their source) and the Celery beat schedules.
    | _perms("authtoken", ("tokenproxy",), ("view", "add", "delete"))
    | {"auth.view_group"}
    | _perms(
        "django_celery_beat",
        ("periodictask", "intervalschedule", "crontabschedule", "solarschedule", "clockedschedule"),
        ("view", "add", "change", "delete"),
    ),
    # Staff handle exceptions and read the orders behind them. Order data (orders, lines,
    # payments, shipments, tracking events, products, stock) is written by admins and the
    # integration accounts only: staff will change an order through the handling of its
    # exception, which records who changed what, not by editing it directly.
    Role.STAFF: _perms("orders", ORDER_MODELS, ("view",))
    | _perms("exceptions", ("orderexception",), ("view", "change"))
    | _perms("exceptions", ("exceptionevent",), ("view",))
    | _perms("workflows", ("handlingtask",), ("view", "change")),
    # Managers read everything and approve; they do not edit order data.
    Role.MANAGER: _perms("orders", ORDER_MODELS, ("view",))
    | _perms("accounts", ("department", "user"), ("view",))
    | _perms("exceptions", ("orderexception", "gradingrule", "exceptionevent"), ("view",))
    | _perms("exceptions", ("businesscalendar", "escalationladder"), ("view",))
    # Waiving a high or urgent exception is a manager's decision (SPEC §9.5).
    | {"exceptions.grant_waiver"}
    | _perms("rules", ("exceptionrule",), ("view",))
    | _perms("workflows", ("handlingtask",), ("view", "change")),
}
