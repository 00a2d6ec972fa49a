"""On PostgreSQL, ratings_rating becomes a table partitioned by month (docs/partitioning.md); SQLite: nothing.

The foreign keys to ratings_rating lose their database constraints first (cases, entry, messaging): a
partitioned table's primary key is (id, rated_at), which a constraint on id alone cannot reference.
The reverse is a no-op: the partitioned table serves the earlier schema as it is, and un-partitioning
hundreds of millions of rows is an operator's decision, not a side effect of migrating backwards.
"""

from django.db import migrations


def partition(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    from haochaping.ratings.partitioning import partition_table

    partition_table(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("ratings", "0008_ratingkey"),
        ("cases", "0004_rating_without_db_constraint"),
        ("entry", "0002_rating_without_db_constraint"),
        ("messaging", "0004_rating_without_db_constraint"),
    ]

    operations = [migrations.RunPython(partition, migrations.RunPython.noop, elidable=False)]
