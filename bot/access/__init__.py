"""Staff access: accounts with roles, API tokens, and who may do what (viewers read, agents act,
admins manage users, tokens and webhooks). The service is `bot.access.service.Access`."""

from bot.access.models import ApiToken, Principal, Role, User

__all__ = ["ApiToken", "Principal", "Role", "User"]
