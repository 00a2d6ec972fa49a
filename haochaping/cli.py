"""The `haochaping` console script: one entry point for every operator task (Django management commands)."""

from __future__ import annotations

import os
import sys

OPERATOR_COMMANDS = [
    ("serve", "迁移数据库、收集静态文件并启动生产服务器（granian）", "migrate, collect static files, start the server"),
    ("pushserver", "启动评价器推送服务（事件流，ASGI）", "start the evaluator push server (event streams)"),
    ("demo", "生成演示省份数据（可指定 --ratings 数量与 --seed）", "generate a demo province (--ratings N, --seed S)"),
    (
        "import_directory",
        "从 CSV/Excel 批量导入目录（--dry-run 只检查不写入）",
        "bulk-import the directory from CSV/Excel (--dry-run checks only)",
    ),
    (
        "export_directory_template",
        "生成目录导入模板（.xlsx 含全部工作表和示例行）",
        "write the directory import template (.xlsx, every sheet, example rows)",
    ),
    (
        "export_ratings",
        "按 GB/T 39046 表9 或省级接口格式导出评价",
        "export ratings as GB/T 39046 table 9 or provincial",
    ),
    ("import_ratings", "导入 GB/T 39046 或省级接口格式的评价", "import ratings in GB/T 39046 or provincial shape"),
    ("create_api_key", "为调用系统创建接口密钥（限定单位或区划）", "create an API key scoped to a unit or region"),
    ("revoke_api_key", "吊销接口密钥", "revoke an API key"),
    ("migrate", "创建或升级数据库结构", "create or upgrade the database schema"),
    ("createsuperuser", "创建系统管理员账号", "create a system administrator"),
    ("send_invitations", "短信邀评：办结后未评价的办件（--days --limit --dry-run）", "SMS invitations, unrated 办件"),
    ("import_paper_forms", "批量导入纸质评价表（--user 录入人，--dry-run 只检查）", "import paper forms"),
    ("window_qrcodes", "生成窗口评价二维码并输出评价牌 PDF（--hall --reset --pdf）", "window QR codes and signs"),
    (
        "sweep_default_ratings",
        "超期未评办件按区划规则记录默认评价（--dry-run --limit）",
        "record default ratings, overdue 办件",
    ),
    (
        "worker",
        "运行后台任务与定时任务：差评工单督办（每15分钟）、默认评价、短信邀评",
        "run the task worker/scheduler: case sweep, default ratings, SMS invitations",
    ),
    ("sweep_cases", "立即执行一次差评工单督办（临期提醒、超期督办、反馈期满办结）", "one case supervision sweep now"),
    ("open_cases", "为尚无工单的差评补立案", "open the missing cases of stored 差评"),
    ("rollups", "统计汇总表：verify 核对、rebuild 重算", "rollups: verify against the ratings, or rebuild them"),
    (
        "insight",
        "意见挖掘：index 索引、detect 集中问题、alerts 激增预警、train/route 分派模型、problems 从 CSV 发现问题",
        "comment mining: index, detect, alerts; train/route a router and find problems in a CSV",
    ),
    (
        "exchange",
        "数据交换：status 上报状态、push 立即上报、backfill 补入待上报、register 登记下级平台、retry 重发拒收记录",
        "exchange: status, push now, backfill the outbox, register a subordinate platform, retry refused records",
    ),
    (
        "filedrop",
        "文件投递：enable 为接口密钥开通投递目录、scan 立即处理、status 查看",
        "file drop: enable, scan, status",
    ),
    ("partitions", "PostgreSQL 评价表按月分区：status 查看、ensure 预建分区", "monthly rating partitions"),
    ("backup", "备份数据库（SQLite 在线备份 / PostgreSQL pg_dump）", "back up the database"),
    ("restore", "从备份恢复数据库并校验防篡改链", "restore a backup and verify the chain"),
    (
        "copy_database",
        "把 SQLite 演示库复制到 PostgreSQL（--source sqlite:///…）",
        "copy a SQLite database to PostgreSQL",
    ),
    ("report", "生成定期报告草稿（--kind monthly --region 代码 --period 2026-10）", "generate a periodic report"),
]

HELP = """haochaping — 政务服务“好差评”平台命令行 / the 好差评 platform's command line

用法 / usage:  haochaping <命令 command> [选项 options]
             haochaping <命令 command> --help    查看命令选项 / options of one command

常用命令 / operator commands:
{commands}

其他 Django 管理命令也可使用（haochaping help --all）/ all Django management commands also work.
环境变量 / environment: DATABASE_URL, SECRET_KEY, HAOCHAPING_DATA_DIR … （见 docs/configuration.md）
"""


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haochaping.settings")
    if len(argv) < 2 or argv[1] in ("-h", "--help", "help") and len(argv) == 2:
        width = max(18, *(len(name) for name, _, _ in OPERATOR_COMMANDS))
        lines = "\n".join(f"  {name:<{width}} {zh}\n  {'':<{width}} {en}" for name, zh, en in OPERATOR_COMMANDS)
        print(HELP.format(commands=lines))
        return
    if argv[1:3] == ["help", "--all"]:
        argv = [argv[0], "help"]
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
