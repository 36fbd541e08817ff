from django.urls import path

from annotations import views

sets = "datasets/<uuid:dataset_id>/annotation-sets"
one = f"{sets}/<uuid:set_id>"

urlpatterns = [
    path(sets, views.AnnotationSetListView.as_view(), name="annotation-set-list"),
    path(one, views.AnnotationSetDetailView.as_view(), name="annotation-set-detail"),
    path(f"{one}/publish", views.PublishView.as_view(), name="annotation-set-publish"),
    path(f"{one}/export", views.ExportView.as_view(), name="annotation-set-export"),
    path(f"{one}/import", views.ImportView.as_view(), name="annotation-set-import"),
    path(f"{one}/annotations", views.AnnotationListView.as_view(), name="annotation-list"),
    path(f"{one}/annotations/bulk", views.BulkCreateView.as_view(), name="annotation-bulk"),
    path(f"{one}/annotations/<uuid:annotation_id>", views.AnnotationDetailView.as_view(), name="annotation-detail"),
]
