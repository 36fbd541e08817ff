from django.urls import path

from datasets import audio_views, views

audio = "datasets/<uuid:dataset_id>/audio"

urlpatterns = [
    path("datasets", views.DatasetListView.as_view(), name="dataset-list"),
    path("datasets/<uuid:dataset_id>", views.DatasetDetailView.as_view(), name="dataset-detail"),
    path(f"{audio}", audio_views.AudioListView.as_view(), name="audio-list"),
    path(f"{audio}/upload-url", audio_views.AudioUploadUrlView.as_view(), name="audio-upload-url"),
    path(f"{audio}/confirm", audio_views.AudioConfirmView.as_view(), name="audio-confirm"),
    path(f"{audio}/multipart", audio_views.MultipartStartView.as_view(), name="audio-multipart"),
    path(f"{audio}/multipart/complete", audio_views.MultipartCompleteView.as_view(), name="audio-multipart-complete"),
    path(f"{audio}/multipart/abort", audio_views.MultipartAbortView.as_view(), name="audio-multipart-abort"),
    path(f"{audio}/<uuid:audio_id>", audio_views.AudioDetailView.as_view(), name="audio-detail"),
]
