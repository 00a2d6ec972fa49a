"""Default detail questionnaires v1 (regime.md §2.5), from the question texts used before questionnaires existed."""

from django.db import migrations

GUIDANCE = {"code": "guidance_clear", "text": "服务指引是否清晰", "type": "choice"}
PROCESS = {"code": "process_convenient", "text": "办事程序是否便利", "type": "choice"}
MATERIALS = {"code": "materials_simplified", "text": "材料手续是否精简", "type": "choice"}
INTERFACE = {"code": "interface_friendly", "text": "操作界面是否友好", "type": "choice"}
IMPROVEMENT = {"code": "improvement", "text": "有何改进意见", "type": "text"}

QUESTIONNAIRES = {
    "online": ("网上服务分项评价", [GUIDANCE, PROCESS, MATERIALS, INTERFACE, IMPROVEMENT]),
    "onsite": ("现场服务分项评价", [GUIDANCE, PROCESS, MATERIALS, IMPROVEMENT]),
}


def create(apps, schema_editor):
    Questionnaire = apps.get_model("ratings", "Questionnaire")
    for kind, (name, questions) in QUESTIONNAIRES.items():
        Questionnaire.objects.get_or_create(
            code=kind, version=1, defaults={"kind": kind, "name": name, "is_active": True, "questions": questions}
        )


def remove(apps, schema_editor):
    apps.get_model("ratings", "Questionnaire").objects.filter(code__in=QUESTIONNAIRES, version=1).delete()


class Migration(migrations.Migration):
    dependencies = [("ratings", "0006_questionnaires")]

    operations = [migrations.RunPython(create, remove)]
