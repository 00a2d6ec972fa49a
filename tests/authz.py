"""The authorisation matrix's rules: for every page route, what each role gets for an object in and out of its scope.

A rule says, per role, the status of a GET: 200, 302 (anonymous → the login page), 403 (signed in, not allowed),
404 (out of scope: a user cannot learn that an object exists). ``in`` is county A's object (the roles below all
belong to county A), ``out`` county B's. Routes without objects have only ``in``. tests/test_authz_matrix.py walks
the URL configuration: a route with no rule here fails the test, so a new page cannot ship without a decision.
"""

from __future__ import annotations

ROLES = (
    "anon", "nobody", "a_clerk", "a_handler", "a_dept_admin", "a_admin", "a_inspector", "a_auditor", "root",
)  # fmt: skip
SUPERVISORS = ("a_dept_admin", "a_admin", "a_inspector", "a_auditor", "root")


def every(status: int, **overrides: int) -> dict[str, int]:
    return {role: overrides.get(role, status) for role in ROLES}


PUBLIC = every(200)
# Signed in with any data scope; "nobody" has none.
SIGNED_IN = every(200, anon=302, nobody=403)
# The supervisor pages (web/access.supervisor_scope): window staff and handlers are refused.
SUPERVISOR = every(200, anon=302, nobody=403, a_clerk=403, a_handler=403)


def rule(in_scope: dict[str, int], out_of_scope: dict[str, int] | None = None) -> dict[str, dict[str, int]]:
    return {"in": in_scope, "out": out_of_scope} if out_of_scope else {"in": in_scope}


