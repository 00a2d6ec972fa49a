"""haochaping revoke_api_key PREFIX: revoke a calling system's key."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from haochaping.accounts.apikeys import api_key_revoke
from haochaping.accounts.models import ApiKey


class Command(BaseCommand):
    help = "吊销接口密钥 / revoke an API key"

    def add_arguments(self, parser):
        parser.add_argument("prefix", help="密钥前缀（hcp_ 之后的8个字符）/ key prefix (8 characters after hcp_)")

    def handle(self, *args, prefix: str, **options):
        key = ApiKey.objects.filter(prefix=prefix.removeprefix("hcp_")[:8]).first()
        if key is None:
            raise CommandError(f"接口密钥不存在 / no key with prefix {prefix}")
        api_key_revoke(key)
        self.stdout.write(f"已吊销 / revoked: {key}")
