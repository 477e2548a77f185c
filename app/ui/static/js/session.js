// The signed-in user's token, kept in sessionStorage: it lasts as long as the tab and is sent
// only to this service. Its claims are read for display (who is signed in, which pages to offer);
// the service verifies the token on every call and alone decides what it allows.

const TOKEN_KEY = 'payments.token';

export function signIn(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
}

export function currentToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** `{token, user, roles, expiresAt}` of the stored token, or null when none is stored. */
export function currentSession() {
  const token = currentToken();
  if (!token) return null;
  const claims = claimsOf(token) ?? {};
  return {
    token,
    user: typeof claims.sub === 'string' ? claims.sub : '(unknown user)',
    roles: Array.isArray(claims.roles) ? claims.roles.filter((role) => typeof role === 'string') : [],
    expiresAt: Number.isFinite(claims.exp) ? new Date(claims.exp * 1000) : null,
  };
}

export function hasAnyRole(session, roles) {
  return session !== null && roles.some((role) => session.roles.includes(role));
}

/** The payload of a JWT (`header.payload.signature`), unverified; null when it is not one. */
export function claimsOf(token) {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const base64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '=')), (c) =>
      c.charCodeAt(0),
    );
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return claims !== null && typeof claims === 'object' ? claims : null;
  } catch {
    return null;
  }
}
