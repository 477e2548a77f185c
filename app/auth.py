"""Bearer JWTs: verifying and minting tokens, principals and their roles.

The FastAPI dependencies built on these are in `app.routers.dependencies`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt

from app.config import AuthSettings
from app.domain.audit import Actor
from app.errors import NotFound, ServiceError


class Role(StrEnum):
    BUYER = "buyer"
    SELLER = "seller"
    ADMIN = "admin"
    SUPPORT = "support"


class Unauthenticated(ServiceError):
    code = "unauthenticated"
    status = 401
    title = "Authentication required"


class Forbidden(ServiceError):
    code = "forbidden"
    status = 403
    title = "Forbidden"


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str
    roles: frozenset[Role]

    def has_any(self, *roles: Role) -> bool:
        return not self.roles.isdisjoint(roles)

    @property
    def actor(self) -> Actor:
        """This person as the audit log names them: by their strongest role."""
        return Actor.from_roles(self.user_id, self.roles)


def _verification_key(settings: AuthSettings) -> str:
    if settings.jwt_algorithm == "RS256":
        return settings.jwt_public_key or ""
    return settings.jwt_secret.get_secret_value() if settings.jwt_secret else ""


def decode_token(settings: AuthSettings, token: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            _verification_key(settings),
            algorithms=[settings.jwt_algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["sub", "exp"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("the token has expired") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated(f"the token is not valid: {exc}") from exc
    return _principal_from_claims(claims)


def _principal_from_claims(claims: dict[str, Any]) -> Principal:
    subject, raw_roles = claims.get("sub"), claims.get("roles", [])
    if not isinstance(subject, str) or not subject:
        raise Unauthenticated("the token's subject is missing")
    if not isinstance(raw_roles, list) or not all(isinstance(r, str) for r in raw_roles):
        raise Unauthenticated("the token's roles claim must be a list of strings")
    known = {role.value for role in Role}
    return Principal(user_id=subject, roles=frozenset(Role(r) for r in raw_roles if r in known))


def mint_token(
    settings: AuthSettings,
    user_id: str,
    roles: list[Role],
    *,
    private_key: str | None = None,
    lifetime: timedelta = timedelta(hours=12),
) -> str:
    """Sign a token the way the marketplace's auth service does; for local use and tests."""
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": user_id,
        "roles": [str(r) for r in roles],
        "iat": now,
        "exp": now + lifetime,
    }
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    key = private_key if settings.jwt_algorithm == "RS256" else _verification_key(settings)
    if not key:
        raise Unauthenticated("no signing key: RS256 tokens need a private key")
    return jwt.encode(claims, key, algorithm=settings.jwt_algorithm)


def ensure_owner(principal: Principal, owner_id: str, *, staff_roles: tuple[Role, ...] = ()) -> None:
    """A user reaches only their own data; staff roles named by the route may reach anyone's.

    Another user's id answers 404, exactly like an id that does not exist, so it tells nothing.
    """
    if principal.user_id != owner_id and not principal.has_any(*staff_roles):
        raise NotFound(f"no {owner_id}")
