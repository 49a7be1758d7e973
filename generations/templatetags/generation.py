"""{% generation_panel project %}: the producer dashboard's generation panel, one line to
include; it reads its own selector (selectors/generation.py)."""

from django import template

from ..selectors.generation import generation_panel as panel_data

register = template.Library()


@register.inclusion_tag("generations/dashboards/_generation_panel.html", takes_context=True)
def generation_panel(context, project):
    return {"project": project, "access": context.get("access"), **panel_data(project=project)}
