from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ..access import get_project
from ..forms import BudgetForm, MemberAddForm, MemberUpdateForm, ModelPriceForm, ProjectForm
from ..models import Membership, Role
from ..selectors import projects as project_selectors
from ..selectors import takes as take_selectors
from ..services import projects as project_services
from ..services.projects import ServiceError


@login_required
@require_GET
def project_list(request):
    projects = project_selectors.projects_for_user(user=request.user)
    return render(
        request, "generations/project_list.html", {"projects": projects, "form": ProjectForm()}
    )


@login_required
@require_POST
def project_create(request):
    form = ProjectForm(request.POST)
    if not form.is_valid():
        projects = project_selectors.projects_for_user(user=request.user)
        return render(
            request,
            "generations/project_list.html",
            {"projects": projects, "form": form},
            status=400,
        )
    project = project_services.project_create(owner=request.user, **form.cleaned_data)
    messages.success(request, f"Created {project.name}. You are its owner.")
    return redirect(project)


def project_overview_context(access, **extra) -> dict:
    """What the project overview shows; also re-rendered by a refused shot form."""
    project = access.project
    return {
        "project": project,
        "access": access,
        "tab": "overview",
        "summary": project_selectors.project_summary(project=project),
        "top": project_selectors.project_top_shots(project=project),
        "members": project_selectors.project_members(project=project),
        "imports": project_selectors.recent_imports(project=project)
        if access.can("import")
        else [],
        **extra,
    }


@login_required
@require_GET
def project_detail(request, slug):
    access = get_project(request, slug)
    return render(request, "generations/project_detail.html", project_overview_context(access))


@login_required
@require_http_methods(["GET", "POST"])
def member_list(request, slug):
    access = get_project(request, slug)
    project = access.project
    form = MemberAddForm()
    if request.method == "POST":
        access.require("members")
        form = MemberAddForm(request.POST)
        if form.is_valid():
            try:
                membership = project_services.membership_add(project=project, **form.cleaned_data)
            except ServiceError as exc:
                form.add_error("email", str(exc))
            else:
                messages.success(request, f"Added {membership.user.email} as {membership.role}.")
                return redirect("member_list", slug)
    return render(
        request,
        "generations/member_list.html",
        {
            "project": project,
            "access": access,
            "tab": "members",
            "form": form,
            "roles": Role.choices,
            "members": project_selectors.project_members(project=project),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def member_update(request, slug, membership_id):
    access = get_project(request, slug, "members")
    membership = get_object_or_404(Membership, pk=membership_id, project=access.project)
    if "remove" in request.POST:
        try:
            project_services.membership_remove(membership=membership)
            messages.success(request, f"Removed {membership.user.email}.")
        except ServiceError as exc:
            messages.error(request, str(exc))
        return redirect("member_list", slug)
    form = MemberUpdateForm(request.POST)
    if form.is_valid():
        try:
            project_services.membership_update(membership=membership, **form.cleaned_data)
            messages.success(request, f"Updated {membership.user.email}.")
        except ServiceError as exc:
            messages.error(request, str(exc))
    else:
        messages.error(request, "Choose a valid role.")
    return redirect("member_list", slug)


@login_required
@require_http_methods(["GET", "POST"])
def budget_edit(request, slug):
    access = get_project(request, slug)
    project = access.project
    budget_form = BudgetForm(
        initial={
            "budget_usd": project.budget_usd,
            "target_accepted_takes": project.target_accepted_takes,
            "target_accepted_seconds": project.target_accepted_seconds,
            "deadline": project.deadline,
            "generation_approval_usd": project.generation_approval_usd,
            "generation_daily_cap_usd": project.generation_daily_cap_usd,
        }
    )
    price_form = ModelPriceForm()
    if request.method == "POST":
        access.require("budget")
        if "usd_per_second" in request.POST:
            price_form = ModelPriceForm(request.POST)
            if price_form.is_valid():
                try:
                    price = project_services.model_price_set(
                        project=project, **price_form.cleaned_data
                    )
                except ValidationError as exc:  # e.g. this model already has a price from then
                    price_form.add_error(None, exc)
                else:
                    repriced = (
                        f" {price.repriced_takes} takes without a price are now estimated."
                        if price.repriced_takes
                        else ""
                    )
                    messages.success(request, f"Price for {price.model} saved.{repriced}")
                    return redirect("budget_edit", slug)
        else:
            budget_form = BudgetForm(request.POST, current_deadline=project.deadline)
            if budget_form.is_valid():
                project_services.project_update_budget(project=project, **budget_form.cleaned_data)
                messages.success(request, "Budget saved.")
                return redirect("budget_edit", slug)
    return render(
        request,
        "generations/budget.html",
        {
            "project": project,
            "access": access,
            "tab": "budget",
            "budget_form": budget_form,
            "price_form": price_form,
            "prices": project_selectors.model_prices(project=project),
            # Takes no price covered: not in the spend until a price exists (issue 11, item 6).
            "unpriced": take_selectors.unpriced_models(project=project),
            "known_models": take_selectors.known_models(project=project),
            "summary": project_selectors.project_summary(project=project),
        },
        status=400 if (budget_form.errors or price_form.errors) else 200,
    )
