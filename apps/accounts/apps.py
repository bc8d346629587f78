from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        # Permissions exist only after every app's post_migrate has created them, so the
        # role groups get theirs here rather than in a data migration.
        post_migrate.connect(_sync_roles, dispatch_uid="accounts_sync_roles")


def _sync_roles(sender, using="default", **kwargs) -> None:
    from apps.accounts.services import role_permissions_sync

    role_permissions_sync(using=using)
