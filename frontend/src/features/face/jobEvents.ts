/**
 * Follows the signed-in user's face job updates on `GET /face/events`.
 *
 * Why fetch instead of EventSource: the stream is opened with a single-use ticket, and
 * EventSource's own reconnect would replay the spent ticket and fail. Reading the stream
 * with fetch lets every reconnect ask for a fresh ticket *and* send `Last-Event-ID`, so the
 * server replays what was missed while disconnected. No header carries the access token, so
 * the same URL also works through proxies that only forward the query string.
 */
import { config } from '../../config';
import { ApiError } from '../../api/errors';
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
}

const DEFAULT_RETRY_DELAYS_MS = [1_000, 2_000, 5_000, 10_000, 30_000];

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Starts following; returns a function that stops for good. */
export function followJobEvents(handlers: JobEventHandlers, deps: JobEventDeps): () => void {
  const stop = new AbortController();
  const fetchStream = deps.fetchStream ?? ((...args) => fetch(...args));
  const idleTimeoutMs = deps.idleTimeoutMs ?? 45_000;
  const retryDelays = deps.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  let lastEventId: string | null = null;

  async function readOnce(): Promise<void> {
    const ticket = await deps.getTicket();
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
        return;
      }
      if (!response.ok || !response.body) {
        throw new Error(`events stream answered ${response.status}`);
      }

      handlers.onState('live');
      handlers.onOpen?.();
      const parser = new SseParser();
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();

      for (;;) {
        const { value, done } = await reader.read();
        if (done) {
          return;
        }
        stillAlive();
        for (const event of parser.feed(value)) {
          if (event.id) {
            lastEventId = event.id;
          }
          const update = parseJobUpdate(event.data);
          if (update) {
            handlers.onUpdate(update);
          }
        }
      }
    } finally {
      clearTimeout(idleTimer);
      stop.signal.removeEventListener('abort', abortAttempt);
    }
  }

  async function run(): Promise<void> {
    handlers.onState('connecting');
    let failures = 0;

    while (!stop.signal.aborted) {
      try {
        await readOnce();
        failures = 0;
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
      // A stream the server closed cleanly is reopened at once; failures back off.
      const delay = failures === 0 ? 0 : retryDelays[Math.min(failures, retryDelays.length) - 1];
      await sleep(delay ?? 30_000, stop.signal);
    }
    handlers.onState('stopped');
  }

  void run();
  return () => stop.abort();
}
