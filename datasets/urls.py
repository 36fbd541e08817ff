from django.urls import path

from datasets import views

audio = "datasets/<uuid:dataset_id>/audio"

urlpatterns = [
    path("datasets", views.DatasetListView.as_view(), name="dataset-list"),
    path("datasets/<uuid:dataset_id>", views.DatasetDetailView.as_view(), name="dataset-detail"),
    path(f"{audio}", views.AudioListView.as_view(), name="audio-list"),
    path(f"{audio}/upload-url", views.AudioUploadUrlView.as_view(), name="audio-upload-url"),
    path(f"{audio}/confirm", views.AudioConfirmView.as_view(), name="audio-confirm"),
    path(f"{audio}/upload-urls", views.AudioUploadUrlsView.as_view(), name="audio-upload-urls"),
    path(f"{audio}/confirm-batch", views.AudioConfirmBatchView.as_view(), name="audio-confirm-batch"),
    path(f"{audio}/multipart", views.MultipartStartView.as_view(), name="audio-multipart"),
    path(f"{audio}/multipart/complete", views.MultipartCompleteView.as_view(), name="audio-multipart-complete"),
    path(f"{audio}/multipart/abort", views.MultipartAbortView.as_view(), name="audio-multipart-abort"),
    path(f"{audio}/<uuid:audio_id>", views.AudioDetailView.as_view(), name="audio-detail"),
]
