/**
 * Follows the signed-in user's face job updates on `GET /face/events`.
 *
 * Why fetch instead of EventSource: the stream is opened with a single-use ticket, and
 * EventSource's own reconnect would replay the spent ticket and fail. Reading the stream
 * with fetch lets every reconnect ask for a fresh ticket *and* send `Last-Event-ID`, so the
 * server replays what was missed while disconnected. No header carries the access token, so
 * the same URL also works through proxies that only forward the query string.
 *
 * The stream lasts as long as the access token behind its ticket. When that token stops
 * holding, the server sends a last `session_ended` event (`{"error", "detail"}`) and closes:
 * on `token_expired` the access token is refreshed and the stream reopened; on
 * `token_revoked` or `invalid_token` the sign-in is over, so the session ends here too and
 * the route guard sends the person to sign in again.
 */
import { config } from '../../config';
import { ApiError } from '../../api/errors';
import {
  endSession as endSignedInSession,
  getAccessToken as currentAccessToken,
  refreshSession as refreshAccessToken,
} from '../../api/session';
import { parseJobUpdate, type JobUpdate } from './jobs';
import { SseParser } from './sse';

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'stopped';

export interface JobEventHandlers {
  onUpdate: (update: JobUpdate) => void;
  onState: (state: StreamState) => void;
  /** Called each time the stream opens, to catch up on jobs by polling if needed. */
  onOpen?: () => void;
}

export interface JobEventDeps {
  getTicket: () => Promise<string>;
  fetchStream?: typeof fetch;
  /** Silence after which the connection is presumed dead; the server pings more often. */
  idleTimeoutMs?: number;
  retryDelaysMs?: number[];
  /**
   * How long a stream must stay open (unless it delivered an update first) to count as
   * working: one that ends sooner is reopened only after the next retry delay.
   */
  stableAfterMs?: number;
  /** The access token in use now (default: the in-memory session's). */
  getAccessToken?: () => string | null;
  /** A fresh access token, or null when the session is over (default: the session's). */
  refreshSession?: () => Promise<string | null>;
  /** Ends the session after the server said its sign-in is over (default: the session's). */
  endSession?: (reason: ApiError) => void;
}

const DEFAULT_RETRY_DELAYS_MS = [1_000, 2_000, 5_000, 10_000, 30_000];

/** Codes of `session_ended` after which only signing in again helps. */
const SIGN_IN_ENDED = new Set(['token_revoked', 'invalid_token']);

/** How one connection ended, short of an error. */
interface Outcome {
  /** It delivered updates or stayed open long enough: reconnecting at once is safe. */
  progressed: boolean;
  /** The server's `session_ended` event, as the error it stands for. */
  sessionEnded: ApiError | null;
  /** The access token that was current when its ticket was issued. */
  token: string | null;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The `session_ended` event's data as an ApiError (an unreadable one counts as expired). */
function sessionEndedError(data: string): ApiError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    parsed = null;
  }
  const body = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as {
    error?: unknown;
    detail?: unknown;
  };
  return new ApiError({
    status: 401,
    code: typeof body.error === 'string' ? body.error : 'token_expired',
    detail: typeof body.detail === 'string' ? body.detail : '',
  });
}

