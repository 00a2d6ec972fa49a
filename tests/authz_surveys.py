"""Authorisation rules and URL objects of the surveys app's page routes (merged into tests/authz.py).

Readers: supervisors (agency administrators, department administrators, inspectors, auditors, system administrators);
managers (create, edit, open, close, distribute, download new links): agency and system administrators. A survey of
another county is 404 to county A's users. The respondent's page is public: the link's token is the credential.
"""

from __future__ import annotations

from tests.authz import PUBLIC, SUPERVISOR, every, rule

# A reader's page for another county's survey: refused before the lookup for non-supervisors (403), else 404.
OUT_OF_SCOPE = every(404, anon=302, nobody=403, a_clerk=403, a_handler=403, root=200)
MANAGER = every(403, anon=302, a_admin=200, root=200)
# The one-time link downloads: managers only; without links kept in this session they answer 410 (gone).
LINKS = every(403, anon=302, a_admin=410, root=410)

RULES: dict[str, dict[str, dict[str, int]]] = {
    "surveys:list": rule(SUPERVISOR),
    "surveys:create": rule(MANAGER),
    "surveys:detail": rule(SUPERVISOR, OUT_OF_SCOPE),
    "surveys:builder": rule(MANAGER, every(404, anon=302, nobody=403, a_clerk=403, a_handler=403, root=200)),
    "surveys:links_csv": rule(LINKS, every(404, anon=302, nobody=403, a_clerk=403, a_handler=403, root=410)),
    "surveys:qr_sheet": rule(LINKS, every(404, anon=302, nobody=403, a_clerk=403, a_handler=403, root=410)),
    "surveys:results_csv": rule(SUPERVISOR, OUT_OF_SCOPE),
    "surveys:answers_csv": rule(SUPERVISOR, OUT_OF_SCOPE),
    "survey_public:respond": rule(PUBLIC),  # the token is the credential
}
POST_ONLY: frozenset[str] = frozenset()


def objects(world) -> dict[str, dict[str, dict]]:
    """URL kwargs per route name with converters: {"in": kwargs (county A's object), "out": kwargs (county B's)}."""
    from tests.test_surveys import completed_cases, link_tokens, make_survey

    completed_cases(world, "a", 1, prefix="AZ")
    survey_a = make_survey(world)
    survey_b = make_survey(world, side="b", actor="b_admin")
    [token] = link_tokens(survey_a)
    sides = {"in": {"pk": survey_a.pk}, "out": {"pk": survey_b.pk}}
    names = ("detail", "builder", "links_csv", "qr_sheet", "results_csv", "answers_csv")
    return {**{f"surveys:{name}": sides for name in names}, "survey_public:respond": {"in": {"token": token}}}
