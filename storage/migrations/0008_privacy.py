from tortoise import migrations
import functools
from json import dumps, loads
from storage.crypto import EncryptedJSONField, EncryptedTextField
from storage.schema_operations import PortableAlterField

class Migration(migrations.Migration):
    dependencies = [('plaint', '0007_insight')]

    initial = False

    operations = [
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
