"""Every page's address, by name: the one place an address is written.

Routes are added by name (`confer.routing.page`), and every internal link, redirect and JSON
`url` field is built from the same name with `url()`, in Python and in templates (the Jinja
global `url`). A service has no request or application at hand (the CLI and the tests call
services directly), so the table is plain data here rather than read back from a router.
The JSON API's paths are declared beside their routes (confer.routing.api), under `API`.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import quote

# The JSON API's prefix: every /api/v1 route, its OpenAPI path and its links start with it.
API = "/api/v1"

PAGES: dict[str, str] = {
    # Accounts.
    "login": "/login",
    "logout": "/logout",
    "register": "/register",
    "account": "/account",
    "account_profile": "/account/profile",
    "account_language": "/account/language",
    "language": "/language/{code}",
    "account_password": "/account/password",
    "account_tokens": "/account/tokens",
    "account_token_revoke": "/account/tokens/{token_id}/revoke",
    "account_data": "/account/data",
    "account_files": "/account/files",
    "account_delete": "/account/delete",
    "password_reset": "/account/reset",
    "password_reset_link": "/account/reset/{token}",
    "email_sign_in": "/login/email",
    "email_sign_in_link": "/login/email/{token}",
    "dev_outbox": "/dev/outbox",
    # Sign-in with an OpenID Connect provider (confer.sso).
    "sso_start": "/login/sso/{provider}",
    "sso_callback": "/login/sso/{provider}/callback",
    "sso_link": "/account/sso/link",
    "sso_remove": "/account/sso/{identity_id}/remove",
    # Conferences and their programme.
    "home": "/",
    "new_conference": "/admin/conferences/new",
    "create_conference": "/admin/conferences",
    "conference": "/c/{slug}",
    "programme": "/c/{slug}/programme",
    "happening_now": "/c/{slug}/now",
    "speakers": "/c/{slug}/speakers",
    "join": "/c/{slug}/join",
    "manage": "/c/{slug}/manage",
    "publish": "/c/{slug}/manage/publish",
    "add_session": "/c/{slug}/manage/sessions",
    "edit_session": "/c/{slug}/manage/sessions/{session_id}",
    "delete_session": "/c/{slug}/manage/sessions/{session_id}/delete",
    "assign_role": "/c/{slug}/manage/roles",
    # The organiser's console (confer.conferences.console): one page per group of settings.
    "manage_programme": "/c/{slug}/manage/programme",
    "duplicate_session": "/c/{slug}/manage/sessions/{session_id}/duplicate",
    "duplicate_day": "/c/{slug}/manage/programme/duplicate-day",
    "add_sessions": "/c/{slug}/manage/programme/sessions",
    "manage_people": "/c/{slug}/manage/people",
    "manage_registration": "/c/{slug}/manage/registration",
    "manage_moderation": "/c/{slug}/manage/moderation",
    "manage_panels": "/c/{slug}/manage/panels",
    "manage_panel": "/c/{slug}/manage/panels/{session_id}",
    "manage_emails": "/c/{slug}/manage/emails",
    "manage_exports": "/c/{slug}/manage/exports",
    "anonymise": "/c/{slug}/members/{user_id}/anonymise",
    # Threads and posts.
    "session": "/c/{slug}/sessions/{session_id}",
    "create_thread": "/c/{slug}/sessions/{session_id}/threads",
    "thread": "/c/{slug}/threads/{thread_id}",
    "create_post": "/c/{slug}/threads/{thread_id}/posts",
    "post": "/c/{slug}/posts/{post_id}",
    "edit_post": "/c/{slug}/posts/{post_id}/edit",
    "delete_post": "/c/{slug}/posts/{post_id}/delete",
    "undelete_post": "/c/{slug}/posts/{post_id}/undelete",
    # Files (confer.files): papers and slides on sessions, attachments on posts.
    "file": "/c/{slug}/files/{file_id}/{filename}",
    "delete_file": "/c/{slug}/files/{file_id}/delete",
    "session_files": "/c/{slug}/sessions/{session_id}/files",
    "post_files": "/c/{slug}/posts/{post_id}/files",
    "manage_files": "/c/{slug}/manage/files",
    # Moderation.
    "moderation": "/c/{slug}/moderation",
    "flag_post": "/c/{slug}/posts/{post_id}/flag",
    "moderate_post": "/c/{slug}/posts/{post_id}/moderate",
    "resolve_flags": "/c/{slug}/posts/{post_id}/flags/resolve",
    "moderate_thread": "/c/{slug}/threads/{thread_id}/moderate",
    "moderate_member": "/c/{slug}/members/{user_id}/moderate",
    # Panels.
    "panel": "/c/{slug}/panels/{session_id}",
    "ask": "/c/{slug}/panels/{session_id}/questions",
    "vote": "/c/{slug}/panels/{session_id}/questions/{question_id}/vote",
    "question_state": "/c/{slug}/panels/{session_id}/questions/{question_id}/state",
    "answer": "/c/{slug}/panels/{session_id}/questions/{question_id}/answers",
    # Registration and invitations.
    "leave": "/c/{slug}/leave",
    "registrations": "/c/{slug}/members",
    "decide_registration": "/c/{slug}/members/{user_id}/decide",
    "invitations": "/c/{slug}/invitations",
    "resend_invitation": "/c/{slug}/invitations/{invitation_id}/resend",
    "revoke_invitation": "/c/{slug}/invitations/{invitation_id}/revoke",
    "invitation": "/invitations/{token}",
    # Notifications.
    "notifications": "/notifications",
    "notifications_read": "/notifications/read",
    "notification_settings": "/notifications/settings",
    "notification": "/notifications/{notification_id}",
    "follow_thread": "/c/{slug}/threads/{thread_id}/follow",
    # Reminders of starred sessions (confer.calendars.reminders).
    "reminder_settings": "/notifications/reminders",
    "star_reminder": "/c/{slug}/sessions/{session_id}/reminder",
    # Search, exports and reports.
    "search": "/c/{slug}/search",
    "export": "/c/{slug}/export",
    "report": "/c/{slug}/report",
    "report_register": "/c/{slug}/report/register.csv",
    # Calendars: .ics files, stars, "My programme" and the personal feed (secret address).
    "programme_ics": "/c/{slug}/programme.ics",
    "session_ics": "/c/{slug}/sessions/{session_id}/calendar.ics",
    "star_session": "/c/{slug}/sessions/{session_id}/star",
    "my_programme": "/my-programme",
    "my_timezone": "/my-programme/timezone",
    "calendar": "/account/calendar",
    "calendar_scope": "/account/calendar/scope",
    "calendar_revoke": "/account/calendar/revoke",
    "calendar_feed": "/calendar/{token}.ics",
    # The site's administration and the operator's pages (issue #22).
    "site_people": "/admin/people",
    "accessibility": "/accessibility",
    # The JSON API's description, linked from the pages.
    "openapi": API + "/openapi.json",
}


def _part(value: object) -> str:
    if type(value) is int:
        return str(value)
    return _quoted(str(value))


@lru_cache(maxsize=4096)
def _quoted(text: str) -> str:
    """A part percent-encoded; remembered, as pages repeat the same few slugs in every link
    (quote() was most of url()'s time, and a thread page builds a few dozen addresses)."""
    return quote(text, safe="")


def url(name: str, /, **parts: object) -> str:
    """The address of the page `name`, e.g. url("thread", slug="x", thread_id=5) is
    "/c/x/threads/5". A query or fragment is the caller's to append. KeyError: no such page,
    or a part missing."""
    pattern = PAGES[name]
    if not parts:
        return pattern
    return pattern.format_map({k: _part(v) for k, v in parts.items()})
