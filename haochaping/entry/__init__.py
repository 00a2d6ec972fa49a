"""entry — 热线与纸质评价录入: staff keying of hotline satisfaction calls and paper forms, batch import."""
