"""analytics — 统计分析: metrics, rollups, dashboards, reports, rankings and performance inputs."""
