from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from storage.models import DeadReason, OutboxStatus


class Migration(migrations.Migration):
    dependencies = [('plaint', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DeliveryPace',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=255)),
                ('next_at', fields.FloatField()),
            ],
            options={'table': 'delivery_pace', 'app': 'plaint', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='OutboxItem',
            name='status',
            field=fields.CharEnumField(db_index=True, description='PENDING: pending\nSENDING: sending\nSENT: sent\nSENT_PASSIVELY: sent_passively\nDEAD: dead', enum_type=OutboxStatus, max_length=16),
        ),
        ops.AddField(
            model_name='OutboxItem',
            name='attempt_started_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='OutboxItem',
            name='claimed_by',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='OutboxItem',
            name='dead_reason',
            field=fields.CharEnumField(null=True, description='RETRIES_EXHAUSTED: retries_exhausted\nRATE_LIMITED: rate_limited\nUNREACHABLE: unreachable\nREFUSED: refused\nNO_HANDLER: no_handler', enum_type=DeadReason, max_length=32),
        ),
        ops.AddField(
            model_name='OutboxItem',
            name='lease_until',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        # Replies that left in a WeChat passive answer were marked in last_error; they get their own status.
        ops.RunSQL(
            "UPDATE outbox_item SET status = 'sent_passively', last_error = NULL "
            "WHERE status = 'sent' AND last_error = 'answered passively'",
            "UPDATE outbox_item SET status = 'sent', last_error = 'answered passively' "
            "WHERE status = 'sent_passively'",
        ),
    ]
