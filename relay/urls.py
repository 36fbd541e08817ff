from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from inference import admin as inference_admin

api_v1 = [
    path("", include("relay.api.urls")),
    path("", include("datasets.urls")),
    path("", include("annotations.urls")),
    path("", include("training.urls")),
    path("", include("inference.urls")),
]

urlpatterns = [
    path(
        "admin/inference/file/<uuid:file_id>/plot.png",
        admin.site.admin_view(inference_admin.plot_view),
        name="admin-inference-plot",
    ),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("admin/", admin.site.urls),
]

handler404 = "relay.api.views.not_found"
handler500 = "relay.api.views.server_error"
