from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('plaint', '0011_privacy')]

    initial = False

    operations = [
        ops.CreateModel(
            name='SpentLink',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('nonce', fields.CharField(unique=True, max_length=64)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'spent_link', 'app': 'plaint', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
