"""accounts — 用户、角色与数据范围: every login belongs to a unit and has one role; API keys for business systems."""
