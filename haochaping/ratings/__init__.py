"""ratings — 评价采集: 办件 registration, evaluation tokens, the evaluation record and every intake channel."""
