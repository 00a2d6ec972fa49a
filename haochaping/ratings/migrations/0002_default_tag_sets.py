"""Default grade-dependent tag sets v1 (regime.md §2.5: online and on-site dimensions of one province)."""

from django.db import migrations

GOOD, NEUTRAL, BAD = [4, 5], [3], [1, 2]

TAG_SETS = {
    ("online", "online"): ("网上服务评价标签", [
        ("ON01", "办事效率", "办理速度快", GOOD), ("ON02", "办事指南精确度", "办事指南准确清晰", GOOD),
        ("ON03", "办事便捷度", "材料精简少跑腿", GOOD), ("ON04", "平台操作性", "系统操作简单流畅", GOOD),
        ("ON05", "办事效率", "办理进度一般", NEUTRAL), ("ON06", "平台操作性", "操作有待优化", NEUTRAL),
        ("ON11", "办事效率", "办理时间过长", BAD), ("ON12", "办事指南精确度", "办事指南不准确", BAD),
        ("ON13", "办事便捷度", "重复提交材料", BAD), ("ON14", "平台操作性", "系统卡顿或操作复杂", BAD),
    ]),
    ("onsite", "onsite"): ("现场服务评价标签", [
        ("OS01", "服务效率", "办事效率高", GOOD), ("OS02", "服务水平", "业务熟练", GOOD),
        ("OS03", "服务态度", "态度热情耐心", GOOD), ("OS04", "服务水平", "一次性告知清楚", GOOD),
        ("OS05", "服务效率", "等候时间一般", NEUTRAL), ("OS06", "服务水平", "解答基本清楚", NEUTRAL),
        ("OS11", "服务效率", "排队等候时间长", BAD), ("OS12", "服务水平", "业务不熟悉", BAD),
        ("OS13", "服务态度", "态度冷漠生硬", BAD), ("OS14", "服务水平", "一次性告知不到位", BAD),
    ]),
}


def create(apps, schema_editor):
    TagSet = apps.get_model("ratings", "TagSet")
    Tag = apps.get_model("ratings", "Tag")
    for (code, kind), (name, tags) in TAG_SETS.items():
        tag_set, _ = TagSet.objects.get_or_create(code=code, version=1,
                                                  defaults={"kind": kind, "name": name, "is_active": True})
        for position, (tag_code, dimension, label, grades) in enumerate(tags):
            Tag.objects.get_or_create(tag_set=tag_set, code=tag_code,
                                      defaults={"label": label, "dimension": dimension, "grades": grades,
                                                "position": position})


class Migration(migrations.Migration):
    dependencies = [("ratings", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