# Page routes by URL name. Routes under admin/ follow accounts/roles.py (tested apart); api/ routes are tested
# with API keys (test_authz_matrix.API_RULES).
RULES: dict[str, dict[str, dict[str, int]]] = {
    # Public pages and files.
    "home": rule(PUBLIC),
    "healthz": rule(PUBLIC),
    "readyz": rule(PUBLIC),
    "metrics": rule(PUBLIC),  # by address, not login: the test client comes from 127.0.0.1 (test_ops_metrics.py)
    "login": rule(every(302, anon=200)),  # a signed-in user is sent on
    "ratings:rate": rule(PUBLIC),  # the token is the credential
    "ratings:embed": rule(PUBLIC),
    "ratings:qr_svg": rule(PUBLIC),
    "ratings:qr_png": rule(PUBLIC),
    "evaluator:kiosk": rule(every(302)),  # an unpaired browser is sent to pairing, whoever is signed in
    "evaluator:pair": rule(PUBLIC),
    "evaluator:sw": rule(PUBLIC),
    "qrcodes:window": rule(PUBLIC),
    "qrcodes:svg": rule(PUBLIC),
    "cases:complaint": rule(PUBLIC),
    "cases:feedback": rule(every(404)),  # an unknown token: nothing to show to anyone
    # The window's printable sign: the people who manage windows (and can read them), not window staff.
    "qrcodes:sign": rule(every(200, anon=302, nobody=404, a_clerk=404)),
    # The counter clerk's page: window staff only.
    "evaluator:clerk": rule(every(403, anon=302, a_clerk=200)),
    # Hotline and paper entry: the roles that key ratings in.
    **{
        name: rule(every(200, anon=302, nobody=403, a_clerk=403, a_inspector=403, a_auditor=403))
        for name in ("entry:index", "entry:hotline", "entry:complaint", "entry:paper", "entry:paper_import")
    },
    # A paper form's scan: whoever may read the rating's unit; out of scope is 404.
    "entry:scan": rule(every(200, anon=302, nobody=404, a_clerk=404), every(404, anon=302, root=200)),
    # The SMS developer console: agency administrators and superusers.
    "messaging:console": rule(every(404, anon=302, a_admin=200, root=200)),
    # The case queue and notifications: a signed-in user sees their own (an empty list without a role).
    "cases:queue": rule(every(200, anon=302)),
    "cases:notifications": rule(every(200, anon=302)),
    # A case and its evidence: the unit's administrators, the agency, inspectors and auditors of its region; the
    # handler once assigned (this case is not yet); window staff never.
    "cases:detail": rule(every(200, anon=302, nobody=404, a_clerk=404, a_handler=404), every(404, anon=302, root=200)),
    "cases:attachment": rule(
        every(200, anon=302, nobody=404, a_clerk=404, a_handler=404), every(404, anon=302, root=200)
    ),
    "cases:board": rule(SUPERVISOR),
    "cases:metrics": rule(SUPERVISOR),
    "cases:ledger_export": rule(SUPERVISOR),
    # The dashboard: everyone with a data scope (window staff see only their own figures).
    "analytics:dashboard": rule(SIGNED_IN),
    "analytics:data": rule(SIGNED_IN),
    "analytics:export_csv": rule(SIGNED_IN),
    "analytics:rankings": rule(SUPERVISOR),
    "analytics:reports": rule(SUPERVISOR),
    # A region's report: that region's supervisors; a department administrator's scope is its units → 404.
    "analytics:report_detail": rule(
        every(200, anon=302, nobody=403, a_clerk=403, a_handler=403, a_dept_admin=404),
        every(404, anon=302, nobody=403, a_clerk=403, a_handler=403, root=200),
    ),
    "analytics:report_file": rule(
        every(200, anon=302, nobody=403, a_clerk=403, a_handler=403, a_dept_admin=404),
        every(404, anon=302, nobody=403, a_clerk=403, a_handler=403, root=200),
    ),
    "analytics:performance": rule(SUPERVISOR),
    "analytics:watchlist": rule(SUPERVISOR),
    "analytics:coverage": rule(SUPERVISOR),
    # The performance weights: supervisors read them (a department administrator: its unit's region); setting them
    # is a POST checked in the view (analytics/weights.may_set_weights).
    "analytics:weights": rule(SUPERVISOR),
    # Session and language (POST): anyone; each ends in a redirect.
    "logout": rule(every(302)),
    "set_language": rule(every(302)),
    # Two-factor enrolment and the login's second step: any signed-in account.
    "accounts:two_factor": rule(every(200, anon=302)),
    "accounts:two_factor_verify": rule(every(200, anon=302)),
    # The QR page's SMS code (POST): public, rate-limited; an empty form is a 422 naming the field.
    "qrcodes:send_code": rule(every(422)),
    # A case action (POST, no data): the case's administrators get to the form's 422;
    # inspectors and auditors read but may not act (403); others cannot see the case (404).
    "cases:act": rule(
        every(422, anon=302, nobody=404, a_clerk=404, a_handler=404, a_inspector=403, a_auditor=403),
        every(404, anon=302, root=422),
    ),
    # The rater's full contact: only the case's own handler (none is assigned in the test), never an administrator.
    "cases:contact": rule(
        every(403, anon=302, nobody=404, a_clerk=404, a_handler=404),
        every(404, anon=302, root=403),
    ),
    # Integrity signals: supervisors of the signal's region or unit.
    "integrity:index": rule(SUPERVISOR),
    "integrity:detail": rule(SUPERVISOR, every(404, anon=302, nobody=403, a_clerk=403, a_handler=403, root=200)),
    # Comment mining (insight): supervisors. Alerts and problems belong to a region, so a department admin (units
    # scope) finds none of them (404); the word-cloud image is 404 while the period has no comments.
    **{
        name: rule(SUPERVISOR)
        for name in (
            "insight:index",
            "insight:words_json",
            "insight:comments",
            "insight:alerts",
            "insight:problems",
            "insight:routing",
            "insight:drivers",
        )
    },  # fmt: skip
    "insight:cloud_png": rule(every(404, anon=302, nobody=403, a_clerk=403, a_handler=403)),
    **{
        name: rule(
            every(200, anon=302, nobody=403, a_clerk=403, a_handler=403, a_dept_admin=404),
            every(404, anon=302, nobody=403, a_clerk=403, a_handler=403, root=200),
        )
        for name in ("insight:alert_detail", "insight:problem_detail")
    },
    # Confirming or correcting a routing suggestion (POST): whoever may transfer the case; read-only roles 403; a case
    # without a suggestion (as here) or out of sight is 404.
    "insight:routing_decide": rule(every(404, anon=302, a_inspector=403, a_auditor=403), every(404, anon=302)),
    # Rectification items of confirmed problems (cases module): everyone with a unit or region scope but window staff.
    "cases:rectifications": rule(every(200, anon=302, nobody=403, a_clerk=403)),
    "cases:rectification_detail": rule(
        every(200, anon=302, nobody=403, a_clerk=403), every(404, anon=302, nobody=403, a_clerk=403, root=200)
    ),
    # The tamper-evidence chain's status and daily digests (installation-wide; the digests will be public).
    "seal:index": rule(SUPERVISOR),
    # The public portal (disclosure, /open/): no login; objects are public by nature, so there is no "out" side.
    **{
        name: rule(PUBLIC)
        for name in (
            "disclosure:portal",
            "disclosure:region",
            "disclosure:unit",
            "disclosure:hall",
            "disclosure:item",
            "disclosure:search",
            "disclosure:rankings",
            "disclosure:integrity",
            "disclosure:rectifications",
            "disclosure:track",
            "disclosure:open_data",
            "disclosure:datapackage",
            "disclosure:dataset",
            "disclosure:reports",
        )
    },  # fmt: skip
    # Only published items and region reports are public; an unpublished one does not exist for anybody.
    "disclosure:rectification": rule(every(404)),
    "disclosure:report_file": rule(every(404)),
    # Audit logs (who viewed rater identities, administrative changes): auditors, agency admins, superusers.
    "audit:index": rule(every(403, anon=302, a_admin=200, a_auditor=200, root=200)),
    "audit:admin_log": rule(every(403, anon=302, a_admin=200, a_auditor=200, root=200)),
    # Moderation of the rectification publication: supervisors see the queue; a publication belongs to a region, so
    # out of scope is 404 (a department admin may look, only the agency acts).
    "moderation:queue": rule(SUPERVISOR),
    # Exchange: an agency's function (region supervisors and system administrators), not a department's.
    "exchange:status": rule(every(200, anon=302, nobody=403, a_clerk=403, a_handler=403, a_dept_admin=403)),
    "moderation:detail": rule(SUPERVISOR, every(404, anon=302, nobody=403, a_clerk=403, a_handler=403, root=200)),
    # The reader's elderly-mode preference (POST): sets a cookie and returns to the page.
    "disclosure:mode": rule(every(302)),
}

# Routes answered for a POST (with no data: the access check comes before the form's). Their GET is a 405.
POST_ONLY = frozenset(
    {
        "logout",
        "set_language",
        "qrcodes:send_code",
        "cases:act",
        "cases:contact",
        "insight:routing_decide",
        "disclosure:mode",
    }
)

# Routes left out of the matrix, each with the reason.
NOT_PAGES: dict[str, str] = {}

# The newer apps keep their rules beside the objects their routes need (tests/authz_<app>.py).
EXTRA_MODULES = tuple(
    f"tests.authz_{app}" for app in ("inspections", "surveys", "society", "queuing", "hotline", "evaluator")
)


def extra_modules():
    import importlib

    return [importlib.import_module(name) for name in EXTRA_MODULES]


def _merge_extra() -> None:
    global POST_ONLY
    for module in extra_modules():
        RULES.update(module.RULES)
        POST_ONLY = POST_ONLY | module.POST_ONLY


_merge_extra()
