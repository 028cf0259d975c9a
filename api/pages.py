"""The browser pages, served only to signed-in users.

HTML pages need a valid session cookie; without one the browser is sent to the sign-in page,
which comes back to the page asked for. Scripts, styles and the sign-in page itself are public:
they hold no data (the data comes from the API, which checks every request on its own).

A wall screen (kiosk) has no keyboard: its URL may carry ``token=API_TOKEN`` once; the token
opens a session for its user (lasting as long as the token), the cookie is set and the browser
is sent to the same URL without the token (so it is not left in the address bar or history).
Only a navigation the browser started itself (typed, bookmarked, the kiosk's start URL:
``Sec-Fetch-Site: none``) or one from this site may do that: a link on another site cannot sign
a browser in as someone else.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

import anyio
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from api.auth import SESSION_COOKIE, client_address, set_session_cookies
from api.state import AppState

SIGN_IN_PAGE = "login.html"
PREFIX = "/wall/"


def _is_page(path: str) -> bool:
    return path in ("", ".") or path.endswith((".html", "/"))


class SignedInPages(StaticFiles):
    """``StaticFiles`` whose HTML pages (but the sign-in page) need a signed-in user."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if not _is_page(path) or path == SIGN_IN_PAGE:
            response = await super().get_response(path, scope)
            if path == SIGN_IN_PAGE:
                response.headers["Cache-Control"] = "no-store"
            return response
        request = Request(scope)
        state: AppState = scope["app"].state.casewatch
        page = PREFIX + ("" if path == "." else path)
        secure = request.url.scheme == "https"
        token = request.query_params.get("token")
        if token and request.headers.get("sec-fetch-site", "none") not in ("none", "same-origin"):
            # a link from another site must not sign this browser in as the token's user
            return self._to_sign_in(page, error="token")
        if token:
            signed = await anyio.to_thread.run_sync(
                lambda: state.access.kiosk_sign_in(
                    token,
                    address=client_address(request),
                    user_agent=request.headers.get("user-agent", ""),
                )
            )
            rest = urlencode(
                [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            )
            here = page + (f"?{rest}" if rest else "")
            if signed is None:
                return self._to_sign_in(here, error="token")
            response = RedirectResponse(here, status_code=303)
            assert signed.principal.csrf is not None
            set_session_cookies(response, signed.secret, signed.principal.csrf, secure=secure)
            return response
        secret = request.cookies.get(SESSION_COOKIE)
        principal = (
            await anyio.to_thread.run_sync(state.access.from_session, secret) if secret else None
        )
        if principal is None:
            query = request.url.query
            return self._to_sign_in(page + (f"?{query}" if query else ""))
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = "no-store"
        return response

    @staticmethod
    def _to_sign_in(back_to: str, *, error: str | None = None) -> RedirectResponse:
        query = f"next={quote(back_to, safe='')}" + (f"&error={error}" if error else "")
        return RedirectResponse(f"{PREFIX}{SIGN_IN_PAGE}?{query}", status_code=303)
