"""The API's URLs plus `/bare/annotation-sets/<id>/annotations`: the same page of rows as the
annotation list, straight from `values()` into a JsonResponse (no authentication, no tenant,
no pagination, no DRF): the floor bench/api_overhead.py compares the API with."""

from django.http import JsonResponse
from django.urls import path

from annotations.models import Annotation
from relay.urls import *  # noqa: F403
from relay.urls import urlpatterns as api_urlpatterns

COLUMNS = ("id", "annotation_set_id", "audio_file_id", "artifact_type__name", "start_ms", "end_ms", "confidence")
COLUMNS += ("extra_data", "created_at", "updated_at")


def bare(request, set_id):
    limit = int(request.GET.get("page_size", 100))
    rows = list(Annotation.objects.filter(annotation_set_id=set_id).values(*COLUMNS)[:limit])
    return JsonResponse({"items": rows})


urlpatterns = [path("bare/annotation-sets/<uuid:set_id>/annotations", bare), *api_urlpatterns]
