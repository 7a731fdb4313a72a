"""Login, logout, who am I; users (admins) and personal tokens. Thin: the rules are in
app.accounts.service, the commit at the end of the request."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Cookie, HTTPException, Path, Query, Request, Response, status

from app.accounts import service, throttle
from app.accounts.auth import SESSION_COOKIE, allow, cross_site_reason
from app.accounts.errors import AccountError, LoginFailed
from app.accounts.models import NAME_MAX, ApiToken, User
from app.accounts.permissions import ROLE_PERMISSIONS, Permission, Role
from app.accounts.principal import Principal
from app.accounts.schemas import (
    LoginIn,
    MeOut,
    NewTokenOut,
    TokenIn,
    TokenList,
    TokenOut,
    UserIn,
    UserOut,
    UserPage,
    UserPatch,
)
from app.core.auth import SessionDep
from app.core.models import utcnow
from app.core.schemas import MAX_INT_ID, limit_query, offset_query

router = APIRouter(tags=["accounts"])

UserName = Annotated[str, Path(min_length=1, max_length=NAME_MAX, description="A user's name")]
UserQuery = Query(None, min_length=1, max_length=NAME_MAX,
                  description="Another user's tokens (admins only); default: your own")
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such user"}}
NO_SUCH_OWNER: dict[int | str, dict[str, Any]] = {404: {"description": "No user named ?user="}}
NO_SUCH_TOKEN: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such token of this user, or no user named ?user="}}


def _me(who: Principal, display_name: str | None = None) -> MeOut:
    permissions = sorted(ROLE_PERMISSIONS[who.role] | ({Permission.OPS} if "ops" in who.scopes
                                                       else set()))
    return MeOut(name=who.name, display_name=display_name, role=who.role, via=who.via,
                 token_prefix=who.token_prefix, permissions=permissions)


@router.post("/api/login", response_model=MeOut, dependencies=[allow(Permission.PUBLIC)],
             responses={401: {"description": "Wrong name or password"},
                        429: {"description": "Too many failures: wait Retry-After seconds"}})
def login(body: LoginIn, request: Request, response: Response, session: SessionDep) -> MeOut:
    """Sign in to the page: sets the HttpOnly, SameSite=Strict session cookie `ta_session`.
    Repeated failures for a name from one address are refused for a growing time (429)."""
    reason = cross_site_reason(request)
    if reason is not None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"origin: {reason}")
    address = request.client.host if request.client else None
    throttle.check(body.name, address)
    try:
        user = service.authenticate(session, body.name, body.password)
    except LoginFailed:
        throttle.failed(body.name, address)
        raise
    throttle.succeeded(body.name, address)
    value = service.open_session(session, user, client_address=address,
                                 user_agent=request.headers.get("user-agent"))
    response.set_cookie(SESSION_COOKIE, value, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https",
                        max_age=int(service.SESSION_LIFETIME.total_seconds()))
    return _me(service.principal_of_user(user, "session"), user.display_name)


@router.post("/api/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(who: Annotated[Principal, allow(Permission.READ)], session: SessionDep,
           cookie: Annotated[str | None, Cookie(alias=SESSION_COOKIE, max_length=200)] = None,
           ) -> Response:
    """End the page's session on the server (the cookie stops working everywhere at once)."""
    if cookie:
        service.close_session(session, cookie)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/api/me", response_model=MeOut)
def me(who: Annotated[Principal, allow(Permission.READ)], session: SessionDep) -> MeOut:
    """Who the request acts as, their role and what it may do."""
    user = service.get_user(session, who.name) if who.user_id is not None else None
    return _me(who, user.display_name if user else None)


# --- users (admins) ---------------------------------------------------------------------------

def _user_out(user: User) -> UserOut:
    return UserOut(id=user.id, name=user.name, display_name=user.display_name,
                   role=Role(user.role), disabled=user.disabled,
                   has_password=user.password_hash is not None, created_at=user.created_at,
                   updated_at=user.updated_at)


@router.get("/api/users", response_model=UserPage, dependencies=[allow(Permission.ADMIN)])
def list_users(session: SessionDep, limit: int = limit_query(50, 500),
               offset: int = offset_query()) -> UserPage:
    """Every user, by name."""
    rows, total = service.list_users(session, limit=limit, offset=offset)
    return UserPage(items=[_user_out(u) for u in rows], total=total, limit=limit, offset=offset)


@router.post("/api/users", status_code=status.HTTP_201_CREATED, response_model=UserOut,
             dependencies=[allow(Permission.ADMIN)],
             responses={409: {"description": "The name is taken (names ignore case)"}})
