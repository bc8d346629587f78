from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from apps.accounts.models import Department, User


@admin.register(Department)
class DepartmentAdmin(ModelAdmin):
    list_display = ("code", "name", "name_en", "is_active", "member_count")
    list_filter = ("is_active",)
    search_fields = ("code", "name", "name_en")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_member_count=Count("members"))

    @admin.display(description=_("members"), ordering="_member_count")
    def member_count(self, obj: Department) -> int:
        return obj._member_count


@admin.register(User)
class UserAdmin(DjangoUserAdmin, ModelAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    list_display = ("username", "first_name", "last_name", "department", "is_staff", "is_active")
    list_filter = ("department", "groups", "is_staff", "is_active")
    list_select_related = ("department",)
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (_("Organisation"), {"fields": ("department", "phone", "time_zone")}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        (_("Organisation"), {"fields": ("department", "phone")}),
    )
