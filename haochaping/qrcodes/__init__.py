"""qrcodes — 二维码评价: a static code per window, single-use codes per 办件, printable window signs."""
