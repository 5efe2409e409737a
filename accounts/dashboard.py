"""The hook that lets higher apps add a section to the dashboard.

accounts must not import merchants or payments (STYLE.md: apps depend one way), so the
dashboard asks this registry, in the style of `accounts.passkeys.payer_area`. In
`MerchantsConfig.ready()`:

    from accounts.dashboard import dashboard_section_register

    dashboard_section_register(
        key="merchant_status",
        template_name="merchants/dashboard/_status.html",
        get_context=merchant_dashboard_context,
        stylesheets=("css/merchants.css",),
    )

`get_context(request)` returns the section's template context, or None when the section
has nothing to say to this user (then it is left out). Sections appear above the
shortcuts, in the order they were registered.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

DashboardContext = Callable[[HttpRequest], dict[str, Any] | None]


@dataclass(frozen=True)
class DashboardSection:
    template_name: str
    get_context: DashboardContext
    # Static paths of style sheets the section's template needs (linked in the page head).
    stylesheets: tuple[str, ...] = ()


@dataclass(frozen=True)
class RenderedSection:
    key: str
    html: SafeString
    stylesheets: tuple[str, ...]


_sections: dict[str, DashboardSection] = {}


def dashboard_section_register(
    *,
    key: str,
    template_name: str,
    get_context: DashboardContext,
    stylesheets: tuple[str, ...] = (),
) -> None:
    """Show `template_name` on the dashboard with `get_context(request)`, unless it is None.

    Registering the same key again replaces the section (ready() may run twice in tests).
    """
    _sections[key] = DashboardSection(
        template_name=template_name, get_context=get_context, stylesheets=stylesheets
    )


def dashboard_sections_render(request: HttpRequest) -> list[RenderedSection]:
    """Return the registered sections that apply to this request, rendered, in order."""
    rendered = []
    for key, section in list(_sections.items()):
        context = section.get_context(request)
        if context is None:
            continue
        html = render_to_string(section.template_name, context, request=request)
        rendered.append(
            RenderedSection(key=key, html=SafeString(html), stylesheets=section.stylesheets)
        )
    return rendered
