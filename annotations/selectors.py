from annotations.models import Annotation, SetStatus


def published_sets_using_audio(*, audio):
    """Versions of the published sets that annotate this audio file."""
    return sorted(
        Annotation.objects.filter(audio_file=audio, annotation_set__status=SetStatus.PUBLISHED)
        .values_list("annotation_set__version", flat=True)
        .distinct()
    )
