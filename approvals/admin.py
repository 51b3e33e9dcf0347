from __future__ import annotations

from django import forms
from django.contrib import admin

from approvals.kinds.registry import kind_choices
from approvals.models import Action, Approval, RoutingRule, RuntimeSetting
from audit.admin import ReadOnlyAdmin


class ApprovalInline(admin.TabularInline):
    model = Approval
    extra = 0
    can_delete = False
    readonly_fields = ("user", "decision", "reason", "payload_hash", "at", "voided_at")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Action)
class ActionAdmin(ReadOnlyAdmin):
    """Read-only: status changes go through the lifecycle services so they are audited."""

    list_display = ("id", "action_type", "security_level", "status", "requested_by", "created_at", "needs_review")
    list_filter = ("status", "security_level", "action_type", "needs_review")
    search_fields = ("id", "requested_by__username", "skill_id")
    date_hierarchy = "created_at"
    inlines = [ApprovalInline]
    exclude = ("assigned_groups",)
    readonly_fields = ("assigned",)

    @admin.display(description="assigned groups")
    def assigned(self, obj: Action) -> str:
        return ", ".join(sorted(obj.assigned_groups.values_list("name", flat=True))) or "every reviewer"


class RoutingRuleForm(forms.ModelForm):
    # The kinds in use, read when the form is built: a kind added in settings is offered at once.
    action_type = forms.ChoiceField(choices=lambda: [("", "---------"), *kind_choices()])

    class Meta:
        model = RoutingRule
        fields = ("action_type", "skill_id", "groups", "note")


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    """Routes held actions to reviewer groups. A change applies to actions held from then on;
    actions already waiting keep the groups they were given."""

    form = RoutingRuleForm
    list_display = ("action_type", "skill_id", "group_names", "note", "updated_at")
    list_filter = ("action_type",)
    filter_horizontal = ("groups",)

    @admin.display(description="groups")
    def group_names(self, obj: RoutingRule) -> str:
        return ", ".join(sorted(group.name for group in obj.groups.all()))

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")


@admin.register(RuntimeSetting)
class RuntimeSettingAdmin(ReadOnlyAdmin):
    """Read-only: runtime settings change through audited config_change actions."""

    list_display = ("key", "value", "updated_at", "updated_by")