/** Starts following; returns a function that stops for good. */
export function followJobEvents(handlers: JobEventHandlers, deps: JobEventDeps): () => void {
  const stop = new AbortController();
  const fetchStream = deps.fetchStream ?? ((...args) => fetch(...args));
  const idleTimeoutMs = deps.idleTimeoutMs ?? 45_000;
  const retryDelays = deps.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const stableAfterMs = deps.stableAfterMs ?? 10_000;
  const getAccessToken = deps.getAccessToken ?? currentAccessToken;
  const refreshSession = deps.refreshSession ?? refreshAccessToken;
  const endSession = deps.endSession ?? (() => endSignedInSession('expired'));
  let lastEventId: string | null = null;

  async function readOnce(): Promise<Outcome> {
    const ticket = await deps.getTicket();
    const token = getAccessToken();
    const attempt = new AbortController();
    const abortAttempt = () => attempt.abort();
    stop.signal.addEventListener('abort', abortAttempt);

    let idleTimer: ReturnType<typeof setTimeout> | undefined;
    const stillAlive = () => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(abortAttempt, idleTimeoutMs);
    };

    try {
      const headers: Record<string, string> = { Accept: 'text/event-stream' };
      if (lastEventId) {
        headers['Last-Event-ID'] = lastEventId;
      }
      const url = `${config.apiBaseUrl}/face/events?ticket=${encodeURIComponent(ticket)}`;
      stillAlive();
      const response = await fetchStream(url, {
        headers,
        cache: 'no-store',
        signal: attempt.signal,
      });

      if (response.status === 422 && lastEventId) {
        lastEventId = null; // the server no longer knows where we were: start from now
        return { progressed: true, sessionEnded: null, token };
      }
      if (!response.ok || !response.body) {
        throw new Error(`events stream answered ${response.status}`);
      }

      handlers.onState('live');
      handlers.onOpen?.();
      const openedAt = Date.now();
      let delivered = false;
      const outcome = (sessionEnded: ApiError | null): Outcome => ({
        progressed: delivered || Date.now() - openedAt >= stableAfterMs,
        sessionEnded,
        token,
      });
      const parser = new SseParser();
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();

      for (;;) {
        const { value, done } = await reader.read();
        if (done) {
          return outcome(null);
        }
        stillAlive();
        for (const event of parser.feed(value)) {
          if (event.event === 'session_ended') {
            void reader.cancel().catch(() => undefined); // the server closes it anyway
            return outcome(sessionEndedError(event.data));
          }
          if (event.id) {
            lastEventId = event.id;
          }
          const update = parseJobUpdate(event.data);
          if (update) {
            delivered = true;
            handlers.onUpdate(update);
          }
        }
      }
    } finally {
      clearTimeout(idleTimer);
      stop.signal.removeEventListener('abort', abortAttempt);
    }
  }

  /**
   * After a `session_ended` event: true to reconnect, false when the session is over. The
   * token is renewed only if it is still the one behind the ended stream, since someone
   * else (a 401 elsewhere on the page) may already have replaced it.
   */
  async function recover(ended: ApiError, streamToken: string | null): Promise<boolean> {
    const sameToken = streamToken !== null && getAccessToken() === streamToken;
    if (!sameToken) {
      return true; // the next ticket request checks the token in use now
    }
    if (SIGN_IN_ENDED.has(ended.code)) {
      endSession(ended);
      return false;
    }
    // token_expired (or anything unknown): a silent refresh; null means it was refused.
    return (await refreshSession()) !== null;
  }

  async function run(): Promise<void> {
    handlers.onState('connecting');
    let failures = 0;

    while (!stop.signal.aborted) {
      try {
        const outcome = await readOnce();
        // Streams that keep ending at once (e.g. a token that expires as soon as it is
        // renewed) back off like failures rather than reconnecting in a tight loop.
        failures = outcome.progressed ? 0 : failures + 1;
        if (outcome.sessionEnded && !stop.signal.aborted) {
          if (!(await recover(outcome.sessionEnded, outcome.token))) {
            handlers.onState('stopped'); // the session ended: the route guard signs in again
            return;
          }
        }
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) {
          handlers.onState('stopped'); // the session ended: the page will sign out
          return;
        }
        failures += 1;
      }
      if (stop.signal.aborted) {
        break;
      }
      handlers.onState('reconnecting');
      // A stream that worked and ended is reopened at once; failures back off.
      const delay = failures === 0 ? 0 : retryDelays[Math.min(failures, retryDelays.length) - 1];
      await sleep(delay ?? 30_000, stop.signal);
    }
    handlers.onState('stopped');
  }

  void run();
  return () => stop.abort();
}
