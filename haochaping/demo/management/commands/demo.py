"""haochaping demo: generate a deterministic demo province (directory, logins, 办件 and ratings) from a seed."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from haochaping.audit.demo import seed_demo as seed_audit_demo
from haochaping.demo.catalogue import MAX_CITIES
from haochaping.demo.load import DEMO_PASSWORD, DemoError, default_api_key_file, demo_generate
from haochaping.integrity.demo import compute_demo_signals, plant_patterns
from haochaping.ratings.models import Rating


class Command(BaseCommand):
    help = "生成演示省份数据（目录、账号、办件和评价，同一种子结果相同）/ generate a deterministic demo province"

    def add_arguments(self, parser):
        parser.add_argument(
            "--ratings", type=int, default=200_000, help="评价条数 / number of ratings (default 200000)"
        )
        parser.add_argument("--seed", type=int, default=42, help="随机种子 / random seed (default 42)")
        parser.add_argument(
            "--cities",
            type=int,
            default=4,
            help=f"地市数量 1–{MAX_CITIES} / number of cities (default 4)",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="数据库已有评价时什么也不做 / do nothing if the database already holds ratings",
        )
        parser.add_argument(
            "--api-key-file",
            type=Path,
            default=None,
            help="演示接口密钥写入的文件 / where to write the demo API key (default var/demo-api-key.txt)",
        )

    def handle(self, *args, ratings: int, seed: int, cities: int, if_empty: bool, api_key_file, **options):
        if if_empty and Rating.objects.exists():
            self.stdout.write("数据库已有评价数据，跳过演示数据生成 / the database already holds ratings: skipped")
            return
        if not 1 <= cities <= MAX_CITIES:
            raise CommandError(f"--cities 应在 1–{MAX_CITIES} 之间 / --cities must be 1–{MAX_CITIES}")
        if ratings < 0:
            raise CommandError("--ratings 不能为负数 / --ratings must not be negative")
        verbose = options["verbosity"] >= 1
        self.stdout.write(
            f"生成演示数据 / generating the demo province: {ratings:,} 条评价, seed={seed}, cities={cities}"
        )

        def progress(line: str) -> None:
            if verbose:
                self.stdout.write("  " + line)
                self.stdout.flush()

        try:
            result = demo_generate(
                ratings=ratings,
                seed=seed,
                cities=cities,
                api_key_file=api_key_file or default_api_key_file(),
                progress=progress,
            )
        except DemoError as exc:
            raise CommandError(str(exc)) from exc
        c, s = result.counts, result.stats
        n = max(s["ratings"], 1)
        out = self.stdout.write
        out(self.style.SUCCESS(f"完成 / done in {result.seconds:.1f}s"))
        out(
            f"  区划 {c['regions']} · 单位 {c['units']} · 大厅 {c['halls']} · 窗口 {c['windows']} · "
            f"人员 {c['staff']} · 事项 {c['items']} · 平台 {c['platforms']}"
        )
        out(
            f"  办件 {c['cases']:,} · 评价 {c['ratings']:,}（好评 {s['good'] / n:.1%}，差评 {s['bad'] / n:.1%}，"
            f"默认评价 {s['default'] / n:.1%}，有文字 {s['comments'] / n:.1%}）"
        )
        out(f"  差评偏多的单位 / units rated markedly worse: {'、'.join(result.worse_units)}")
        out(f"  全部非常满意的单位 / the suspiciously perfect unit: {result.perfect_unit}")
        out(f"  差评偏多的人员 / staff rated markedly worse: {'、'.join(result.worse_staff)}")
        out("")
        out(f"打开 / open: {settings.SITE_URL}/  管理后台 / admin: {settings.SITE_URL}/admin/")
        out(f"演示账号（密码均为 / every password is）: {DEMO_PASSWORD}")
        for login in result.logins:
            note = f"  {login.note}" if login.note else ""
            out(f"  {login.username:<22} {login.role:<10} {login.unit}{note}")
        out(f"演示接口密钥 / demo API key (全省 / whole province): {result.api_key}")
        if result.api_key_file:
            out(f"  已写入 / written to {result.api_key_file}")
        self._seed_channels(out, result.api_key, seed)
        integrity_line = lambda line: out("数据真实性监测 / integrity: " + line)  # noqa: E731
        plant_patterns(seed, write=integrity_line)
        self._seed_cases(out, seed)
        self._seed_insight(out, seed)
        self._seed_rollups(out)
        compute_demo_signals(write=integrity_line)
        seed_audit_demo(write=out)
        self._seed_supervision(out, seed)
        self._seed_disclosure(out)
        self._seed_exchange(out, seed, result.api_key)
        self._seed_hotline(out, seed)
        __import__("haochaping.seal.demo", fromlist=["seed_demo"]).seed_demo(out)  # last: seals what was bulk-loaded

    def _seed_supervision(self, out, seed: int) -> None:
        """监督查评 and 综合点评: inspections with failed items handed over as rectifications, a survey sent by SMS to
        recent applicants with its responses, suggestions in the case loop and a third-party assessment. Before the
        disclosure step: the report it publishes shows these sources beside the ratings."""
        from haochaping.inspections.demo import seed_demo as seed_inspections
        from haochaping.society.demo import seed_demo as seed_society
        from haochaping.surveys.demo import seed_demo as seed_surveys

        out("")
        seed_inspections(out, seed)
        seed_surveys(out, seed)
        seed_society(out, seed)
        # Suggestions are cases: their day figures are marked dirty; leave the demo with none pending (as after
        # _seed_rollups), so what the dashboards read is already computed.
        from haochaping.cases import rollup as case_rollup

        case_rollup.refresh()

    def _seed_disclosure(self, out) -> None:
        """信息公开: publications synced from the handled cases, moderated as the province (disclosure/demo.py); the
        last month's province report published for the portal (disclosure/demo_reports.py)."""
        from haochaping.disclosure.demo import seed_demo as seed_disclosure
        from haochaping.disclosure.demo_reports import seed_demo as seed_reports

        out("")
        seed_disclosure(out)
        seed_reports(out)
        out(f"公开门户 / public portal (no login): {settings.SITE_URL}/open/  开放数据 / open data: /open/data/")

    def _seed_hotline(self, out, seed: int) -> None:
        """12345: a city's 差评 sent out as hotline work orders, their status updates and call-back results
        (hotline/demo.py). Before the seal step, so the case events it writes are sealed with the rest."""
        from haochaping.cases import rollup as case_rollup
        from haochaping.hotline.demo import seed_demo as seed_hotline

        out("")
        seed_hotline(out, seed)
        case_rollup.refresh()  # call-back ratings of the handling move cases: no day figures left pending

    def _seed_exchange(self, out, seed: int, api_key: str) -> None:
        """数据交换: a city running its own installation registered as a subordinate that pushed its month, and a
        file dropped by a business system that can only export files (exchange/demo.py)."""
        from haochaping.exchange.demo import seed_demo as seed_exchange
        from haochaping.exchange.demo import seed_file_drop

        out("")
        seed_exchange(out, seed)
        seed_file_drop(out, api_key, seed)

    def _seed_channels(self, out, api_key: str, seed: int) -> None:
        """Show each rating channel in the demo: window QR codes, a pairing code, a hall's queue-calling morning,
        its 3- and 4-button evaluators, keyed entries, SMS invitations."""
        from haochaping.entry.demo import seed_demo as seed_entries
        from haochaping.evaluator.demo import seed_demo as seed_evaluator
        from haochaping.evaluator.demo import seed_legacy
        from haochaping.messaging.demo import seed_demo as seed_sms
        from haochaping.qrcodes.demo import seed_demo as seed_qrcodes
        from haochaping.qrcodes.models import WindowCode
        from haochaping.queuing.demo import seed_demo as seed_queue

        out("")
        out(f"窗口二维码 / window QR codes: {seed_qrcodes()} 个新建")
        code = WindowCode.objects.filter(revoked_at__isnull=True).select_related("window__hall").order_by("id").first()
        if code is not None:
            out(f"  例 / e.g. {settings.SITE_URL}/q/w/{code.slug}/  评价牌 / sign: /q/w/{code.slug}/sign.pdf")
        seed_evaluator(write=lambda line: out("  " + line))
        seed_queue(lambda line: out("  " + line), seed)
        seed_legacy(lambda line: out("  " + line), seed)
        out(f"热线与纸质评价录入 / keyed entries: {seed_entries()} 条（/entry/，以 handler 登录）")
        invited = seed_sms()
        out(f"短信邀评 / SMS invitations: {len(invited)} 条，在 /sms/console/ 查看并回复（以 admin 或 province 登录）")
        self._seed_widget(out, api_key)

    def _seed_cases(self, out, seed: int) -> None:
        """Cases for the demo's 差评, handled over the past year and open in every state now (cases/demo.py)."""
        from haochaping.cases.demo import seed_demo as seed_cases

        r = seed_cases(seed=seed)
        out("")
        states = "，".join(f"{label} {n:,}" for label, n in r["states"].items())
        out(f"差评工单 / cases: {r['cases']:,} 件（补立案 {r['opened']:,}，{r['seconds']:.1f}s）：{states}")
        outcomes = "，".join(f"{label} {n:,}" for label, n in r["outcomes"].items())
        out(f"  已办结的处理方式 / outcomes of closed cases: {outcomes}")
        s = r["sweep"]
        out(
            f"  督办 / supervision sweep: 超期 {r['overdue']} 件，已督办 {r['escalated']} 件，待复核申诉 "
            f"{r['appeals_pending']} 件；本次提醒 {s['reminded']}，超期提醒 {s['overdue']}，上报 {s['escalated']}，"
            f"反馈期满办结 {s['closed_no_response']}"
        )
        out(f"  {settings.SITE_URL}/cases/ 以 handler 登录：处理中的工单（含超期、临近整改期限）")
        out("  以 dept_admin 登录：待分派工单与超期提醒；以 county_xihu 登录：待复核的申诉")
        out("  以 county_longwan / city_wenzhou / province 登录：督办与统计（/cases/board/）")
        if r["feedback_link"]:
            out(f"  评价人对处理结果的评价页 / the rater's feedback page: {r['feedback_link']}")

    def _seed_insight(self, out, seed: int) -> None:
        """意见挖掘: a planted surge, 12345 complaints, then index, router, problems and alerts (insight/demo.py)."""
        from haochaping.insight.demo import seed_demo as seed_insight

        seed_insight(seed, write=out)

    def _seed_rollups(self, out) -> None:
        """The generator writes ratings around intake (and the case histories set some aside): recompute the
        rollups the dashboards read once, at the end. From here on intake keeps them exact."""
        import time

        from haochaping.analytics.rollups import rebuild

        started = time.perf_counter()
        sizes = rebuild()
        out(f"统计汇总表 / rollups: {sum(sizes.values()):,} 行，{time.perf_counter() - started:.1f}s")

    def _seed_widget(self, out, api_key: str) -> None:
        """Let the demo key's "business system" embed the widget from a local page, and register one 办件 for it."""
        from haochaping.accounts.models import ApiKey
        from haochaping.accounts.scope import scope_for_api_key
        from haochaping.directory.models import ServiceItem
        from haochaping.ratings.codes import CaseStatus
        from haochaping.ratings.services import service_case_register

        key = ApiKey.objects.filter(prefix=api_key.removeprefix("hcp_")[:8]).first()
        item = ServiceItem.objects.filter(online=True, is_active=True).order_by("id").first()
        if key is None or item is None:
            return
        key.allowed_origins = "http://127.0.0.1:8080\nhttp://localhost:8080"
        key.save(update_fields=["allowed_origins"])
        reg = service_case_register(
            scope=scope_for_api_key(key),
            case_no="DEMO-WIDGET-0001",
            item_code=item.implementation_code,
            status=CaseStatus.COMPLETED,
            online=True,
            api_key=key,
        )
        if reg.token:
            out(
                "网上评价组件 / widget: python3 -m http.server 8080 --directory docs/samples，然后打开 / then open "
                f"http://127.0.0.1:8080/widget-host.html?token={reg.token}&site={settings.SITE_URL}"
            )
