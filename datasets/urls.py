from django.urls import path

from datasets import views

urlpatterns = [
    path("datasets", views.DatasetListView.as_view(), name="dataset-list"),
    path("datasets/<uuid:dataset_id>", views.DatasetDetailView.as_view(), name="dataset-detail"),
]
