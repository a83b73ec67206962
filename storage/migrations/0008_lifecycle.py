from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('plaint', '0007_insight')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CaseLink',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('plaint.Case', source_field='case_id', db_constraint=True, to_field='id', related_name='duplicate_links', on_delete=OnDelete.CASCADE)),
                ('earlier_case', fields.ForeignKeyField('plaint.Case', source_field='earlier_case_id', db_constraint=True, to_field='id', related_name='repeated_by_links', on_delete=OnDelete.CASCADE)),
                ('status', fields.CharField(max_length=16)),
                ('reasons', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('decided_by', fields.CharField(null=True, max_length=100)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'case_link', 'app': 'plaint', 'unique_together': (('case', 'earlier_case'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
