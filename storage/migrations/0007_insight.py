from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('plaint', '0006_privacy')]

    initial = False

    operations = [
        ops.CreateModel(
            name='FlowStepEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('conversation', fields.ForeignKeyField('plaint.Conversation', source_field='conversation_id', null=True, db_constraint=True, to_field='id', related_name='step_events', on_delete=OnDelete.SET_NULL)),
                ('flow_id', fields.CharField(max_length=100)),
                ('flow_version', fields.IntField()),
                ('channel', fields.CharField(max_length=16)),
                ('step_id', fields.CharField(max_length=100)),
                ('outcome', fields.CharField(max_length=16)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'flow_step_event', 'app': 'plaint', 'indexes': [Index(fields=['flow_id', 'flow_version', 'step_id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
