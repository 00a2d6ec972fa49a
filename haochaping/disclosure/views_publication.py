"""差评整改公开 (public, no login): the published rectifications and one of them.

Only published items (moderated, disclosure/publication.py); never staff names, the moderation history or a
withheld item's reason. Bad filters answer 400 naming the field.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from haochaping.cases.models import Outcome
from haochaping.directory.models import Region
from haochaping.disclosure import publication
from haochaping.lib.errors import ValidationFailed

PAGE_SIZE = 20
REGION_LEVELS = 3  # 省、市、县 in the region filter
RELATED = ("region", "unit", "service_item", "hall")


@require_GET
def rectifications(request: HttpRequest) -> HttpResponse:
    try:
        filters = publication.public_filters(request.GET)
    except ValidationFailed as exc:
        context = {"title": _("筛选条件有误"), "message": exc.message, "field": exc.field}
        return render(request, "disclosure/publication/bad_filter.html", context, status=400)
    qs = publication.filtered(filters)
    page = Paginator(
        qs.select_related(*RELATED).order_by("-outcome_on", "-id"), PAGE_SIZE, allow_empty_first_page=True
    ).get_page(request.GET.get("page"))
    query = urlencode({k: request.GET[k] for k in ("region", "unit", "outcome", "month") if request.GET.get(k)})
    return render(
        request,
        "disclosure/publication/list.html",
        {
            "page": page,
            "summary": publication.summary(qs),
            "filters": filters,
            "params": request.GET,
            "outcomes": [(o.value, o.label) for o in (Outcome.FIXED_NOW, Outcome.LEDGER, Outcome.EXPLAINED)],
            # Province, cities and counties, indented by level: the public picks a name, never types a code.
            "regions": [
                (r.code, "\u3000" * (r.level - 1) + r.name)
                for r in Region.objects.filter(level__lte=REGION_LEVELS).order_by("path")
            ],
            "query": query,
        },
    )


@require_GET
def rectification(request: HttpRequest, pk: int) -> HttpResponse:
    item = publication.published().select_related(*RELATED).filter(pk=pk).first()
    if item is None:
        raise Http404(_("该条目不存在或未公开"))
    return render(request, "disclosure/publication/detail.html", {"item": item})