def create_user(body: UserIn, session: SessionDep, response: Response) -> UserOut:
    """A new user; without a password they sign in with tokens an admin makes for them."""
    user = service.create_user(session, body.name, body.role, display_name=body.display_name,
                               password=body.password)
    response.headers["Location"] = f"/api/users/{user.name}"
    return _user_out(user)


@router.get("/api/users/{name}", response_model=UserOut, responses=NOT_FOUND,
            dependencies=[allow(Permission.ADMIN)])
def get_user(name: UserName, session: SessionDep) -> UserOut:
    return _user_out(service.get_user(session, name))


@router.patch("/api/users/{name}", response_model=UserOut, responses=NOT_FOUND,
              dependencies=[allow(Permission.ADMIN)])
def update_user(name: UserName, body: UserPatch, session: SessionDep) -> UserOut:
    """Change a role, display name or password, or disable (sessions and tokens end at once)."""
    changes = service.UserChanges(**body.model_dump(include=body.model_fields_set,
                                                    exclude_none=True))
    return _user_out(service.update_user(session, name, changes))


# --- personal tokens ---------------------------------------------------------------------------

def _token_out(token: ApiToken, user: str) -> dict[str, Any]:
    return dict(id=token.id, user=user, prefix=token.prefix, name=token.name,
                scopes=token.scopes.split(), created_at=token.created_at,
                expires_at=token.expires_at, last_used_at=token.last_used_at,
                revoked_at=token.revoked_at, live=service.is_live(token, utcnow()))


def _owner(session: SessionDep, who: Principal, user: str | None) -> User:
    """Whose tokens: `?user=` (admins only), else the caller's own."""
    if user is not None and user.strip().lower() != who.name.lower():
        if not who.is_admin:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                detail="user: only an admin may manage another user's tokens")
        return service.get_user(session, user, field="user")
    if who.user_id is None:
        raise AccountError.invalid("user", f"{who.name} is a built-in account with no tokens of "
                                   "its own; name a user with ?user=")
    return service.get_user(session, who.name, field="user")


@router.get("/api/tokens", response_model=TokenList, responses=NO_SUCH_OWNER)
def list_tokens(who: Annotated[Principal, allow(Permission.READ)], session: SessionDep,
                user: str | None = UserQuery) -> TokenList:
    """Your tokens (never the tokens themselves: their prefix, name, scopes, expiry, last use)."""
    owner = _owner(session, who, user)
    items = [TokenOut(**_token_out(t, owner.name)) for t in service.tokens_of(session, owner)]
    return TokenList(items=items, total=len(items))


@router.post("/api/tokens", status_code=status.HTTP_201_CREATED, response_model=NewTokenOut,
             responses=NO_SUCH_OWNER)
def create_token(who: Annotated[Principal, allow(Permission.READ)], body: TokenIn,
                 session: SessionDep, response: Response,
                 user: str | None = UserQuery) -> NewTokenOut:
    """A new personal token, shown in this answer only: copy it now. Only admins may give a
    token the `ops` scope."""
    owner = _owner(session, who, user)
    if body.scopes and not who.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            detail="scopes: only an admin may give a token extra scopes")
    token, value = service.create_token(session, owner, body.name, scopes=body.scopes,
                                        expires_in_days=body.expires_in_days)
    session.flush()
    response.headers["Location"] = f"/api/tokens/{token.id}" + (
        f"?user={quote(owner.name)}" if owner.name != who.name else "")
    return NewTokenOut(**_token_out(token, owner.name), token=value)


@router.get("/api/tokens/{token_id}", response_model=TokenOut,
            responses=NO_SUCH_TOKEN)
def get_token(who: Annotated[Principal, allow(Permission.READ)], session: SessionDep,
              token_id: Annotated[int, Path(ge=1, le=MAX_INT_ID)],
              user: str | None = UserQuery) -> TokenOut:
    """One of your tokens (an admin: anyone's, with `?user=`); never its value."""
    owner = _owner(session, who, user)
    return TokenOut(**_token_out(service.token_of(session, owner, token_id), owner.name))


@router.delete("/api/tokens/{token_id}", response_model=TokenOut,
               responses=NO_SUCH_TOKEN)
def revoke_token(who: Annotated[Principal, allow(Permission.READ)], session: SessionDep,
                 token_id: Annotated[int, Path(ge=1, le=MAX_INT_ID)],
                 user: str | None = UserQuery) -> TokenOut:
    """Revoke a token: refused from the very next request."""
    owner = _owner(session, who, user)
    return TokenOut(**_token_out(service.revoke_token(session, owner, token_id), owner.name))
