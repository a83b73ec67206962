from tortoise import fields, migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from storage.crypto import EncryptedJSONField, EncryptedTextField
from storage.schema_operations import PortableAlterField

class Migration(migrations.Migration):
    dependencies = [('plaint', '0010_insight_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='RetentionPolicyText',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('text', fields.TextField(unique=False)),
                ('updated_by', fields.CharField(max_length=300)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'retention_policy', 'app': 'plaint', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        PortableAlterField(
            model_name='CsatSurvey',
            name='comment',
            field=EncryptedTextField(null=True, unique=False),
        ),
        PortableAlterField(
            model_name='WebhookDelivery',
            name='body',
            field=EncryptedJSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        PortableAlterField(
            model_name='WebhookSubscription',
            name='secret',
            field=EncryptedTextField(unique=False),
        ),
    ]
