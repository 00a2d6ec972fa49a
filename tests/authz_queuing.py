"""Authorisation rules and URL objects of the queuing app's page routes (merged into tests/authz.py).

The day view of queue tickets (/queue/): supervisors (agency and department administrators, inspectors, auditors,
system administrators) see the halls in their scope; window staff and case handlers are refused. The ticket's
phone rating page (/t/<token>/) is public: the printed QR token is the credential.
"""

from __future__ import annotations

from tests.authz import PUBLIC, SUPERVISOR, rule

RULES: dict[str, dict[str, dict[str, int]]] = {
    "queuing:index": rule(SUPERVISOR),
    "ticket_public:rate": rule(PUBLIC),  # the token is the credential
}
POST_ONLY: frozenset[str] = frozenset()


def objects(world) -> dict[str, dict[str, dict]]:
    """URL kwargs per route name with converters: {"in": kwargs (county A's object), "out": kwargs (county B's)}."""
    from haochaping.queuing import services

    caller = services.Caller(scope=services.ALL_SCOPE, source="queue:test")
    token = services.ticket_called(caller, hall=world.a.hall.code, serial="A001", window=world.a.window.code).token
    return {"ticket_public:rate": {"in": {"token": token}}}
