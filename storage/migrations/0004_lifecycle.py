from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('plaint', '0003_admin')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CasePriority',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.OneToOneField('plaint.Case', source_field='case_id', db_constraint=True, to_field='id', related_name='priority', on_delete=OnDelete.CASCADE)),
                ('priority', fields.CharField(db_index=True, max_length=16)),
                ('source', fields.CharField(max_length=16)),
                ('reasons', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('set_by', fields.CharField(max_length=100)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'case_priority', 'app': 'plaint', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CaseSla',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.OneToOneField('plaint.Case', source_field='case_id', db_constraint=True, to_field='id', related_name='sla', on_delete=OnDelete.CASCADE)),
                ('policy_name', fields.CharField(max_length=100)),
                ('policy', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('priority', fields.CharField(null=True, max_length=16)),
                ('state', fields.CharField(max_length=16)),
                ('breached_metric', fields.CharField(null=True, max_length=32)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'case_sla', 'app': 'plaint', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CsatSurvey',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.OneToOneField('plaint.Case', source_field='case_id', db_constraint=True, to_field='id', related_name='csat', on_delete=OnDelete.CASCADE)),
                ('channel', fields.CharField(max_length=16)),
                ('sender_id', fields.CharField(max_length=255)),
                ('lang', fields.CharField(max_length=8)),
                ('status', fields.CharField(max_length=20)),
                ('score', fields.IntField(null=True)),
                ('comment', fields.TextField(null=True, unique=False)),
                ('reason', fields.CharField(null=True, max_length=64)),
                ('asked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('answered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'csat_survey', 'app': 'plaint', 'indexes': [Index(fields=['channel', 'sender_id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SlaClock',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('plaint.Case', source_field='case_id', db_constraint=True, to_field='id', related_name='sla_clocks', on_delete=OnDelete.CASCADE)),
                ('metric', fields.CharField(max_length=32)),
                ('status', fields.CharField(max_length=16)),
                ('target_seconds', fields.IntField()),
                ('consumed_seconds', fields.IntField(default=0)),
                ('running_since', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('due_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('generation', fields.IntField(default=0)),
                ('breached', fields.BooleanField(default=False)),
            ],
            options={'table': 'sla_clock', 'app': 'plaint', 'unique_together': (('case', 'metric'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SlaEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('plaint.Case', source_field='case_id', db_constraint=True, to_field='id', related_name='sla_events', on_delete=OnDelete.CASCADE)),
                ('metric', fields.CharField(max_length=32)),
                ('kind', fields.CharField(max_length=16)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('data', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'sla_event', 'app': 'plaint', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Timer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('plaint.Case', source_field='case_id', null=True, db_constraint=True, to_field='id', related_name='timers', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=32)),
                ('key', fields.CharField(db_index=True, max_length=100)),
                ('due_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('payload', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharField(db_index=True, max_length=16)),
                ('claimed_by', fields.CharField(null=True, max_length=100)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('fired_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'timer', 'app': 'plaint', 'indexes': [Index(fields=['status', 'due_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
