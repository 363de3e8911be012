"""Staff access: accounts with roles, API tokens, and who may do what (viewers read, agents act,
admins manage users, tokens and webhooks)."""

from bot.access.models import ApiToken, Principal, Role, User
from bot.access.service import Access

__all__ = ["Access", "ApiToken", "Principal", "Role", "User"]
