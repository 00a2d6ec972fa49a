# OfferMonth loses its unit (as ChannelMonth did in 0003): the rows of one month, region and channel are merged by
# recomputing the table from OfferDay before the new key is added.

from django.db import migrations, models
from django.db.models import Sum
from django.db.models.functions import TruncMonth


def regroup(apps, schema_editor):
    OfferDay = apps.get_model("analytics", "OfferDay")
    OfferMonth = apps.get_model("analytics", "OfferMonth")
    OfferMonth.objects.all().delete()
    rows = (
        OfferDay.objects.annotate(m=TruncMonth("day"))
        .values("m", "region_id", "channel")
        .annotate(n=Sum("offers"))
        .order_by()
    )
    OfferMonth.objects.bulk_create(
        [OfferMonth(month=r["m"], region_id=r["region_id"], channel=r["channel"], offers=r["n"]) for r in rows if r["n"]],
        batch_size=2000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0005_uptake"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="offermonth",
            name="rollup_offer_month_key",
        ),
        migrations.RemoveIndex(
            model_name="offermonth",
            name="analytics_o_unit_id_027b3d_idx",
        ),
        migrations.RemoveField(
            model_name="offermonth",
            name="unit_id",
        ),
        migrations.RunPython(regroup, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="offermonth",
            constraint=models.UniqueConstraint(fields=("month", "region_id", "channel"), name="rollup_offer_month_key"),
        ),
    ]
