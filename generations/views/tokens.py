"""The user's personal API tokens (under their account): create, optionally limited to some
projects and to reading; the secret is shown once; revoke."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from ..forms import ApiTokenForm
from ..services import tokens as token_services


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request):
    secret = None
    form = ApiTokenForm(user=request.user)
    status = 200
    if request.method == "POST":
        if "revoke" in request.POST:
            revoke = request.POST["revoke"]
            token = request.user.api_tokens.filter(pk=revoke).first() if revoke.isdigit() else None
            if token:
                token_services.api_token_revoke(token=token)
                messages.success(request, f"Revoked {token.name}.")
            return redirect("api_tokens")
        form = ApiTokenForm(request.POST, user=request.user)
        if form.is_valid():
            _token, secret = token_services.api_token_create(
                user=request.user,
                name=form.cleaned_data["name"],
                read_only=form.cleaned_data["read_only"],
                projects=form.cleaned_data["projects"],
            )
            form = ApiTokenForm(user=request.user)
        else:
            status = 400
    tokens = request.user.api_tokens.prefetch_related("projects")
    return render(
        request,
        "generations/tokens.html",
        {"tokens": tokens, "secret": secret, "form": form},
        status=status,
    )
