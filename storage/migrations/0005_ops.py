from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('plaint', '0004_lifecycle')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ExternalTicket',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('plaint.Case', source_field='case_id', db_constraint=True, to_field='id', related_name='external_tickets', on_delete=OnDelete.CASCADE)),
                ('connector', fields.CharField(max_length=32)),
                ('ticket_id', fields.CharField(max_length=100)),
                ('synced_status', fields.CharField(null=True, max_length=32)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'external_ticket', 'app': 'plaint', 'unique_together': (('case', 'connector'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookSubscription',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('url', fields.CharField(max_length=2000)),
                ('events', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('secret', fields.CharField(max_length=255)),
                ('may_see_personal_data', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'webhook_subscription', 'app': 'plaint', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('subscription', fields.ForeignKeyField('plaint.WebhookSubscription', source_field='subscription_id', null=True, db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.SET_NULL)),
                ('dedupe_key', fields.CharField(unique=True, max_length=128)),
                ('event_id', fields.CharField(db_index=True, max_length=64)),
                ('event_type', fields.CharField(max_length=64)),
                ('case_number', fields.CharField(db_index=True, max_length=32)),
                ('body', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharField(db_index=True, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('last_status_code', fields.IntField(null=True)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('replay_of', fields.ForeignKeyField('plaint.WebhookDelivery', source_field='replay_of_id', null=True, db_constraint=True, to_field='id', related_name='replays', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'webhook_delivery', 'app': 'plaint', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WorkerHeartbeat',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('worker', fields.CharField(unique=True, max_length=100)),
                ('beat_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'worker_heartbeat', 'app': 'plaint', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
