from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [('plaint', '0016_insight')]

    initial = False

    operations = [
        ops.AddField(
            model_name='InsightRollupState',
            name='pass_until',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='InsightRollupState',
            name='pass_next',
            field=fields.DateField(null=True),
        ),
    ]
