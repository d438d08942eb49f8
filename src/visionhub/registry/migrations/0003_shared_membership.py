# The members of models and deployments become ``accounts.sharing.Membership`` rows, like the
# datasets': ``role`` is renamed ``access`` (its values, read and write, are kept as they are).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

ACCESS = models.CharField(
    choices=[("read", "Read"), ("write", "Write")], default="read", max_length=5
)
USER = models.ForeignKey(
    on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL
)


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0002_detection_contracts"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameField(model_name="modelmember", old_name="role", new_name="access"),
        migrations.RenameField(model_name="deploymentmember", old_name="role", new_name="access"),
        migrations.AlterField(model_name="modelmember", name="access", field=ACCESS),
        migrations.AlterField(model_name="deploymentmember", name="access", field=ACCESS),
        migrations.AlterField(model_name="modelmember", name="user", field=USER),
        migrations.AlterField(model_name="deploymentmember", name="user", field=USER),
    ]
