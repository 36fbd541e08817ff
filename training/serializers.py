from rest_framework import serializers

from relay.api.fields import (
    Input,
    StrictCharField,
    StrictFloatField,
    StrictIntegerField,
    StrictUUIDField,
    UniqueUUIDListField,
)
from relay.jobs import JobStatus
from training.models import TrainingStage


class TrainingConfigSerializer(Input):
    artifact_types = serializers.ListField(
        child=StrictCharField(min_length=1, max_length=100),
        allow_empty=False,
        min_length=1,
        max_length=100,
        help_text="Names of the dataset's artifact types to learn.",
    )
    epochs = StrictIntegerField(required=False, default=20, min_value=1, max_value=100)
    validation_split = StrictFloatField(
        required=False,
        default=0.2,
        min_value=0.1,
        max_value=0.5,
        help_text="Share of the audio files held out for validation (split by file).",
    )
    learning_rate = StrictFloatField(required=False, default=0.001, min_value=0.0001, max_value=0.1)
    batch_size = StrictIntegerField(required=False, default=32, min_value=8, max_value=256)
    chunk_size_ms = StrictIntegerField(
        required=False,
        default=500,
        min_value=100,
        max_value=10_000,
        help_text="Length of the labelled window of each training example.",
    )
    stride_ms = StrictIntegerField(
        required=False, default=250, min_value=10, max_value=10_000, help_text="Step between training windows."
    )
    seed = StrictIntegerField(
        required=False,
        default=0,
        min_value=0,
        max_value=2**31 - 1,
        help_text="Seeds the validation split, initialisation and augmentation (ours).",
    )
    start_from = serializers.ChoiceField(
        choices=("prior", "scratch"),  # detector.train.START_FROM (not imported here: it loads torch)
        required=False,
        default="prior",
        help_text=(
            "prior: start from Relay's pretrained detector (hours of labelled audio of the types glitch, "
            "dropout, long_pause, hum and clipping; types matched by name, others start fresh). In our "
            "tests, with 15 minutes of labelled audio of a kind the prior never saw, it gave +0.09 macro F1 "
            "when the prior's audio was more varied than the tenant's and about 0 otherwise. scratch: "
            "random initial weights."
        ),
    )
    waveform_copies = StrictIntegerField(
        required=False,
        default=0,
        min_value=0,
        max_value=4,
        help_text=(
            "Augmented copies of each file's audio made before training (room reverb, background "
            "noise and music, EQ, gain, a lossy codec round trip; labels kept true); each epoch a file "
            "trains on one of its copies half the time. Slower (about 25-35 s more per hour of audio "
            "and copy); in our tests 2 copies gave about +0.04 macro F1 on recordings unlike the "
            "training ones. 0: off."
        ),
    )


class TrainingJobCreateSerializer(Input):
    dataset_id = StrictUUIDField()
    annotation_set_id = StrictUUIDField()
    name = StrictCharField(required=False, allow_blank=True, max_length=200, default="")
    client_reference = StrictCharField(required=False, allow_blank=True, max_length=200, default="")
    config = TrainingConfigSerializer()


class JobFieldsSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    tenant_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=JobStatus.choices)
    progress = serializers.FloatField(help_text="0 to 1.")
    error_message = serializers.CharField()
    client_reference = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)


class EpochSerializer(serializers.Serializer):
    epoch = serializers.IntegerField()
    train_loss = serializers.FloatField()
    validation_loss = serializers.FloatField()
    validation_macro_f1 = serializers.FloatField(help_text="With each type's best of a few thresholds.")
    learning_rate = serializers.FloatField()
    elapsed_s = serializers.FloatField(help_text="Seconds since training started.")


class TrainingJobSerializer(JobFieldsSerializer):
    dataset_id = serializers.UUIDField(allow_null=True)
    annotation_set_id = serializers.UUIDField(allow_null=True)
    annotation_set_version = serializers.IntegerField()
    name = serializers.CharField()
    config = serializers.DictField()
    stage = serializers.CharField(
        help_text=f"While processing: {', '.join(TrainingStage.values)}; empty before, the last one after."
    )
    model_id = serializers.UUIDField(allow_null=True)
    metrics = serializers.DictField(allow_null=True)
    history = EpochSerializer(many=True, help_text="One entry per epoch run, written as training goes.")


class ModelSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    tenant_id = serializers.UUIDField()
    name = serializers.CharField()
    training_job_id = serializers.UUIDField(allow_null=True)
    dataset_id = serializers.UUIDField(allow_null=True)
    annotation_set_id = serializers.UUIDField(allow_null=True)
    annotation_set_version = serializers.IntegerField()
    artifact_types = serializers.ListField(child=serializers.CharField())
    config = serializers.DictField()
    metrics = serializers.DictField()
    size_bytes = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ModelUpdateSerializer(Input):
    name = StrictCharField(min_length=1, max_length=200)


class EvaluationCreateSerializer(Input):
    annotation_set_id = StrictUUIDField(help_text="A published annotation set of the model's dataset.")
    audio_file_ids = UniqueUUIDListField(
        required=False,
        min_length=1,
        max_length=10_000,
        help_text="Evaluate on these ready files of the dataset only (default: every file the set annotates). "
        "A file the set does not annotate counts as holding no artifact.",
    )


class EvaluationFileSerializer(serializers.Serializer):
    audio_file_id = serializers.UUIDField()
    filename = serializers.CharField()
    duration_ms = serializers.IntegerField(allow_null=True)
    tp = serializers.IntegerField()
    fp = serializers.IntegerField()
    fn = serializers.IntegerField()
    macro_f1 = serializers.FloatField(allow_null=True)
    per_type = serializers.DictField(child=serializers.DictField(child=serializers.IntegerField()))


class TypeScoreSerializer(serializers.Serializer):
    precision = serializers.FloatField(allow_null=True)
    recall = serializers.FloatField(allow_null=True)
    f1 = serializers.FloatField(allow_null=True)
    support = serializers.IntegerField()
    tp = serializers.IntegerField()
    fp = serializers.IntegerField()
    fn = serializers.IntegerField()


class EvaluationMetricsSerializer(serializers.Serializer):
    macro_f1 = serializers.FloatField(allow_null=True)
    micro_f1 = serializers.FloatField(allow_null=True)
    per_type = serializers.DictField(child=TypeScoreSerializer())
    evaluation = serializers.CharField(help_text="The matching rule, in words.")
    collars = serializers.DictField(
        child=serializers.FloatField(), help_text="onset_collar_ms, offset_collar_ms, offset_collar_rate."
    )
    files = EvaluationFileSerializer(many=True)
    trained_on_files = serializers.IntegerField(
        help_text="How many of the files the model was trained on (their scores flatter it)."
    )


class EvaluationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    tenant_id = serializers.UUIDField()
    model_id = serializers.UUIDField()
    annotation_set_id = serializers.UUIDField(allow_null=True)
    annotation_set_version = serializers.IntegerField()
    audio_file_ids = serializers.ListField(child=serializers.UUIDField())
    status = serializers.ChoiceField(choices=JobStatus.choices)
    progress = serializers.FloatField()
    metrics = EvaluationMetricsSerializer(allow_null=True)
    error_message = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
