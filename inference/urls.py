from django.urls import path

from inference import views

job = "inference-jobs/<uuid:job_id>"

urlpatterns = [
    path("inference-jobs", views.InferenceJobListView.as_view(), name="inference-job-list"),
    path("inference-jobs/batch", views.InferenceJobBatchView.as_view(), name="inference-job-batch"),
    path(job, views.InferenceJobDetailView.as_view(), name="inference-job-detail"),
    path(f"{job}/cancel", views.InferenceJobCancelView.as_view(), name="inference-job-cancel"),
    path(f"{job}/events", views.InferenceJobEventsView.as_view(), name="inference-job-events"),
    path(f"{job}/results", views.ResultsView.as_view(), name="inference-job-results"),
    path(f"{job}/files", views.FileListView.as_view(), name="inference-file-list"),
    path(f"{job}/files/upload-url", views.FileUploadUrlView.as_view(), name="inference-file-upload-url"),
    path(f"{job}/files/confirm", views.FileConfirmView.as_view(), name="inference-file-confirm"),
    path(f"{job}/files/<uuid:file_id>", views.FileDetailView.as_view(), name="inference-file-detail"),
    path(f"{job}/files/<uuid:file_id>/plot.png", views.FilePlotView.as_view(), name="inference-file-plot"),
]
