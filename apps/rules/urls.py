"""The configuration API of exception rules (SPEC §10.5), included under ``/api/v1/``."""

from django.urls import path

from apps.rules import api

urlpatterns = [
    path("rules/", api.RuleListCreateApi.as_view(), name="rule-list"),
    # Before rules/<code>/: "fields" is the catalogue, not a rule's code (codes are upper-case).
    path("rules/fields/", api.RuleFieldCatalogueApi.as_view(), name="rule-fields"),
    path("rules/<str:code>/", api.RuleDetailApi.as_view(), name="rule-detail"),
    path("rules/<str:code>/versions/", api.RuleVersionListApi.as_view(), name="rule-versions"),
    path("rules/<str:code>/restore/", api.RuleRestoreApi.as_view(), name="rule-restore"),
    path("rules/<str:code>/test/", api.RuleTestApi.as_view(), name="rule-test"),
    path("rules/<str:code>/backtest/", api.RuleBacktestApi.as_view(), name="rule-backtest"),
    path("backtests/<int:run_id>/", api.BacktestRunApi.as_view(), name="backtest-run"),
]
