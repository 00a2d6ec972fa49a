"""信息公开 (disclosure): the public portal, the publication of rectifications, the rater's case lookup and open data.

以公开为常态、不公开为例外 (regime §2.11): figures per region, department, hall and 事项 with the internal metric
definitions; moderated rectifications; monthly open datasets with small cells suppressed; a read-only public API.
Nothing here needs a login except moderation (the management agency).
"""
