from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('plaint', '0013_desk')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Conversation',
            index=Index(fields=['identity_id', 'status']),
        ),
        ops.AddIndex(
            model_name='TranscriptMessage',
            index=Index(fields=['conversation_id']),
        ),
        ops.AddIndex(
            model_name='TranscriptMessage',
            index=Index(fields=['case_id']),
        ),
        ops.AddIndex(
            model_name='OutboxItem',
            index=Index(fields=['receipt_id']),
        ),
    ]
