"""Authorisation rules and URL objects of the inspections app's page routes (merged into tests/authz.py).

Readers of a region (agency administrators, inspectors, auditors, superusers) see checklists, plans and inspections;
department administrators only the submitted inspections of their units (not checklists or plans); handlers, window
staff and users without a role get 403; objects of another county are 404. Inspecting is for inspectors and agency
administrators; checklists and plans are managed by agency administrators (inspectors and auditors read them).
"""

from __future__ import annotations

from tests.authz import PUBLIC, SIGNED_IN, SUPERVISOR, every, rule  # noqa: F401

REFUSED = {"anon": 302, "nobody": 403, "a_clerk": 403, "a_handler": 403}
REGION_READERS = every(200, **REFUSED, a_dept_admin=403)
OUT_OF_SCOPE = every(404, **REFUSED, a_dept_admin=403, root=200)

RULES: dict[str, dict[str, dict[str, int]]] = {
    # The list: every reader; a department administrator sees the submitted inspections of their units.
    "inspections:index": rule(every(200, **REFUSED)),
    # Checklists: region readers; a checklist of another county is 404. Creating one: managers only.
    "inspections:checklists": rule(REGION_READERS),
    "inspections:checklist_new": rule(every(403, anon=302, a_admin=200, root=200)),
    "inspections:checklist_edit": rule(REGION_READERS, OUT_OF_SCOPE),
    # Plans: managers create; region readers read; another county's plan is 404.
    "inspections:plan_new": rule(every(403, anon=302, a_admin=200, root=200)),
    "inspections:plan_detail": rule(REGION_READERS, OUT_OF_SCOPE),
    # Starting an inspection: inspectors, agency administrators, superusers.
    "inspections:start": rule(every(403, anon=302, a_admin=200, a_inspector=200, root=200)),
    # One inspection (submitted, of county A's department): its unit's administrator too.
    "inspections:detail": rule(every(200, **REFUSED), every(404, **REFUSED, root=200)),
    # A photo: whoever may open its inspection; everyone else 404.
    "inspections:photo": rule(
        every(200, anon=302, nobody=404, a_clerk=404, a_handler=404), every(404, anon=302, root=200)
    ),
}
POST_ONLY: frozenset[str] = frozenset()


def objects(world) -> dict[str, dict[str, dict]]:
    """URL kwargs per route name with converters: {"in": kwargs (county A's object), "out": kwargs (county B's)}."""
    from tests.inspections_helpers import make_checklist, make_plan, submitted

    root, b_admin = world.users["root"], world.users["b_admin"]
    checklist_a = make_checklist(world, region=world.a.region, actor=root, name="上城区检查表")
    checklist_b = make_checklist(world, region=world.b.region, actor=root, name="拱墅区检查表")
    plan_a = make_plan(world, checklist=checklist_a)
    plan_b = make_plan(world, county=world.b, inspector=b_admin, checklist=checklist_b)
    inspection_a = submitted(world, county=world.a, checklist=checklist_a)
    inspection_b = submitted(world, user=b_admin, county=world.b, checklist=checklist_b)
    photo_a, photo_b = inspection_a.photos.get(), inspection_b.photos.get()
    return {
        "inspections:checklist_edit": {"in": {"pk": checklist_a.pk}, "out": {"pk": checklist_b.pk}},
        "inspections:plan_detail": {"in": {"pk": plan_a.pk}, "out": {"pk": plan_b.pk}},
        "inspections:detail": {"in": {"pk": inspection_a.pk}, "out": {"pk": inspection_b.pk}},
        "inspections:photo": {"in": {"pk": photo_a.pk}, "out": {"pk": photo_b.pk}},
    }
