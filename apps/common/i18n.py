"""Records with a Chinese and an English name show the one of the page's language."""

from django.conf import settings
from django.utils import translation


def localized(zh: str, en: str) -> str:
    """``en`` when the active language is English and ``en`` is filled in; ``zh`` otherwise."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    if language.startswith("en") and en:
        return en
    return zh
