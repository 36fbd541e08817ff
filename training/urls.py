from django.urls import path

from training import views

urlpatterns = [
    path("training-jobs", views.TrainingJobListView.as_view(), name="training-job-list"),
    path("training-jobs/<uuid:job_id>", views.TrainingJobDetailView.as_view(), name="training-job-detail"),
    path("training-jobs/<uuid:job_id>/cancel", views.TrainingJobCancelView.as_view(), name="training-job-cancel"),
    path("training-jobs/<uuid:job_id>/events", views.TrainingJobEventsView.as_view(), name="training-job-events"),
    path("models", views.ModelListView.as_view(), name="model-list"),
    path("models/<uuid:model_id>", views.ModelDetailView.as_view(), name="model-detail"),
    path("models/<uuid:model_id>/download", views.ModelDownloadView.as_view(), name="model-download"),
    path("models/<uuid:model_id>/evaluations", views.EvaluationListView.as_view(), name="evaluation-list"),
    path(
        "models/<uuid:model_id>/evaluations/<uuid:evaluation_id>",
        views.EvaluationDetailView.as_view(),
        name="evaluation-detail",
    ),
]
