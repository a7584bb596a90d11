"""One typed settings object, read from the environment and `.env`.

This is the only module that reads the environment. Every optional integration is
switched on by its keys alone; a missing key turns the feature off visibly (see
`Settings.features`), never half-on.

One module on purpose: most of its length is the one flat list of `Settings` fields, meant to be
read (and searched) in one place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from dotenv import load_dotenv

from pixora_ui.errors import PixoraError

WEAK_SECRETS = frozenset({"", "changeme", "change-me", "changethis", "secret", "dev-insecure-secret-change-me"})
DEV_SECRET = "dev-insecure-secret-change-me"  # noqa: S105 - refused outside development


class SettingsError(PixoraError, RuntimeError):
    """Raised when the configuration cannot be used (for example a weak secret in production)."""


def _str(env: dict[str, str], name: str, default: str = "") -> str:
    return env.get(name, default).strip()


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from exc


def _float(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from exc


def _bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _default_local_concurrency() -> int:
    # Inference saturates the cores by itself; more parallel jobs only thrash on small machines.
    return 1 if (os.cpu_count() or 1) <= 4 else 2


def _default_engine_workers() -> int:
    # One warm worker process per two cores: each runs inference on every core it is given.
    return max(1, min(4, (os.cpu_count() or 1) // 2))


@dataclass(frozen=True, kw_only=True, slots=True)
class Feature:
    name: str
    enabled: bool
    reason: str  # why it is off (empty when on)


@dataclass(frozen=True, kw_only=True, slots=True)
class Settings:
    app_env: str = "development"
    host: str = "0.0.0.0"  # noqa: S104 - a server binds to all interfaces by default
    port: int = 8080
    base_url: str = "http://localhost:8080"
    # Proxies whose X-Forwarded-For/-Proto headers are trusted (client address for sign-in limits,
    # https): explicit addresses or networks, never "*" outside development (anyone could forge it).
    forwarded_allow_ips: str = "127.0.0.1"
    data_dir: Path = Path("data")
    models_dir_override: Path | None = None
    database_url: str = ""
    auto_migrate: bool = True
    db_pool_size: int = 5
    db_max_overflow: int = 5
    db_pool_timeout_s: float = 30.0
    db_pool_recycle_s: int = 1800
    db_pgbouncer: bool = False
    session_secret: str = DEV_SECRET
    session_days: int = 30
    bcrypt_rounds: int = 12
    login_max_failures: int = 5
    login_window_minutes: int = 15
    login_address_max_failures: int = 20
    login_account_ceiling: int = 20
    session_max_days: int = 90
    signup_address_max: int = 5
    free_edit_limit: int = 3
    free_monthly_reset: bool = False
    max_upload_mb: int = 25
    max_pixels_mp: float = 50.0
    upscale_max_mp: float = 64.0
    storage_quota_mb: int = 2000
    local_job_concurrency: int = field(default_factory=_default_local_concurrency)
    remote_job_concurrency: int = 4
    job_timeout_s: int = 900
    job_lease_s: int = 30
    engine_workers: int = field(default_factory=_default_engine_workers)
    worker_memory_mb: int = 6144
    worker_warm_models: bool = True
    queue_url: str = ""
    queue_prefix: str = "pixora-"
    gpu_queue: bool = False
    events_url: str = ""
    engine_threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    warm_up_models: bool = True
    jpeg_quality: int = 90
    # Transformation URLs (/ik/…) and converted downloads: disk cache size, computations at once,
    # and how long a request for an AI effect waits before answering 202 "still preparing".
    transform_cache_mb: int = 2048
    transform_concurrency: int = 2
    transform_ai_wait_s: float = 5.0
    log_level: str = "INFO"
    log_json: bool = True
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "Pixora <no-reply@localhost>"
    smtp_starttls: bool = True
    google_client_id: str = ""
    google_client_secret: str = ""
    google_discovery_url: str = "https://accounts.google.com/.well-known/openid-configuration"
    stripe_secret_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_price_pro: str = ""
    stripe_api_base: str = ""
    imagekit_private_key: str = ""
    imagekit_public_key: str = ""
    imagekit_url_endpoint: str = ""
    imagekit_api_base: str = ""
    imagekit_uploads: bool = False
    imagekit_timeout_s: float = 120.0
    gemini_api_key: str = ""
    gemini_image_model: str = "gemini-3.1-flash-image"
    gemini_base_url: str = ""
    gemini_timeout_s: float = 120.0
    provider_preference: str = ""
    api_rate_limit: int = 120

    # --- derived paths -------------------------------------------------------------------
    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def models_dir(self) -> Path:
        return self.models_dir_override or self.data_dir / "models"

    @property
    def transform_cache_dir(self) -> Path:
        return self.data_dir / "transform-cache"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def nicegui_storage_dir(self) -> Path:
        return self.data_dir / "nicegui"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'pixora.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def is_development(self) -> bool:
        return self.app_env in {"development", "test"}

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [part.strip() for part in self.forwarded_allow_ips.split(",") if part.strip()]

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def max_pixels(self) -> int:
        return int(self.max_pixels_mp * 1_000_000)

    # --- optional features ---------------------------------------------------------------
    @property
    def stripe_enabled(self) -> bool:
        return bool(self.stripe_secret_key and self.stripe_webhook_secret and self.stripe_price_pro)

    @property
    def google_enabled(self) -> bool:
        return bool(self.google_client_id and self.google_client_secret)

    @property
    def imagekit_enabled(self) -> bool:
        return bool(self.imagekit_private_key and self.imagekit_public_key and self.imagekit_url_endpoint)

    @property
    def gemini_enabled(self) -> bool:
        return bool(self.gemini_api_key)

    @property
    def smtp_enabled(self) -> bool:
        return bool(self.smtp_host)

    def features(self) -> list[Feature]:
        """Each optional integration, whether it is on and, if not, which keys would switch it on."""
        return [
            Feature(
                name="Stripe payments",
                enabled=self.stripe_enabled,
                reason=""
                if self.stripe_enabled
                else "set STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET and STRIPE_PRICE_PRO",
            ),
            Feature(
                name="Google sign-in",
                enabled=self.google_enabled,
                reason="" if self.google_enabled else "set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET",
            ),
            Feature(
                name="ImageKit",
                enabled=self.imagekit_enabled,
                reason=""
                if self.imagekit_enabled
                else "set IMAGEKIT_PRIVATE_KEY, IMAGEKIT_PUBLIC_KEY and IMAGEKIT_URL_ENDPOINT",
            ),
            Feature(
                name="Gemini",
                enabled=self.gemini_enabled,
                reason="" if self.gemini_enabled else "set GEMINI_API_KEY",
            ),
            Feature(
                name="Email (SMTP)",
                enabled=self.smtp_enabled,
                reason="" if self.smtp_enabled else "set SMTP_HOST; until then mail is written to the outbox folder",
            ),
        ]

    def validate(self) -> None:
        """Refuse configurations that must never serve traffic."""
        if self.app_env not in {"development", "test", "production"}:
            raise SettingsError(f"APP_ENV must be development, test or production, got {self.app_env!r}")
        weak = self.session_secret.lower() in WEAK_SECRETS or len(self.session_secret) < 32
        if weak and not self.is_development:
            raise SettingsError(
                "SESSION_SECRET is missing, a placeholder or shorter than 32 characters; "
                'generate one with: python -c "import secrets; print(secrets.token_urlsafe(48))"'
            )
        if "*" in self.trusted_proxy_list and not self.is_development:
            raise SettingsError(
                'TRUSTED_PROXIES (or FORWARDED_ALLOW_IPS) is "*": anyone could then forge their address. '
                "List the addresses or networks of your proxy instead (see docs/security.md)."
            )
        if self.free_edit_limit < 0:
            raise SettingsError("FREE_EDIT_LIMIT cannot be negative")
        if self.local_job_concurrency < 1 or self.remote_job_concurrency < 1:
            raise SettingsError("job concurrency limits must be at least 1")
        if self.api_rate_limit < 1:
            raise SettingsError("API_RATE_LIMIT must be at least 1 request a minute")

        if self.transform_concurrency < 1 or self.transform_cache_mb < 1:
            raise SettingsError("TRANSFORM_CONCURRENCY and TRANSFORM_CACHE_MB must be at least 1")

        if self.job_lease_s < 2:
            raise SettingsError("JOB_LEASE_S must be at least 2 seconds")
        if self.engine_workers < 0:
            raise SettingsError("ENGINE_WORKERS cannot be negative (0 runs jobs inside the web process)")
        if self.worker_memory_mb < 256:
            raise SettingsError("WORKER_MEMORY_MB must be at least 256")
        if self.queue_url and not self.queue_url.startswith(("redis://", "rediss://", "amqp://", "amqps://")):
            raise SettingsError("QUEUE_URL must be a redis:// or amqp:// URL")
        if self.events_url and not self.events_url.startswith(("redis://", "rediss://")):
            raise SettingsError("EVENTS_URL must be a redis:// URL")

    @property
    def event_bus_url(self) -> str:
        """Redis for job events across processes: EVENTS_URL, or QUEUE_URL when that is Redis."""
        if self.events_url:
            return self.events_url
        return self.queue_url if self.queue_url.startswith(("redis://", "rediss://")) else ""


def _normalise_database_url(url: str) -> str:
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy needs the driver spelled out.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


def load_settings(env: dict[str, str] | None = None, *, dotenv: bool = True) -> Settings:
    """Build settings from `env` (default: the process environment, after loading `.env`)."""
    if env is None:
        if dotenv:
            load_dotenv(Path.cwd() / ".env", override=False)
        env = dict(os.environ)
    e = env
    settings = Settings(
        app_env=_str(e, "APP_ENV", "development").lower(),
        host=_str(e, "HOST", "0.0.0.0"),  # noqa: S104
        port=_int(e, "PORT", 8080),
        base_url=_str(e, "BASE_URL", "http://localhost:8080").rstrip("/"),
        forwarded_allow_ips=_str(e, "TRUSTED_PROXIES", _str(e, "FORWARDED_ALLOW_IPS", "127.0.0.1")),
        data_dir=Path(_str(e, "DATA_DIR", "data")).expanduser().resolve(),
        models_dir_override=Path(e["MODELS_DIR"]).expanduser().resolve() if e.get("MODELS_DIR", "").strip() else None,
        database_url=_normalise_database_url(_str(e, "DATABASE_URL")),
        auto_migrate=_bool(e, "AUTO_MIGRATE", True),
        db_pool_size=_int(e, "DB_POOL_SIZE", 5),
        db_max_overflow=_int(e, "DB_MAX_OVERFLOW", 5),
        db_pool_timeout_s=_float(e, "DB_POOL_TIMEOUT_S", 30.0),
        db_pool_recycle_s=_int(e, "DB_POOL_RECYCLE_S", 1800),
        db_pgbouncer=_bool(e, "DB_PGBOUNCER", False),
        session_secret=_str(e, "SESSION_SECRET", DEV_SECRET),
        session_days=_int(e, "SESSION_DAYS", 30),
        bcrypt_rounds=_int(e, "BCRYPT_ROUNDS", 12),
        login_max_failures=_int(e, "LOGIN_MAX_FAILURES", 5),
        login_window_minutes=_int(e, "LOGIN_WINDOW_MINUTES", 15),
        login_address_max_failures=_int(e, "LOGIN_ADDRESS_MAX_FAILURES", 20),
        login_account_ceiling=_int(e, "LOGIN_ACCOUNT_CEILING", 20),
        session_max_days=_int(e, "SESSION_MAX_DAYS", 90),
        signup_address_max=_int(e, "SIGNUP_ADDRESS_MAX", 5),
        free_edit_limit=_int(e, "FREE_EDIT_LIMIT", 3),
        free_monthly_reset=_bool(e, "FREE_MONTHLY_RESET", False),
        max_upload_mb=_int(e, "MAX_UPLOAD_MB", 25),
        max_pixels_mp=_float(e, "MAX_PIXELS_MP", 50.0),
        upscale_max_mp=_float(e, "UPSCALE_MAX_MP", 64.0),
        storage_quota_mb=_int(e, "STORAGE_QUOTA_MB", 2000),
        local_job_concurrency=_int(e, "LOCAL_JOB_CONCURRENCY", _default_local_concurrency()),
        remote_job_concurrency=_int(e, "REMOTE_JOB_CONCURRENCY", 4),
        job_timeout_s=_int(e, "JOB_TIMEOUT_S", 900),
        job_lease_s=_int(e, "JOB_LEASE_S", 30),
        engine_workers=_int(e, "ENGINE_WORKERS", _default_engine_workers()),
        worker_memory_mb=_int(e, "WORKER_MEMORY_MB", 6144),
        worker_warm_models=_bool(e, "WORKER_WARM_MODELS", True),
        queue_url=_str(e, "QUEUE_URL"),
        queue_prefix=_str(e, "QUEUE_PREFIX", "pixora-"),
        gpu_queue=_bool(e, "GPU_QUEUE", False),
        events_url=_str(e, "EVENTS_URL"),
        engine_threads=_int(e, "ENGINE_THREADS", os.cpu_count() or 1),
        warm_up_models=_bool(e, "WARM_UP_MODELS", True),
        jpeg_quality=_int(e, "JPEG_QUALITY", 90),
        transform_cache_mb=_int(e, "TRANSFORM_CACHE_MB", 2048),
        transform_concurrency=_int(e, "TRANSFORM_CONCURRENCY", 2),
        transform_ai_wait_s=_float(e, "TRANSFORM_AI_WAIT_S", 5.0),
        log_level=_str(e, "LOG_LEVEL", "INFO").upper(),
        log_json=_bool(e, "LOG_JSON", True),
        smtp_host=_str(e, "SMTP_HOST"),
        smtp_port=_int(e, "SMTP_PORT", 587),
        smtp_user=_str(e, "SMTP_USER"),
        smtp_password=_str(e, "SMTP_PASSWORD"),
        smtp_from=_str(e, "SMTP_FROM", "Pixora <no-reply@localhost>"),
        smtp_starttls=_bool(e, "SMTP_STARTTLS", True),
        google_client_id=_str(e, "GOOGLE_CLIENT_ID"),
        google_client_secret=_str(e, "GOOGLE_CLIENT_SECRET"),
        google_discovery_url=_str(
            e, "GOOGLE_DISCOVERY_URL", "https://accounts.google.com/.well-known/openid-configuration"
        ),
        stripe_secret_key=_str(e, "STRIPE_SECRET_KEY"),
        stripe_webhook_secret=_str(e, "STRIPE_WEBHOOK_SECRET"),
        stripe_price_pro=_str(e, "STRIPE_PRICE_PRO"),
        stripe_api_base=_str(e, "STRIPE_API_BASE").rstrip("/"),
        imagekit_private_key=_str(e, "IMAGEKIT_PRIVATE_KEY"),
        imagekit_public_key=_str(e, "IMAGEKIT_PUBLIC_KEY"),
        imagekit_url_endpoint=_str(e, "IMAGEKIT_URL_ENDPOINT").rstrip("/"),
        imagekit_api_base=_str(e, "IMAGEKIT_API_BASE").rstrip("/"),
        imagekit_uploads=_bool(e, "IMAGEKIT_UPLOADS", False),
        imagekit_timeout_s=_float(e, "IMAGEKIT_TIMEOUT_S", 120.0),
        gemini_api_key=_str(e, "GEMINI_API_KEY"),
        gemini_image_model=_str(e, "GEMINI_IMAGE_MODEL", "gemini-3.1-flash-image"),
        gemini_base_url=_str(e, "GEMINI_BASE_URL").rstrip("/"),
        gemini_timeout_s=_float(e, "GEMINI_TIMEOUT_S", 120.0),
        provider_preference=_str(e, "PROVIDER_PREFERENCE"),
        api_rate_limit=_int(e, "API_RATE_LIMIT", 120),
    )
    settings.validate()
    return settings


@cache
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return load_settings()


def reset_settings() -> None:
    """Forget the cached settings so the next `get_settings()` reads the environment again (tests)."""
    get_settings.cache_clear()


def is_user_simulation() -> bool:
    """True while NiceGUI's simulated `user` test fixture runs `main.py`."""
    return "NICEGUI_USER_SIMULATION" in os.environ
