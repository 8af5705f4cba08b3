/** Checks on what arrives in URLs: tokens from mailed links and the `next` page. */

const JWT_SHAPE = /^[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}$/;
const MAX_TOKEN_LENGTH = 4096;

/** True when a route token looks like a signed JWT (three base64url parts). */
export function isTokenShaped(token: string | undefined): token is string {
  return token !== undefined && token.length <= MAX_TOKEN_LENGTH && JWT_SHAPE.test(token);
}

export const DEFAULT_PAGE = '/dashboard';

/** The page to return to after sign-in; only paths on this site, never another origin. */
export function safeNextPath(next: string | null | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) {
    return DEFAULT_PAGE;
  }
  return next;
}

/** `/login?next=...` for a page, leaving slashes readable. */
export function loginPathFor(page: string): string {
  return `/login?next=${encodeURIComponent(page).replace(/%2F/gi, '/')}`;
}
