"""The production WSGI application plus one no-op answered at the fast-path layer (bench only).

``GET/POST /bench/noop`` returns ``{"status":"ok"}`` before Django or the intake code run: what granian and
a WSGI call cost by themselves. Everything else goes to ``haochaping.wsgi.application`` unchanged.
"""

from haochaping.wsgi import application as product

_BODY = b'{"status":"ok"}'
_HEADERS = [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(_BODY)))]


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/bench/noop":
        start_response("200 OK", _HEADERS)
        return [_BODY]
    return product(environ, start_response)
