from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from storage.crypto import EncryptedJSONField
from storage.models import InboxStatus
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('plaint', '0014_throughput')]

    initial = False

    operations = [
        ops.CreateModel(
            name='InboxItem',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('channel', fields.CharField(max_length=16)),
                ('platform_id', fields.CharField(max_length=255)),
                ('ordering_key', fields.CharField(db_index=True, max_length=255)),
                ('payload', EncryptedJSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharEnumField(db_index=True, description='PENDING: pending\nPROCESSING: processing\nDONE: done\nDEAD: dead', enum_type=InboxStatus, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('available_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('claimed_by', fields.CharField(null=True, max_length=64)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('done_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'inbox_item', 'app': 'plaint', 'unique_together': (('channel', 'platform_id'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
