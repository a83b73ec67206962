from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('plaint', '0012_harden')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Case',
            index=Index(fields=['team', 'status']),
        ),
        ops.AddIndex(
            model_name='SlaClock',
            index=Index(fields=['status', 'due_at']),
        ),
    ]
