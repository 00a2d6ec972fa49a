from __future__ import annotations

from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from haochaping.accounts.scope import scope_for_request
from haochaping.cases.selectors_home import case_counts
from haochaping.directory.models import Hall, Organisation, ServiceItem, Staff, Window
from haochaping.insight.selectors import insight_counts
from haochaping.ratings.codes import Adoption
from haochaping.ratings.models import Rating, ServiceCase
from haochaping.web.tools import tools_for


def home(request: HttpRequest) -> HttpResponse:
    """Landing page: what the product is, and for a signed-in user the size of their scope."""
    context: dict = {}
    if request.user.is_authenticated:
        scope = scope_for_request(request)
        ratings = scope.filter(Rating.objects.all())
        context["scope"] = scope
        context["tools"] = tools_for(request.user, scope)
        context["counts"] = {
            "units": scope.filter(Organisation.objects.all()).count(),
            "halls": scope.filter(Hall.objects.all()).count(),
            "windows": scope.filter(Window.objects.all()).count(),
            "staff": scope.filter(Staff.objects.all()).count(),
            "items": scope.filter(ServiceItem.objects.all()).count(),
            "cases": scope.filter(ServiceCase.objects.all()).count(),
        }
        context["ratings"] = ratings.aggregate(
            total=Count("id"),
            bad=Count("id", filter=Q(grade__lte=2, adoption=Adoption.ADOPTED)),
            not_adopted=Count("id", filter=Q(adoption=Adoption.NOT_ADOPTED)),
            default=Count("id", filter=Q(is_default=True)),
        )
        # Window staff are the ones rated: the cases about them are their unit's to handle, not theirs to see.
        context["cases"] = case_counts(scope) if scope.kind in ("all", "region", "units") else None
        if scope.supervises and scope.kind in ("all", "region"):  # alerts and problems are a region's
            context["insight"] = insight_counts(scope)
    return render(request, "web/home.html", context)
