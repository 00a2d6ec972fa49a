"""Authorisation rules and URL objects of the society app's page routes (merged into tests/authz.py)."""

from __future__ import annotations

from tests.authz import PUBLIC, SUPERVISOR, every, rule

# Readers that are not supervisors (window staff, handlers, no scope) are refused; anonymous → login.
_NOT_SUPERVISOR = {"anon": 302, "nobody": 403, "a_clerk": 403, "a_handler": 403}
# Importing (and the templates for it): agency administrators and system administrators only.
_IMPORTERS = every(403, anon=302, a_admin=200, root=200)

RULES: dict[str, dict[str, dict[str, int]]] = {
    # 意见箱: public, no login.
    "suggestions:new": rule(PUBLIC),
    # Third-party assessments: supervisors read (a department administrator the imports of its units).
    "assessments:index": rule(SUPERVISOR),
    "assessments:upload": rule(_IMPORTERS),
    "assessments:template_xlsx": rule(_IMPORTERS),
    "assessments:template_csv": rule(_IMPORTERS),
    **{
        name: rule(every(200, **_NOT_SUPERVISOR), every(404, **_NOT_SUPERVISOR, root=200))
        for name in ("assessments:detail", "assessments:export")
    },
}
POST_ONLY: frozenset[str] = frozenset()


def _assessment(world, county, user):
    from datetime import date

    from haochaping.society.models import AssessmentImport, AssessmentScore

    a = AssessmentImport.objects.create(
        firm="浙江某某评估咨询有限公司",
        region=county.region,
        period_start=date(2026, 7, 1),
        period_end=date(2026, 9, 30),
        file_name="results.csv",
        sha256="0" * 64,
        rows=2,
        uploaded_by=user,
    )
    AssessmentScore.objects.create(assessment=a, unit=county.dept, score=88)
    AssessmentScore.objects.create(assessment=a, unit=county.agency, score=91)
    return a


def objects(world) -> dict[str, dict[str, dict]]:
    """URL kwargs per route name with converters: {"in": kwargs (county A's object), "out": kwargs (county B's)}."""
    root = world.users["root"]
    sides = {"in": _assessment(world, world.a, root), "out": _assessment(world, world.b, root)}
    kwargs = {side: {"pk": a.pk} for side, a in sides.items()}
    return {"assessments:detail": kwargs, "assessments:export": kwargs}
