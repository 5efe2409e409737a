"""The interactive API docs (Swagger UI), served under the strict Content-Security-Policy.

The CSP allows scripts and styles from 'self' only. drf-spectacular's split view serves the
Swagger UI start-up script from a URL of its own instead of inline, the UI itself comes
from the drf-spectacular-sidecar static files (SWAGGER_UI_DIST="SIDECAR"), and our template
replaces the stock inline <style> with a stylesheet. So no nonce or CSP exemption is needed.
"""

from drf_spectacular.views import SpectacularSwaggerSplitView


class ApiDocsView(SpectacularSwaggerSplitView):
    template_name = "api/swagger_ui.html"
    title = "Paydesk API"
