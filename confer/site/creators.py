"""Who may create conferences: site administrators always, and the users they allow
(`users.can_create_conferences`, migrations/0036). Only a site administrator changes it
(policy "site.people"); confer.conferences.service.create_conference asks policy
"conference.create". Never grants anything on a conference itself.
"""

from __future__ import annotations

import asyncpg

from confer import policy
from confer.accounts import queries as accounts_q
from confer.context import Ctx
from confer.errors import Invalid
from confer.i18n import _
from confer.policy import Actor
from confer.validate import Fields


def _require_admin(actor: Actor) -> None:
    policy.site_require(
        actor, "site.people", _("Only site administrators can choose who creates conferences.")
    )


async def list_creators(ctx: Ctx, actor: Actor) -> list[asyncpg.Record]:
    _require_admin(actor)
    return await accounts_q.list_conference_creators(ctx.pool)


async def set_creator(ctx: Ctx, actor: Actor, data: dict[str, object]) -> asyncpg.Record:
    """Allow (`allowed` "yes") or stop (anything else) the account with `email` creating
    conferences. Returns the account (id, name, email)."""
    _require_admin(actor)
    f = Fields()
    email = f.email("email", data.get("email"))
    f.raise_if_any()
    allowed = data.get("allowed") == "yes"
    row = await accounts_q.set_can_create_conferences(ctx.pool, email, allowed)
    if row is None:
        raise Invalid(
            fields={
                "email": _(
                    "There is no account with the address %(email)s: they need to create one first"
                )
                % {"email": email}
            }
        )
    return row
