from django.db import models
from django.utils.translation import gettext_lazy as _


class FormErrorCode(models.TextChoices):
    INVALID_DOCUMENT = "invalid_document", _("The form definition has problems.")
    KEY_TAKEN = "key_taken", _("Another form has this key.")
    NOTHING_TO_PUBLISH = "nothing_to_publish", _("The draft is the same as the published version.")
    STORED_VALUES_DO_NOT_CONVERT = "stored_values_do_not_convert", _("Stored values do not fit the new field type.")
    ONE_ORDER_FORM = "one_order_form", _("There is one order form; it is built in.")
    NO_SUCH_VERSION = "no_such_version", _("The form has no such version.")
