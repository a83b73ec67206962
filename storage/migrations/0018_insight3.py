from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [('plaint', '0017_insight2')]

    initial = False

    operations = [
        ops.CreateModel(
            name='InsightDirtyDay',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('day', fields.DateField()),
            ],
            options={'table': 'insight_dirty_day', 'app': 'plaint', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
