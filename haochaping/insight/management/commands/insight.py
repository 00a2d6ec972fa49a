"""`haochaping insight …`: comment mining from the command line.

On this installation's data:
  index [--catch-up DAYS]          index the comments that arrived (incremental)
  detect                           detect the concentrated problems of every region (as the daily task)
  alerts                           raise the surge alerts (as the daily task)
On files, for offline work on historical data (e.g. a city's past 12345 work orders):
  train --csv F --text-column C --label-column L [--name N]   train and store a router; prints held-out accuracy
  route --csv F --text-column C [--name N]                     the CSV with predicted label and confidence, to stdout
  problems --csv F --text-column C [--time-column T]           the concentrated problems as JSON, to stdout
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from haochaping.lib.errors import DomainError


class Command(BaseCommand):
    help = "意见挖掘：索引评价文字、发现集中问题、激增预警；从 CSV 训练分派模型、批量分派、发现集中问题"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=CommandParser)
        index = sub.add_parser("index", help="索引新增的评价文字与投诉（增量）")
        index.add_argument("--catch-up", type=int, default=0, metavar="DAYS", help="另补索引最近 DAYS 天遗漏的文字")
        sub.add_parser("detect", help="为各地区发现集中反映问题（同每日任务）")
        sub.add_parser("alerts", help="计算激增预警（同每日任务）")

        def csv_args(p: CommandParser) -> None:
            p.add_argument("--csv", required=True, metavar="FILE", help="CSV 文件（UTF-8 或 GBK，首行为列名）")
            p.add_argument("--text-column", required=True, metavar="C", help="文字所在的列名")

        train = sub.add_parser("train", help="用带标注的 CSV 训练分派模型并保存")
        csv_args(train)
        train.add_argument("--label-column", required=True, metavar="L", help="标注（部门类别）所在的列名")
        train.add_argument("--name", default="default", help="模型名称（default 为在线建议所用）")
        route = sub.add_parser("route", help="为 CSV 每行预测部门类别与置信度，CSV 输出到标准输出")
        csv_args(route)
        route.add_argument("--name", default="default", help="所用模型名称")
        problems = sub.add_parser("problems", help="从 CSV 发现集中反映问题，JSON 输出到标准输出")
        csv_args(problems)
        problems.add_argument("--time-column", metavar="T", help="时间所在的列名（可选，用于走势）")

    def handle(self, *args, action: str, **opts) -> None:
        try:
            getattr(self, f"_{action}")(**opts)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        except (FileNotFoundError, UnicodeDecodeError, ValueError) as exc:
            raise CommandError(str(exc)) from exc

    def _index(self, catch_up: int, **_) -> None:
        from haochaping.insight import index

        found = index.index_new()
        if catch_up:
            late = index.catch_up(days=catch_up)
            found = {k: found.get(k, 0) + late.get(k, 0) for k in {*found, *late}}
        self.stdout.write(f"indexed: ratings {found.get('rating', 0)}, complaints {found.get('complaint', 0)}")

    def _detect(self, **_) -> None:
        from haochaping.insight.problems import detect_all

        self.stdout.write(f"problems: {detect_all()}")

    def _alerts(self, **_) -> None:
        from haochaping.insight.surge import raise_alerts

        self.stdout.write(f"alerts raised: {raise_alerts()}")

    def _train(self, csv: str, text_column: str, label_column: str, name: str, **_) -> None:
        from haochaping.insight.routing import cli_train

        cli_train(csv, text_column=text_column, label_column=label_column, name=name, out=self.stdout)

    def _route(self, csv: str, text_column: str, name: str, **_) -> None:
        from haochaping.insight.routing import cli_route

        cli_route(csv, text_column=text_column, name=name, out=self.stdout)

    def _problems(self, csv: str, text_column: str, time_column: str | None, **_) -> None:
        from haochaping.insight.problems import cli_problems

        cli_problems(csv, text_column=text_column, time_column=time_column, out=self.stdout)
