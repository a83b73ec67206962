from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('plaint', '0009_admin')]

    initial = False

    operations = [
        ops.CreateModel(
            name='SpikeAlert',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('product', fields.CharField(max_length=200)),
                ('category', fields.CharField(max_length=100)),
                ('day', fields.DateField()),
                ('cases', fields.IntField()),
                ('baseline_mean', fields.FloatField()),
                ('threshold', fields.FloatField()),
                ('examples', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'spike_alert', 'app': 'plaint', 'unique_together': (('product', 'category', 'day'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddIndex(
            model_name='Case',
            index=Index(fields=['created_at', 'product', 'category']),
        ),
        ops.AddIndex(
            model_name='CaseEvent',
            index=Index(fields=['case_id', 'kind', 'created_at']),
        ),
    ]
