from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from storage.crypto import EncryptedJSONField, EncryptedTextField
from storage.schema_operations import PortableAlterField
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('plaint', '0005_ops')]

    initial = False

    operations = [
        ops.CreateModel(
            name='KeyRotation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key_id', fields.CharField(max_length=32)),
                ('table', fields.CharField(max_length=64)),
                ('last_id', fields.IntField(default=0)),
                ('done', fields.BooleanField(default=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'key_rotation', 'app': 'plaint', 'unique_together': (('key_id', 'table'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        PortableAlterField(
            model_name='Case',
            name='description',
            field=EncryptedTextField(null=True, unique=False),
        ),
        PortableAlterField(
            model_name='Case',
            name='email',
            field=EncryptedTextField(null=True, unique=False),
        ),
        PortableAlterField(
            model_name='Case',
            name='expected_resolution',
            field=EncryptedTextField(null=True, unique=False),
        ),
        PortableAlterField(
            model_name='Case',
            name='extra',
            field=EncryptedJSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        PortableAlterField(
            model_name='Case',
            name='name',
            field=EncryptedTextField(null=True, unique=False),
        ),
        PortableAlterField(
            model_name='Case',
            name='occurred_where',
            field=EncryptedTextField(null=True, unique=False),
        ),
        PortableAlterField(
            model_name='Case',
            name='phone',
            field=EncryptedTextField(null=True, unique=False),
        ),
        PortableAlterField(
            model_name='Case',
            name='resolution_summary',
            field=EncryptedTextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='Case',
            name='email_hash',
            field=fields.CharField(null=True, db_index=True, max_length=64),
        ),
        ops.AddField(
            model_name='Case',
            name='phone_hash',
            field=fields.CharField(null=True, db_index=True, max_length=64),
        ),
        PortableAlterField(
            model_name='Conversation',
            name='state',
            field=EncryptedJSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        PortableAlterField(
            model_name='Customer',
            name='display_name',
            field=EncryptedTextField(null=True, unique=False),
        ),
        PortableAlterField(
            model_name='Evidence',
            name='file_name',
            field=EncryptedTextField(unique=False),
        ),
        PortableAlterField(
            model_name='NlpCorrection',
            name='text',
            field=EncryptedTextField(unique=False),
        ),
        PortableAlterField(
            model_name='OutboxItem',
            name='payload',
            field=EncryptedJSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        PortableAlterField(
            model_name='TranscriptMessage',
            name='payload',
            field=EncryptedJSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        PortableAlterField(
            model_name='TranscriptMessage',
            name='text',
            field=EncryptedTextField(default='', unique=False),
        ),
    ]
