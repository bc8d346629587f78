from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count
from django.utils.formats import number_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from apps.accounts.models import Department, Leave, ShiftWindow, User


class PartOfParentInline(TabularInline):
    """Rows edited as part of their parent (a department's shifts, a user's leaves): whoever may
    change the parent may change them, as Django treats the rows of a many-to-many field."""

    def _may(self, request, *actions: str) -> bool:
        opts = self.parent_model._meta
        return any(request.user.has_perm(f"{opts.app_label}.{action}_{opts.model_name}") for action in actions)

    def has_view_permission(self, request, obj=None):
        return self._may(request, "view", "change")

    def has_add_permission(self, request, obj=None):
        return self._may(request, "change")

    def has_change_permission(self, request, obj=None):
        return self._may(request, "change")

    def has_delete_permission(self, request, obj=None):
        return self._may(request, "change")


class ShiftWindowInline(PartOfParentInline):
    model = ShiftWindow
    fields = ("weekday", "starts_at", "ends_at")
    extra = 0


@admin.register(Department)
class DepartmentAdmin(ModelAdmin):
    list_display = ("code", "name", "name_en", "lead", "approval_limit_display", "is_active", "member_count")
    list_filter = ("is_active",)
    list_select_related = ("lead",)
    search_fields = ("code", "name", "name_en")
    inlines = (ShiftWindowInline,)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if "lead" in form.base_fields:
            # The lead is one of the department's active members (as ``department_set_lead`` requires).
            members = User.objects.filter(department=obj, is_active=True) if obj else User.objects.none()
            form.base_fields["lead"].queryset = members
        return form

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_member_count=Count("members"))

    @admin.display(description=_("members"), ordering="_member_count")
    def member_count(self, obj: Department) -> int:
        return obj._member_count

    @admin.display(description=_("approval limit"), ordering="approval_limit")
    def approval_limit_display(self, obj: Department) -> str:
        if obj.approval_limit is None:
            return gettext("All need approval")
        return number_format(obj.approval_limit, decimal_pos=2, use_l10n=True, force_grouping=True)


class LeaveInline(PartOfParentInline):
    model = Leave
    fk_name = "user"
    fields = ("starts_on", "ends_on", "note", "created_by")
    readonly_fields = ("created_by",)
    extra = 0


@admin.register(User)
class UserAdmin(DjangoUserAdmin, ModelAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    list_display = ("username", "first_name", "last_name", "department", "away", "is_staff", "is_active")
    list_filter = ("department", "groups", "away", "is_staff", "is_active")
    list_select_related = ("department",)
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (_("Organisation"), {"fields": ("department", "phone", "time_zone", "away", "away_note")}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        (_("Organisation"), {"fields": ("department", "phone")}),
    )
    inlines = (LeaveInline,)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()

    def save_formset(self, request, form, formset, change):
        # Who recorded a leave is kept, as ``leave_add`` keeps it.
        if formset.model is Leave:
            for leave_form in formset.forms:
                if leave_form.instance.pk is None and leave_form.has_changed():
                    leave_form.instance.created_by = request.user
        super().save_formset(request, form, formset, change)
