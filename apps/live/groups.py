"""Names of the Channels groups that live updates are sent to."""


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def department_group(department_id: int) -> str:
    return f"department.{department_id}"


def oversight_group() -> str:
    """Managers' and admins' sockets: every event, whichever department it concerns."""
    return "oversight"
