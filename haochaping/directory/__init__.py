"""directory — 组织机构与事项目录: regions, organisations, halls, windows, staff, service items, platforms."""
