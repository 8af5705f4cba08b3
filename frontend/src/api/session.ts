/**
 * The signed-in session, kept in memory only.
 *
 * The access token lives in this module and nowhere else (no storage, no cookie readable by
 * scripts). The refresh token is an httpOnly cookie scoped to /auth that only the browser
 * sends; `refreshSession()` trades it for a new access token, which is how a reload restores
 * the session and how an expired access token is replaced.
 */
import { config } from '../config';

export type SessionStatus = 'restoring' | 'signed-in' | 'signed-out';

/** Why a session ended: the person signed out, or the server stopped accepting it. */
export type SessionEnd = 'signed-out' | 'expired';

export interface SessionState {
  status: SessionStatus;
  accessToken: string | null;
  ended: SessionEnd | null;
}

let state: SessionState = { status: 'restoring', accessToken: null, ended: null };
let pendingRefresh: Promise<string | null> | null = null;
const listeners = new Set<() => void>();

function setState(next: SessionState): void {
  state = next;
  listeners.forEach((listener) => listener());
}

export function subscribeSession(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function getSession(): SessionState {
  return state;
}

export function getAccessToken(): string | null {
  return state.accessToken;
}

export function startSession(accessToken: string): void {
  setState({ status: 'signed-in', accessToken, ended: null });
}

export function endSession(ended: SessionEnd = 'expired'): void {
  const wasSignedIn = state.status === 'signed-in';
  setState({ status: 'signed-out', accessToken: null, ended: wasSignedIn ? ended : null });
}

async function requestNewAccessToken(): Promise<string | null> {
  const response = await fetch(`${config.apiBaseUrl}/auth/refresh`, {
    method: 'POST',
    credentials: 'include',
    headers: { Accept: 'application/json' },
  });

  if (response.status === 401 || response.status === 403) {
    endSession();
    return null;
  }
  if (!response.ok) {
    throw new Error(`refresh answered ${response.status}`);
  }

  const body = (await response.json()) as { access_token: string };
  startSession(body.access_token);
  return body.access_token;
}

/**
 * A fresh access token from the refresh cookie, or null when the session has ended.
 * Concurrent callers share one request, since the server rotates the cookie on every use
 * and would treat a second use of the old one as theft. Network failures throw.
 */
export function refreshSession(): Promise<string | null> {
  pendingRefresh ??= requestNewAccessToken().finally(() => {
    pendingRefresh = null;
  });
  return pendingRefresh;
}

/** On start-up: sign in silently from the refresh cookie, or settle on signed out. */
export async function restoreSession(): Promise<void> {
  try {
    await refreshSession();
  } catch {
    endSession();
  }
}

/** Test helper: back to the state of a freshly loaded page. */
export function resetSessionForTests(): void {
  pendingRefresh = null;
  state = { status: 'restoring', accessToken: null, ended: null };
  listeners.clear();
}
