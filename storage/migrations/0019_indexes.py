from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

from storage.schema_operations import CreateMissingIndexes

class Migration(migrations.Migration):
    dependencies = [('plaint', '0018_insight3')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Case',
            index=Index(fields=['customer_id', 'status']),
        ),
        ops.AddIndex(
            model_name='Evidence',
            index=Index(fields=['case_id']),
        ),
        ops.AddIndex(
            model_name='Evidence',
            index=Index(fields=['conversation_id']),
        ),
        CreateMissingIndexes(),
    ]
