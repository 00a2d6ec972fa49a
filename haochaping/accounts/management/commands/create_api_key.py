"""haochaping create_api_key NAME (--unit USCC | --region CODE): create a key for a calling business system."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from haochaping.accounts.apikeys import api_key_create
from haochaping.directory.models import Organisation, Region


class Command(BaseCommand):
    help = "为调用系统创建接口密钥（限定单位或区划）/ create an API key scoped to a unit or a region"

    def add_arguments(self, parser):
        parser.add_argument("name", help="调用系统名称 / name of the calling system")
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--unit", help="单位统一社会信用代码 / USCC of the unit")
        group.add_argument("--region", help="12位行政区划代码 / 12-digit region code")

    def handle(self, *args, name: str, unit: str | None, region: str | None, **options):
        org = reg = None
        if unit:
            org = Organisation.objects.filter(uscc=unit).first()
            if org is None:
                raise CommandError(f"单位不存在 / no unit with USCC {unit}")
        else:
            reg = Region.objects.filter(code=region).first()
            if reg is None:
                raise CommandError(f"行政区划不存在 / no region with code {region}")
        key, secret = api_key_create(name=name, unit=org, region=reg)
        self.stderr.write(f"已创建接口密钥 {key.prefix}…（只显示一次，请妥善保存）/ created; shown once:")
        self.stdout.write(secret)
