"""Who may do what with inspections: written once, used by every view and the photo file.

Inspectors have a read-only data scope (they must not act on cases), yet they are the ones who inspect, so the
inspections app decides by role, not by ``Scope.read_only``:

- system administrators and superusers (scope "all"): everything, everywhere;
- agency administrators (region): read everything of their region, inspect, manage checklists and plans;
- inspectors of an agency (region): read everything of their region, inspect (start, score, submit);
- auditors of an agency (region): read everything of their region;
- department administrators (and inspectors/auditors attached to a department): read the submitted inspections of
  their units — the findings they must rectify;
- case handlers, window staff and users without a role: nothing (403).
"""

from __future__ import annotations

from dataclasses import dataclass

from haochaping.accounts.models import Role
from haochaping.accounts.scope import UNIT_SUPERVISOR_ROLES, Scope

REGION_READERS = {Role.AGENCY_ADMIN, Role.INSPECTOR, Role.AUDITOR}
REGION_INSPECTORS = {Role.AGENCY_ADMIN, Role.INSPECTOR}
REGION_MANAGERS = {Role.AGENCY_ADMIN}


@dataclass(frozen=True)
class Access:
    """What one signed-in user may do in the inspections app (see the module docstring)."""

    scope: Scope
    reads_region: bool = False  # checklists, plans, drafts and reports of the scope's region
    reads_units: bool = False  # submitted inspections of the scope's units only
    inspects: bool = False  # start, score, photograph and submit inspections
    manages: bool = False  # create and edit checklists and plans

    @property
    def reads(self) -> bool:
        return self.reads_region or self.reads_units


def access_for(scope: Scope) -> Access:
    """The inspections rights of a data scope (its kind and role)."""
    if scope.kind == "all":
        return Access(scope, reads_region=True, inspects=True, manages=True)
    if scope.kind == "region" and scope.role in REGION_READERS:
        return Access(
            scope,
            reads_region=True,
            inspects=scope.role in REGION_INSPECTORS,
            manages=scope.role in REGION_MANAGERS,
        )
    if scope.kind == "units" and scope.role in UNIT_SUPERVISOR_ROLES:
        return Access(scope, reads_units=True)
    return Access(scope)
