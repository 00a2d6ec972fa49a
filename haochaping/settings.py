"""Django settings. Everything deployment-specific comes from the environment (see docs/configuration.md)."""

from __future__ import annotations

import sys
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
    "haochaping.demo",
    "huey.contrib.djhuey",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "haochaping.web.middleware.IgnoreBrowserLanguageMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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

SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
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
