"""evaluator — 窗口评价器（一次一评）: paired counter tablets, cases pushed to them, the kiosk page."""
