# Audio files on the one work lifecycle (relay/work.py): internal names agree with the other kinds.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('datasets', '0001_initial'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='audiofile',
            name='datasets_au_dataset_7723fd_idx',
        ),
        migrations.RenameField(
            model_name='audiofile',
            old_name='processing_started_at',
            new_name='started_at',
        ),
        migrations.RenameField(
            model_name='audiofile',
            old_name='processing_status',
            new_name='status',
        ),
        migrations.RenameField(
            model_name='audiofile',
            old_name='processing_attempts',
            new_name='attempts',
        ),
        migrations.AlterField(
            model_name='audiofile',
            name='attempts',
            field=models.PositiveSmallIntegerField(default=0, help_text='How many times a worker took it.'),
        ),
        migrations.AddField(
            model_name='audiofile',
            name='heartbeat_at',
            field=models.DateTimeField(blank=True, help_text='Written by its worker while it runs.', null=True),
        ),
        migrations.AddField(
            model_name='audiofile',
            name='task_id',
            field=models.CharField(blank=True, default='', help_text='The Celery task that holds it.', max_length=64),
        ),
        migrations.AddIndex(
            model_name='audiofile',
            index=models.Index(fields=['dataset', 'status'], name='datasets_au_dataset_a33fb7_idx'),
        ),
    ]
