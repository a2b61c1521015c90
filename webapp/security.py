"""Headers on every response: what the browser may load and run, and who may frame the app.

No inline script or style anywhere (the one inline <script> is JSON data, which is not run), so
the policy needs neither 'unsafe-inline' nor 'unsafe-eval'; htmx is told not to eval, not to
run scripts it swaps in, not to inject its indicator styles and not to keep pages in its
history cache (templates/base.html, meta htmx-config)."""

from __future__ import annotations

from flask import Flask, request

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob:",  # a photo not yet sent is shown from the phone's own storage
        "media-src 'self' blob:",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Same-origin requests keep their Referer, which Flask-WTF checks on HTTPS posts.
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(self), geolocation=(self), microphone=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"


def install(app: Flask) -> None:
    @app.after_request
    def _security_headers(response):
        if response.status_code == 304:  # "not changed": nothing is rendered from it
            return response
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.is_secure:  # only over HTTPS: a browser ignores it otherwise, and so must we
            response.headers["Strict-Transport-Security"] = HSTS
        return response
