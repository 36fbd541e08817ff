from django.apps import apps
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from relay import scrape
from relay.api.platform_views import SiteRootView

# Each app that serves part of the API names its urlconf on its AppConfig (`api_urlconf`).
api_v1 = [path("", include("relay.api.urls"))] + [
    path("", include(config.api_urlconf)) for config in apps.get_app_configs() if getattr(config, "api_urlconf", None)
]

urlpatterns = [
    path("", SiteRootView.as_view(), name="root"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("admin/", admin.site.urls),
    path("metrics", scrape.view, name="metrics"),
]

handler404 = "relay.api.views.not_found"
handler500 = "relay.api.views.server_error"
