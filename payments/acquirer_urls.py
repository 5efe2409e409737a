"""Where acquirers post their signed notifications, mounted at /api/acquirer/.

Not under /api/v1/: this is the acquirer's contract, not the merchants' API.
"""

from django.urls import URLPattern, path

from payments import api

urlpatterns: list[URLPattern] = [
    path("<slug:gateway>/notify", api.AcquirerNotifyApi.as_view(), name="acquirer_notify"),
]
