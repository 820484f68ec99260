"""The application factory: settings, blueprints, and the database engine tied to the serving lifespan."""

from __future__ import annotations

import logging
import time

from quart import Quart, g, jsonify, request
from quart_schema import Info, QuartSchema, RequestSchemaValidationError
from werkzeug.exceptions import HTTPException

from coserver import __version__
from coserver.config import Settings, load_settings
from coserver.db import Database
from coserver.services.errors import ServiceError
from coserver.state import EXTENSION_KEY, AppState
from federation.asgi import try_inbox
from federation.http import make_client

log = logging.getLogger(__name__)


class CoserverApp(Quart):
    """Quart, with inbox POSTs answered by a lean ASGI path (``federation.asgi``) first."""

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[override]
        if scope.get("type") == "http" and await try_inbox(self, scope, receive, send):
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None) -> Quart:
    """Build a Quart app. ``settings.database_url`` must be set (``coserver serve`` resolves it)."""
    settings = settings or load_settings()
    app = CoserverApp(
        "coserver", static_folder="web/static", static_url_path="/static", template_folder="web/templates"
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        JSON_SORT_KEYS=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.scheme == "https",
        SESSION_COOKIE_NAME="co_flash",  # Quart's signed cookie: flash messages only; logins are in the DB
    )
    state = AppState(settings=settings)
    app.extensions[EXTENSION_KEY] = state

    QuartSchema(
        app,
        info=Info(title="coserver API", version=__version__),
        openapi_path="/openapi.json",
        swagger_ui_path="/api/docs",
        redoc_ui_path=None,
        scalar_ui_path=None,
        convert_casing=False,
    )

    from coserver.api import blueprint as api_blueprint
    from coserver.web import blueprint as web_blueprint
    from coserver.web import i18n
    from federation.routes import blueprint as federation_blueprint
    from webfinger.routes import blueprint as webfinger_blueprint

    i18n.install(app)
    app.register_blueprint(web_blueprint)
    app.register_blueprint(api_blueprint, url_prefix="/api/v1")
    app.register_blueprint(federation_blueprint)
    app.register_blueprint(webfinger_blueprint)
    _register_error_handlers(app)

    @app.before_serving
    async def _open_database() -> None:
        if not settings.database_url:
            raise RuntimeError("create_app() needs settings.database_url (use coserver serve)")
        state.db = Database(settings.database_url)
        state.http = make_client(settings)

    @app.after_serving
    async def _close_database() -> None:
        if state.http is not None:
            await state.http.aclose()
            state.http = None
        if state.db is not None:
            await state.db.dispose()
            state.db = None

    @app.before_request
    async def _start_clock() -> None:
        g.started = time.perf_counter()

    @app.after_request
    async def _security_headers(response):
        started = g.get("started")
        if started is not None:  # what the page cost the server (benchmarks.pages reads it)
            response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if response.mimetype == "text/html":
            response.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data: https:; style-src 'self'; script-src 'self'; "
                "frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
            )
            response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    return app


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _register_error_handlers(app: Quart) -> None:
    @app.errorhandler(ServiceError)
    async def _service_error(exc: ServiceError):
        body = {"error": exc.message}
        if exc.field:
            body["field"] = exc.field
        return jsonify(body), exc.status

    @app.errorhandler(RequestSchemaValidationError)
    async def _schema_error(exc: RequestSchemaValidationError):
        errors = getattr(exc.validation_error, "errors", None)
        detail = errors() if callable(errors) else str(exc.validation_error)
        return jsonify({"error": "invalid request", "detail": detail}), 400

    @app.errorhandler(HTTPException)
    async def _http_error(exc: HTTPException):
        if _wants_json():
            return jsonify({"error": exc.description or exc.name}), exc.code or 500
        if request.blueprint == "web" and (exc.code or 500) >= 400:
            from coserver.web.errors import error_page

            return await error_page(exc)
        return exc

    @app.errorhandler(Exception)
    async def _unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        if _wants_json():
            return jsonify({"error": "internal error"}), 500
        return "Internal error", 500
