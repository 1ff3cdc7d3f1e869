"""The sign-in interface the dashboard uses, in one place: who is asking, and the CSRF
field every form carries. Sessions, roles and the CSRF check live in `opsbook.web.auth`;
`page_user` refuses a cookie-authenticated POST without the session's token before a
route runs."""

from __future__ import annotations

from opsbook.web.auth import Principal, csrf_field, page_user

__all__ = ["Principal", "csrf_field", "page_user"]
