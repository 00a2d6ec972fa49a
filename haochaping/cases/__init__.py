"""cases — 差评与投诉闭环处理: every 差评 and 投诉 routed, called back, verified, resolved and fed back."""
