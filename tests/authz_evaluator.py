"""Authorisation rules and URL objects of the evaluator app's management pages (merged into tests/authz.py).

The button-evaluator page (/evaluator/legacy/) and its CSV: supervisors (system administrators; agency administrators,
inspectors and auditors of a region; department administrators); handlers, window staff and users without a role get
403. A model's mapping is edited by system administrators and by agency administrators for their region's models:
others get 403, another county's model is 404. Revoking a device (POST; without the confirmation a 422): system
administrators and agency administrators, 404 for another county's device.
"""

from __future__ import annotations

from tests.authz import SUPERVISOR, every, rule

EDITORS = every(403, anon=302, a_admin=200, root=200)

RULES: dict[str, dict[str, dict[str, int]]] = {
    "evaluator:legacy": rule(SUPERVISOR),
    "evaluator:legacy_csv": rule(SUPERVISOR),
    "evaluator:legacy_model_new": rule(EDITORS),
    "evaluator:legacy_model": rule(EDITORS, every(403, anon=302, a_admin=404, root=200)),
    "evaluator:legacy_revoke": rule(
        every(403, anon=302, a_admin=422, root=422), every(403, anon=302, a_admin=404, root=422)
    ),
}
POST_ONLY: frozenset[str] = frozenset({"evaluator:legacy_revoke"})


def objects(world) -> dict[str, dict[str, dict]]:
    """URL kwargs per route name with converters: {"in": kwargs (county A's object), "out": kwargs (county B's)}."""
    from haochaping.accounts.scope import ALL_SCOPE
    from haochaping.evaluator import legacy
    from haochaping.evaluator.models import LegacyDeviceModel

    legacy.default_models()
    mapping = [{"button": b, "label": f"键{b}", "grade": g} for b, g in ((1, 4), (2, 3), (3, 2))]
    models = {
        side: LegacyDeviceModel.objects.create(
            code=f"authz-{side}", name=f"authz {side}", buttons=3, mapping=mapping, region=county.region
        )
        for side, county in (("in", world.a), ("out", world.b))
    }
    devices = {
        side: legacy.device_register(
            ALL_SCOPE, serial=f"AUTHZ-{side}", model_code="btn3-std", hall=county.hall.code, window=county.window.code
        )
        for side, county in (("in", world.a), ("out", world.b))
    }
    return {
        "evaluator:legacy_model": {side: {"pk": m.pk} for side, m in models.items()},
        "evaluator:legacy_revoke": {side: {"pk": d.pk} for side, d in devices.items()},
    }
