from django.db import models
from django.utils.translation import gettext_lazy as _


class OrderErrorCode(models.TextChoices):
    NOT_FOUND = "not_found", _("Not found.")
    IMMUTABLE_FIELD = "immutable_field", _("This field cannot be changed.")
    TRANSACTION_CONFLICT = "transaction_conflict", _("The transaction is recorded with other details.")
    TRACKING_CONFLICT = "tracking_conflict", _("The tracking number belongs to another order.")
    INVALID_PATTERN = "invalid_pattern", _("A tracking-number pattern is not a valid regular expression.")
