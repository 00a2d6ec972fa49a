"""demo — 演示数据: a deterministic, realistic demo province (directory, users, 办件 and ratings) from a seed."""
