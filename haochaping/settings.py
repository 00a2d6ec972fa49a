"""Django settings. Everything deployment-specific comes from the environment (see docs/configuration.md)."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from haochaping.lib.dburl import database_from_url, sqlite_database
from haochaping.lib.env import envbool, envint, envsecret, envstr

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(envstr("HAOCHAPING_DATA_DIR", str(BASE_DIR.parent / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = envbool("DEBUG", False)
TESTING = "pytest" in sys.modules or envbool("HAOCHAPING_TESTING", False)
DEMO = envbool("HAOCHAPING_DEMO", False)

SECRET_KEY = envsecret("SECRET_KEY")
if not SECRET_KEY:
    if DEBUG or TESTING or DEMO:
        SECRET_KEY = "insecure-development-key-do-not-use-in-production"
    else:
        raise ImproperlyConfigured("SECRET_KEY must be set (or SECRET_KEY_FILE) outside DEBUG/demo/test mode")

# Key material for rater personal data (phone, certificate numbers): Fernet keys, newest first,
# comma-separated, so keys can be rotated (docs/configuration.md). Lookup hashes use a separate HMAC key.
PII_KEYS = [k for k in (envsecret("HAOCHAPING_PII_KEYS") or "").split(",") if k.strip()]
PII_HASH_KEY = envsecret("HAOCHAPING_PII_HASH_KEY") or ""
if not PII_KEYS or not PII_HASH_KEY:
    if DEBUG or TESTING or DEMO:
        PII_KEYS = PII_KEYS or ["hcp-dev-pii-key-0000000000000000000000000000="]
        PII_HASH_KEY = PII_HASH_KEY or "hcp-dev-pii-hash-key"
    else:
        raise ImproperlyConfigured("HAOCHAPING_PII_KEYS and HAOCHAPING_PII_HASH_KEY must be set in production")
# Tamper evidence (docs/tamper-evidence.md): HMAC key of the record seals; retired keys stay listed, comma-separated,
# so seals made with them still verify.
HAOCHAPING_SEAL_KEY = envsecret("HAOCHAPING_SEAL_KEY") or ""
HAOCHAPING_SEAL_OLD_KEYS = [k for k in (envsecret("HAOCHAPING_SEAL_OLD_KEYS") or "").split(",") if k.strip()]
if not HAOCHAPING_SEAL_KEY:
    if DEBUG or TESTING or DEMO:
        HAOCHAPING_SEAL_KEY = "hcp-dev-seal-key:" + SECRET_KEY
    else:
        raise ImproperlyConfigured("HAOCHAPING_SEAL_KEY must be set in production")

# Personal data of ratings, 办件 and cases older than this many months is cleared by the nightly purge
# (`haochaping purge_personal_data`, docs/privacy.md); the records themselves stay. 0 = never purge.
HAOCHAPING_PII_RETENTION_MONTHS = envint("HAOCHAPING_PII_RETENTION_MONTHS", 36)

ALLOWED_HOSTS = [h for h in envstr("ALLOWED_HOSTS", "*" if (DEBUG or DEMO or TESTING) else "").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in envstr("CSRF_TRUSTED_ORIGINS", "").split(",") if o]
SITE_URL = envstr("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "haochaping.directory",
    "haochaping.accounts",
    "haochaping.ratings",
    "haochaping.web",
    "haochaping.evaluator",
    "haochaping.qrcodes",
    "haochaping.entry",
    "haochaping.messaging",
    "haochaping.cases",
    "haochaping.analytics",
    "haochaping.insight",
    "haochaping.disclosure",
    "haochaping.integrity",
    "haochaping.seal",
    "haochaping.audit",
    "haochaping.exchange",
    "haochaping.inspections",
    "haochaping.surveys",
    "haochaping.society",
    "haochaping.queuing",
    "haochaping.hotline",
    "haochaping.demo",
    "huey.contrib.djhuey",
    # Web security (docs/security.md): login throttling, TOTP second factor, Content-Security-Policy.
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "haochaping.lib.abuse.BodySizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "haochaping.web.middleware.IgnoreBrowserLanguageMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "haochaping.audit.services.AuditContextMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "haochaping.accounts.twofactor.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so it sees the outcome of the login views (axes: lockout after repeated failures).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "haochaping.urls"
WSGI_APPLICATION = "haochaping.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "haochaping.disclosure.context.public",
            ],
        },
    },
]

_database_url = envstr("DATABASE_URL")
DATABASES = {
    "default": database_from_url(_database_url, base_dir=BASE_DIR.parent)
    if _database_url
    else sqlite_database(DATA_DIR / "haochaping.sqlite3")
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = envstr("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing directory
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

# --- Web security (docs/security.md) ---
# "Production" is everything that is not DEBUG, tests or the demo: there the secure defaults below apply and
# `manage.py check --deploy` passes with no warning (tests/test_security_deploy.py).
PRODUCTION = not (DEBUG or TESTING or DEMO)
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", PRODUCTION)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", 12 * 3600)
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", SESSION_COOKIE_SECURE)
CSRF_COOKIE_SAMESITE = "Lax"
# Behind a TLS-terminating proxy: SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto (the proxy must overwrite it).
_proxy_ssl_header = envstr("SECURE_PROXY_SSL_HEADER")
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]  # probes and scrapes over plain HTTP
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", PRODUCTION)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"  # token links (/r/<token>/) must not leak to other sites
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"  # the rating widget (ratings/embed.py) is exempt and sets CSP frame-ancestors itself

# Content-Security-Policy (django-csp 4): same-origin only; the few inline <script>/<style> blocks carry the
# per-request nonce ({{ request.csp_nonce }}). ratings/embed.py replaces frame-ancestors per API key.
from csp.constants import NONCE, NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
_csp_report_uri = envstr("CSP_REPORT_URI")
if _csp_report_uri:
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["report-uri"] = [_csp_report_uri]

# Login throttling (django-axes): after AXES_FAILURE_LIMIT failed logins for one username from one address,
# that pair is locked out for the cool-off. The first backend checks the lockout; ModelBackend authenticates.
AUTHENTICATION_BACKENDS = [
    "haochaping.accounts.twofactor.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = envbool("HAOCHAPING_LOGIN_THROTTLE", True)
AXES_VERBOSE = not TESTING  # a line per login in production logs; not hundreds in the test output
AXES_FAILURE_LIMIT = envint("HAOCHAPING_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=envint("HAOCHAPING_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "haochaping.accounts.twofactor.axes_client_ip"
AXES_LOCKOUT_CALLABLE = "haochaping.accounts.twofactor.lockout_response"
AXES_VERBOSE = False

# TOTP second factor (django-otp): optional for every staff account (/account/two-factor/); with this on,
# superusers and system/agency administrators must enrol and verify a code at login before any page.
HAOCHAPING_REQUIRE_2FA_FOR_ADMINS = envbool("HAOCHAPING_REQUIRE_2FA_FOR_ADMINS", False)
OTP_TOTP_ISSUER = envstr("OTP_TOTP_ISSUER", "好差评")

# --- Abuse controls on public endpoints (haochaping/lib/abuse.py, docs/security.md) ---
# Largest form/JSON body Django parses in memory; uploads (evidence files) stream to disk and have their own cap.
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
DATA_UPLOAD_MAX_NUMBER_FIELDS = envint("DATA_UPLOAD_MAX_NUMBER_FIELDS", 2000)
# Per-path body caps (bytes), checked on Content-Length before anything is read: a clear 413.
HAOCHAPING_PUBLIC_BODY_MAX = envint("HAOCHAPING_PUBLIC_BODY_MAX", 64 * 1024)
# Optional captcha: dotted path to a callable(request) -> bool that the public forms call; None = off.
HAOCHAPING_CAPTCHA_VERIFIER = envstr("HAOCHAPING_CAPTCHA_VERIFIER") or None
# Per phone number: ratings and complaints accepted from one phone per hour on the public pages.
HAOCHAPING_PUBLIC_POSTS_PER_PHONE_PER_HOUR = envint("HAOCHAPING_PUBLIC_POSTS_PER_PHONE_PER_HOUR", 10)

# --- 好差评 rules that vary by deployment (regime.md: "make it configurable") ---
# Grade label set: "satisfaction" (非常满意 … 非常不满意) or "quality" (很好 … 很差).
HAOCHAPING_GRADE_LABELS = envstr("HAOCHAPING_GRADE_LABELS", "satisfaction")
if HAOCHAPING_GRADE_LABELS not in ("satisfaction", "quality"):
    raise ImproperlyConfigured("HAOCHAPING_GRADE_LABELS must be 'satisfaction' or 'quality'")
# How long an evaluation token stays valid after registration.
HAOCHAPING_TOKEN_TTL_DAYS = envint("HAOCHAPING_TOKEN_TTL_DAYS", 30)
# Provincial `pf` channel codes 6 and 7 differ between provinces: name the channel each means here.
HAOCHAPING_PF6 = envstr("HAOCHAPING_PF6", "phone")
HAOCHAPING_PF7 = envstr("HAOCHAPING_PF7", "sms")
# Largest batch accepted by POST /api/v1/ratings/batch.
HAOCHAPING_BATCH_MAX = envint("HAOCHAPING_BATCH_MAX", 1000)
# Seconds an authenticated API key is cached in-process; revocation takes effect within this time.
HAOCHAPING_API_KEY_CACHE_SECONDS = envint("HAOCHAPING_API_KEY_CACHE_SECONDS", 5)

NINJA_PAGINATION_MAX_LIMIT = 1000

# LOG_FORMAT=json: one JSON object per line (haochaping/lib/jsonlog.py) for a log collector; plain for people.
LOG_FORMAT = envstr("LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be 'plain' or 'json'")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "haochaping.lib.jsonlog.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Rate-limit counters and other short-lived state. Default: per-process memory; set CACHE_URL=redis://… in
# production so limits hold across processes (django.core.cache.backends.redis).
_cache_url = envstr("CACHE_URL")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}
    if _cache_url.startswith("redis://")
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

# Task queue and scheduler (huey, docs/operations-cases.md): `haochaping worker` runs the periodic case sweep,
# default ratings and SMS invitations. SQLite file under DATA_DIR by default; HAOCHAPING_QUEUE_URL=redis://… in
# production (the `redis` package is installed with the product). Tests run tasks inline (immediate).
_queue_url = envstr("HAOCHAPING_QUEUE_URL")
if _queue_url and not _queue_url.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured("HAOCHAPING_QUEUE_URL must be a redis:// (or rediss://, unix://) URL")
HUEY = {
    "name": "haochaping",
    "huey_class": "huey.RedisHuey" if _queue_url else "huey.SqliteHuey",
    **({"url": _queue_url} if _queue_url else {"filename": str(DATA_DIR / "huey.sqlite3")}),
    "immediate": TESTING,
    # Crontab times in local time: Django sets the process's TZ to TIME_ZONE, so "02:10" means 02:10 Beijing.
    "utc": False,
    "consumer": {"workers": 1, "worker_type": "thread", "periodic": True, "check_worker_health": True},
}

# --- SMS (haochaping.messaging, docs/sms.md) ---
# Gateway backend: "console" (log + store, development), "file" (JSON lines in DATA_DIR/sms-outbox.jsonl) or "http".
HAOCHAPING_SMS_BACKEND = envstr("HAOCHAPING_SMS_BACKEND", "console")
if HAOCHAPING_SMS_BACKEND not in ("console", "file", "http"):
    raise ImproperlyConfigured("HAOCHAPING_SMS_BACKEND must be 'console', 'file' or 'http'")
HAOCHAPING_SMS_URL = envstr("HAOCHAPING_SMS_URL")
if HAOCHAPING_SMS_BACKEND == "http" and not HAOCHAPING_SMS_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured("HAOCHAPING_SMS_BACKEND=http needs HAOCHAPING_SMS_URL (http:// or https://)")
# JSON body posted to the gateway; {phone} and {text} are replaced by the JSON-escaped values.
HAOCHAPING_SMS_TEMPLATE = envstr("HAOCHAPING_SMS_TEMPLATE", '{"phone": "{phone}", "text": "{text}"}')
# Optional header "Name: value" sent with every gateway request (e.g. "Authorization: Bearer …").
HAOCHAPING_SMS_AUTH_HEADER = envsecret("HAOCHAPING_SMS_AUTH_HEADER") or ""
HAOCHAPING_SMS_TIMEOUT = envint("HAOCHAPING_SMS_TIMEOUT", 10)
# Field of the gateway's JSON answer that carries its message id.
HAOCHAPING_SMS_ID_FIELD = envstr("HAOCHAPING_SMS_ID_FIELD", "message_id")
HAOCHAPING_SMS_SIGNATURE = envstr("HAOCHAPING_SMS_SIGNATURE", "【政务服务好差评】")
# Shared secret the gateway sends in the X-Sms-Secret header of inbound replies; empty disables the webhook.
HAOCHAPING_SMS_INBOUND_SECRET = envsecret("HAOCHAPING_SMS_INBOUND_SECRET") or ""
# Reply → grade, explicit in both directions (the GB code list runs the other way): key=grade name, comma-separated.
HAOCHAPING_SMS_REPLY_MAPPING = envstr(
    "HAOCHAPING_SMS_REPLY_MAPPING", "5=very_satisfied,4=satisfied,3=basic,2=dissatisfied,1=very_dissatisfied"
)
HAOCHAPING_SMS_INBOUND_PER_HOUR = envint("HAOCHAPING_SMS_INBOUND_PER_HOUR", 10)
# 智能邀评: invite completed 办件 unrated after this many days; at most this many invitations per phone per day.
HAOCHAPING_INVITE_AFTER_DAYS = envint("HAOCHAPING_INVITE_AFTER_DAYS", 1)
HAOCHAPING_INVITE_PER_PHONE_PER_DAY = envint("HAOCHAPING_INVITE_PER_PHONE_PER_DAY", 3)
# 追评: a follow-up rating is accepted within this many days of the first rating.
HAOCHAPING_FOLLOW_UP_DAYS = envint("HAOCHAPING_FOLLOW_UP_DAYS", 15)
# Seconds without a touch after which the counter evaluator (评价器) returns to its idle screen.
HAOCHAPING_EVALUATOR_IDLE_SECONDS = envint("HAOCHAPING_EVALUATOR_IDLE_SECONDS", 30)

# --- Cases (haochaping.cases, docs/cases.md) ---
# Largest evidence file (photo or PDF) attached to a case; per-IP limits of the public complaint form and the
# rater's feedback page. Deadlines are per-region policy (admin: 差评处理时限规则), not settings.
HAOCHAPING_EVIDENCE_MAX_BYTES = envint("HAOCHAPING_EVIDENCE_MAX_BYTES", 10 * 1024 * 1024)
# 意见箱 (docs/society.md): per-IP limits of the public suggestion form (suggestions filed; posts incl. refused).
HAOCHAPING_SUGGESTIONS_PER_HOUR = envint("HAOCHAPING_SUGGESTIONS_PER_HOUR", 5)
HAOCHAPING_SUGGESTION_POSTS_PER_HOUR = envint("HAOCHAPING_SUGGESTION_POSTS_PER_HOUR", 30)
# 服务调查 (docs/surveys.md): the largest sample one distribution may send; per-IP limits of the respondent's page.
HAOCHAPING_SURVEY_MAX_SAMPLE = envint("HAOCHAPING_SURVEY_MAX_SAMPLE", 5000)
HAOCHAPING_SURVEY_PAGES_PER_HOUR = envint("HAOCHAPING_SURVEY_PAGES_PER_HOUR", 120)
HAOCHAPING_SURVEY_POSTS_PER_HOUR = envint("HAOCHAPING_SURVEY_POSTS_PER_HOUR", 30)
# 排队叫号 (docs/queue-calling.md): how long the QR code printed on a queue ticket lets its holder rate.
HAOCHAPING_QUEUE_TICKET_QR_TTL_HOURS = envint("HAOCHAPING_QUEUE_TICKET_QR_TTL_HOURS", 24)
# 12345热线 (docs/hotline-12345.md): the work-order push's HTTP timeout and its longest backoff, in seconds.
HAOCHAPING_HOTLINE_TIMEOUT = envint("HAOCHAPING_HOTLINE_TIMEOUT", 10)
HAOCHAPING_HOTLINE_BACKOFF_MAX = envint("HAOCHAPING_HOTLINE_BACKOFF_MAX", 600)
# Evaluator push (docs/evaluator-push.md): the address at which kiosks reach the push server's event stream
# (behind nginx: /api/v1/evaluator/device/events; empty: no push, kiosks poll every 2 s), how long a stream
# token lasts, the heartbeat, and how often the push server reads new prompts on SQLite (PostgreSQL: LISTEN).
HAOCHAPING_EVALUATOR_EVENTS_URL = envstr("HAOCHAPING_EVALUATOR_EVENTS_URL", "")
HAOCHAPING_EVALUATOR_STREAM_TTL = envint("HAOCHAPING_EVALUATOR_STREAM_TTL", 3600)
HAOCHAPING_EVALUATOR_STREAM_HEARTBEAT = envint("HAOCHAPING_EVALUATOR_STREAM_HEARTBEAT", 20)
HAOCHAPING_EVALUATOR_TAIL_INTERVAL_MS = envint("HAOCHAPING_EVALUATOR_TAIL_INTERVAL_MS", 200)
# 监督查评 (docs/inspections.md): the largest inspection photo. The inspector's page shrinks big photos in the
# browser first; nginx's body limit for /inspections/ must cover a save with several photos (deploy/nginx).
HAOCHAPING_INSPECTION_PHOTO_MAX_MB = envint("HAOCHAPING_INSPECTION_PHOTO_MAX_MB", 10)
HAOCHAPING_COMPLAINTS_PER_HOUR = envint("HAOCHAPING_COMPLAINTS_PER_HOUR", 5)
HAOCHAPING_COMPLAINT_POSTS_PER_HOUR = envint("HAOCHAPING_COMPLAINT_POSTS_PER_HOUR", 30)
HAOCHAPING_CASE_FEEDBACK_PER_HOUR = envint("HAOCHAPING_CASE_FEEDBACK_PER_HOUR", 120)
HAOCHAPING_CASE_FEEDBACK_POSTS_PER_HOUR = envint("HAOCHAPING_CASE_FEEDBACK_POSTS_PER_HOUR", 20)

# --- Performance inputs: commendation candidates and watchlist (docs/performance-inputs.md) ---
# Shares are in per mille (‰): the environment holds integers. Each can be overridden per page view (GET), within
# bounds. 表扬候选: 好评率 Wilson lower bound ≥ MIN_WILSON on at least MIN_*_RATINGS active ratings in the period,
# 差评率 below MAX_BAD and no overdue case.
HAOCHAPING_COMMEND_MIN_WILSON_PERMILLE = envint("HAOCHAPING_COMMEND_MIN_WILSON_PERMILLE", 950)
HAOCHAPING_COMMEND_MIN_UNIT_RATINGS = envint("HAOCHAPING_COMMEND_MIN_UNIT_RATINGS", 100)
HAOCHAPING_COMMEND_MIN_STAFF_RATINGS = envint("HAOCHAPING_COMMEND_MIN_STAFF_RATINGS", 50)
HAOCHAPING_COMMEND_MAX_BAD_PERMILLE = envint("HAOCHAPING_COMMEND_MAX_BAD_PERMILLE", 20)
# 关注名单: ≥ BAD_PER_MONTH 差评 in each of BAD_MONTHS of the last WINDOW_MONTHS months, or ≥ COMPLAINTS 投诉 in
# those months, or a 差评率 above the scope's by more than RATE_MARGIN on at least MIN_RATINGS active ratings.
HAOCHAPING_WATCHLIST_BAD_PER_MONTH = envint("HAOCHAPING_WATCHLIST_BAD_PER_MONTH", 3)
HAOCHAPING_WATCHLIST_BAD_MONTHS = envint("HAOCHAPING_WATCHLIST_BAD_MONTHS", 2)
HAOCHAPING_WATCHLIST_WINDOW_MONTHS = envint("HAOCHAPING_WATCHLIST_WINDOW_MONTHS", 3)
HAOCHAPING_WATCHLIST_COMPLAINTS = envint("HAOCHAPING_WATCHLIST_COMPLAINTS", 3)
HAOCHAPING_WATCHLIST_RATE_MARGIN_PERMILLE = envint("HAOCHAPING_WATCHLIST_RATE_MARGIN_PERMILLE", 50)
HAOCHAPING_WATCHLIST_MIN_RATINGS = envint("HAOCHAPING_WATCHLIST_MIN_RATINGS", 50)
if not 1 <= HAOCHAPING_WATCHLIST_BAD_MONTHS <= HAOCHAPING_WATCHLIST_WINDOW_MONTHS <= 12:
    raise ImproperlyConfigured("HAOCHAPING_WATCHLIST_BAD_MONTHS ≤ HAOCHAPING_WATCHLIST_WINDOW_MONTHS ≤ 12 are needed")

# --- Integrity signals (haochaping.integrity, docs/integrity-signals.md) ---
# Thresholds of the rules in integrity/rules.py; each is explained in the doc. Shares are in per mille (‰).
HAOCHAPING_SIGNAL_BRUSH_MIN = envint("HAOCHAPING_SIGNAL_BRUSH_MIN", 8)  # 非常满意 from one device/QR code …
HAOCHAPING_SIGNAL_BRUSH_MINUTES = envint("HAOCHAPING_SIGNAL_BRUSH_MINUTES", 10)  # … within this many minutes
HAOCHAPING_SIGNAL_BRUSH_RATIO = envint("HAOCHAPING_SIGNAL_BRUSH_RATIO", 5)  # … and this many times its usual rate
HAOCHAPING_SIGNAL_COERCED_SECONDS = envint("HAOCHAPING_SIGNAL_COERCED_SECONDS", 3)  # rated this fast after shown
HAOCHAPING_SIGNAL_COERCED_RUN = envint("HAOCHAPING_SIGNAL_COERCED_RUN", 8)  # … this many prompts in a row
HAOCHAPING_SIGNAL_DEFAULT_MIN_RATINGS = envint("HAOCHAPING_SIGNAL_DEFAULT_MIN_RATINGS", 200)
HAOCHAPING_SIGNAL_DEFAULT_MARGIN_PERMILLE = envint("HAOCHAPING_SIGNAL_DEFAULT_MARGIN_PERMILLE", 200)
HAOCHAPING_SIGNAL_CAMPAIGN_PHONE_MIN = envint("HAOCHAPING_SIGNAL_CAMPAIGN_PHONE_MIN", 5)  # 差评 from one phone …
HAOCHAPING_SIGNAL_CAMPAIGN_PHONE_HOURS = envint("HAOCHAPING_SIGNAL_CAMPAIGN_PHONE_HOURS", 24)  # … within hours
HAOCHAPING_SIGNAL_CAMPAIGN_CLIENT_MIN = envint("HAOCHAPING_SIGNAL_CAMPAIGN_CLIENT_MIN", 8)  # 差评 from one QR/device
HAOCHAPING_SIGNAL_CAMPAIGN_CLIENT_MINUTES = envint("HAOCHAPING_SIGNAL_CAMPAIGN_CLIENT_MINUTES", 60)
HAOCHAPING_SIGNAL_TEXT_MIN = envint("HAOCHAPING_SIGNAL_TEXT_MIN", 1)  # contradicting ratings of a unit in a day

# --- Comment mining (haochaping.insight, docs/insight.md) ---
# Surge alerts: a word or problem is raised when this week's count is significant against its 8-week baseline
# (one-sided Poisson test at p < HAOCHAPING_SURGE_P_PER_MILLION / 1e6), at least HAOCHAPING_SURGE_MIN comments and
# at least twice the baseline. The p threshold is in per million so it stays an integer setting (default 0.001).
HAOCHAPING_SURGE_P = envint("HAOCHAPING_SURGE_P_PER_MILLION", 1000) / 1_000_000
HAOCHAPING_SURGE_MIN = envint("HAOCHAPING_SURGE_MIN", 8)

# --- Disclosure (haochaping.disclosure, docs/disclosure.md): the public portal and open data ---
# Small-cell suppression: a unit, hall or 事项 with fewer ratings than this in a period is published without figures.
HAOCHAPING_OPEN_DATA_MIN_CELL = envint("HAOCHAPING_OPEN_DATA_MIN_CELL", 10)
# Seconds the public figures are cached (pages, datasets, public API); pages state the time they were computed.
HAOCHAPING_PUBLIC_CACHE_SECONDS = envint("HAOCHAPING_PUBLIC_CACHE_SECONDS", 300)
# Requests per hour and client address: the public API and dataset downloads; the rater's case lookup (guessing).
HAOCHAPING_OPEN_API_PER_HOUR = envint("HAOCHAPING_OPEN_API_PER_HOUR", 1200)
HAOCHAPING_TRACK_PER_HOUR = envint("HAOCHAPING_TRACK_PER_HOUR", 30)
# Licence of the open data (SPDX-style id, shown on /open/data/#licence and in datapackage.json): CC-BY-4.0 (知识共享
# 署名 4.0: users must credit the publishing agency) or CC0-1.0; another id is shown as given.
HAOCHAPING_OPEN_DATA_LICENCE = envstr("HAOCHAPING_OPEN_DATA_LICENCE", "CC-BY-4.0")

# --- Exchange (haochaping.exchange, docs/exchange.md): the superior platform, subordinates, the file drop ---
# The superior platform's base URL (e.g. https://hcp.city.example.gov.cn): set it and every rating, not-adopted
# decision and case outcome is queued in the outbox in its own transaction and pushed by the worker. Empty: this
# installation is the top of its chain and queues nothing (`haochaping exchange backfill` queues the past later).
HAOCHAPING_UPSTREAM_URL = envstr("HAOCHAPING_UPSTREAM_URL").rstrip("/")
# The API key the superior issued to this installation when it registered it as a subordinate platform.
HAOCHAPING_UPSTREAM_KEY = envsecret("HAOCHAPING_UPSTREAM_KEY") or ""
if HAOCHAPING_UPSTREAM_URL and not HAOCHAPING_UPSTREAM_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured("HAOCHAPING_UPSTREAM_URL must be an http:// or https:// URL")
if HAOCHAPING_UPSTREAM_URL and not HAOCHAPING_UPSTREAM_KEY:
    raise ImproperlyConfigured(
        "HAOCHAPING_UPSTREAM_URL needs HAOCHAPING_UPSTREAM_KEY (or HAOCHAPING_UPSTREAM_KEY_FILE)"
    )
# This installation's platform code: the origin stamped on the records it pushes (forwarded records keep theirs).
HAOCHAPING_PLATFORM_CODE = envstr("HAOCHAPING_PLATFORM_CODE", "haochaping")
# Records per pushed batch, HTTP timeout (seconds), and the backoff after failures: 5 s doubling up to the cap.
HAOCHAPING_UPSTREAM_BATCH = envint("HAOCHAPING_UPSTREAM_BATCH", 500)
HAOCHAPING_UPSTREAM_TIMEOUT = envint("HAOCHAPING_UPSTREAM_TIMEOUT", 30)
HAOCHAPING_UPSTREAM_BACKOFF_MAX = envint("HAOCHAPING_UPSTREAM_BACKOFF_MAX", 600)
# Largest batch a subordinate may push (records).
HAOCHAPING_EXCHANGE_BATCH_MAX = envint("HAOCHAPING_EXCHANGE_BATCH_MAX", 2000)
# The file drop: one folder per API key prefix under this directory (docs/file-drop.md).
HAOCHAPING_DROP_DIR = envstr("HAOCHAPING_DROP_DIR", str(DATA_DIR / "drop"))

# --- Operations (docs/deploy.md) ---
import ipaddress as _ipaddress  # noqa: E402


def _cidrs(name: str, default: str) -> list[str]:
    values = [c.strip() for c in envstr(name, default).split(",") if c.strip()]
    for value in values:
        try:
            _ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {value!r} is not an address or CIDR network") from None
    return values


# One access-log line per request (logger haochaping.access: method, path with tokens masked, status, duration,
# address), written by the WSGI wrapper in haochaping/wsgi.py so the rating fast path is logged too.
LOG_REQUESTS = envbool("LOG_REQUESTS", False)
# Reverse proxies whose X-Real-IP header becomes REMOTE_ADDR (comma-separated CIDRs; nginx on the same host:
# 127.0.0.1/32,::1/128). Empty: REMOTE_ADDR stays the connecting address, as without a proxy.
HAOCHAPING_TRUSTED_PROXIES = _cidrs("HAOCHAPING_TRUSTED_PROXIES", "")
# /metrics (Prometheus): answered to these addresses (CIDRs, matched against REMOTE_ADDR) or to a request with
# "Authorization: Bearer <HAOCHAPING_METRICS_TOKEN>" when that is set; everyone else gets 403.
HAOCHAPING_METRICS_ALLOW = _cidrs("HAOCHAPING_METRICS_ALLOW", "127.0.0.1/32,::1/128")
HAOCHAPING_METRICS_TOKEN = envsecret("HAOCHAPING_METRICS_TOKEN") or ""
