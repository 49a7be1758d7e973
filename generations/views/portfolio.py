"""The portfolio: the user's projects side by side (producer view across projects)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from ..selectors.portfolio import portfolio_rows
from ..selectors.stats import _ratio


@login_required
@require_GET
def portfolio(request):
    rows = portfolio_rows(user=request.user, today=timezone.localdate())
    spend = sum(r.spend_usd for r in rows)
    budget = sum(r.budget_usd for r in rows if r.budget_usd is not None)
    totals = {
        "takes": sum(r.takes for r in rows),
        "spend_usd": spend,
        "budget_usd": budget or None,
        # Spend of the budgeted projects only against their budgets.
        "budget_used": _ratio(sum(r.spend_usd for r in rows if r.budget_usd), budget),
    }
    return render(request, "generations/portfolio.html", {"rows": rows, "totals": totals})
