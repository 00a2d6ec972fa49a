"""Authorisation rules and URL objects of the hotline app's page routes (merged into tests/authz.py).

The status page: supervisors (system administrators; agency administrators, inspectors and auditors of a region;
department administrators for their units' work orders); handlers, window staff and users without a role get 403.
A region's link is edited by system administrators and the agency administrators of a region in their own: others
get 403, and an agency administrator gets 404 for another county's region.
"""

from __future__ import annotations

from tests.authz import PUBLIC, SIGNED_IN, SUPERVISOR, every, rule  # noqa: F401

RULES: dict[str, dict[str, dict[str, int]]] = {
    "hotline:index": rule(SUPERVISOR),
    "hotline:link_edit": rule(every(403, anon=302, a_admin=200, root=200), every(403, anon=302, a_admin=404, root=200)),
}
POST_ONLY: frozenset[str] = frozenset()


def objects(world) -> dict[str, dict[str, dict]]:
    """URL kwargs per route name with converters: {"in": kwargs (county A's object), "out": kwargs (county B's)}."""
    return {"hotline:link_edit": {"in": {"region_id": world.a.region.pk}, "out": {"region_id": world.b.region.pk}}}
