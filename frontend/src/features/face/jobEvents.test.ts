import { ApiError } from '../../api/errors';
import { getSession, startSession } from '../../api/session';
import { callsTo, calls, mockApi } from '../../test/fetchMock';
import { createEventsTicket } from './api';
import { followJobEvents, type StreamState } from './jobEvents';
import type { JobUpdate } from './jobs';

function streamOf(text: string): Response {
  const bytes = new TextEncoder().encode(text);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
  return new Response(body, {
    headers: { 'Content-Type': 'text/event-stream' },
  });
}

/** A stream that stays open without a word, like a quiet server. */
function openStream(): Response {
  return new Response(new ReadableStream<Uint8Array>(), {
    headers: { 'Content-Type': 'text/event-stream' },
  });
}

function sessionEnded(error: string): string {
  return `event: session_ended\ndata: {"error": "${error}", "detail": "server detail"}\n\n`;
}

const tokens = {
  refresh_token: 'r',
  token_type: 'bearer',
  expires_in: 900,
};

const running = '{"job_id":"j1","purpose":"verify","status":"running"}';
const done = '{"job_id":"j1","purpose":"verify","status":"done","verified":true}';

describe('followJobEvents', () => {
  it('reconnects with a fresh ticket and the last event id', async () => {
    const tickets = ['t1', 't2'];
    const requests: { url: string; lastEventId: string | null }[] = [];
    const bodies = [
      `id: 5-0\nevent: running\ndata: ${running}\n\n`,
      `id: 6-0\nevent: done\ndata: ${done}\n\n`,
    ];
    const updates: JobUpdate[] = [];
    const states: StreamState[] = [];

    const stop = followJobEvents(
      { onUpdate: (update) => updates.push(update), onState: (state) => states.push(state) },
      {
        getTicket: async () => tickets.shift() ?? 'spare',
        fetchStream: async (url, init) => {
          const headers = new Headers(init?.headers);
          requests.push({ url: String(url), lastEventId: headers.get('Last-Event-ID') });
          const body = bodies.shift();
          return body ? streamOf(body) : new Promise<Response>(() => undefined);
        },
        retryDelaysMs: [1],
      },
    );

    await vi.waitFor(() => expect(updates).toHaveLength(2));
    stop();

    expect(updates.map((update) => update.status)).toEqual(['running', 'done']);
    expect(requests[0]).toEqual({
      url: expect.stringContaining('/face/events?ticket=t1'),
      lastEventId: null,
    });
    expect(requests[1]).toEqual({ url: expect.stringContaining('ticket=t2'), lastEventId: '5-0' });
    expect(states).toContain('reconnecting');
  });

  it('backs off after a failed connection and stops when the session ended', async () => {
    let attempts = 0;
    const states: StreamState[] = [];

    followJobEvents(
      { onUpdate: () => undefined, onState: (state) => states.push(state) },
      {
        getTicket: async () => {
          attempts += 1;
          if (attempts === 1) {
            throw new TypeError('network down');
          }
          throw new ApiError({ status: 401, code: 'token_revoked' });
        },
        retryDelaysMs: [1],
      },
    );

    await vi.waitFor(() => expect(states.at(-1)).toBe('stopped'));
    expect(attempts).toBe(2);
  });

  it('refreshes an expired access token, then reconnects with a new ticket', async () => {
    startSession('old-token');
    const ticketsIssued = ['t1', 't2'];
    const streamUrls: string[] = [];
    mockApi(
      {
        method: 'POST',
        path: '/face/events/ticket',
        respond: () => Response.json({ ticket: ticketsIssued.shift(), expires_in: 60 }),
      },
      {
        method: 'GET',
        path: '/face/events',
        times: 1,
        respond: (request) => {
          streamUrls.push(request.url);
          return streamOf(
            `id: 5-0\nevent: running\ndata: ${running}\n\n${sessionEnded('token_expired')}`,
          );
        },
      },
      { method: 'POST', path: '/auth/refresh', body: { access_token: 'new-token', ...tokens } },
      {
        method: 'GET',
        path: '/face/events',
        respond: (request) => {
          streamUrls.push(request.url);
          return openStream();
        },
      },
    );
    const updates: JobUpdate[] = [];

    const stop = followJobEvents(
      { onUpdate: (update) => updates.push(update), onState: () => undefined },
      { getTicket: createEventsTicket, retryDelaysMs: [1] },
    );
    await vi.waitFor(() => expect(callsTo('GET', '/face/events')).toHaveLength(2));
    stop();

    expect(calls.map((call) => `${call.method} ${call.path}`)).toEqual([
      'POST /face/events/ticket',
      'GET /face/events',
      'POST /auth/refresh',
      'POST /face/events/ticket',
      'GET /face/events',
    ]);
    const ticketRequests = callsTo('POST', '/face/events/ticket');
    expect(ticketRequests.map((call) => call.headers.get('Authorization'))).toEqual([
      'Bearer old-token',
      'Bearer new-token',
    ]);
    expect(streamUrls[1]).toContain('ticket=t2');
    expect(callsTo('GET', '/face/events')[1]!.headers.get('Last-Event-ID')).toBe('5-0');
    expect(updates.map((update) => update.status)).toEqual(['running']);
    expect(getSession()).toMatchObject({ status: 'signed-in', accessToken: 'new-token' });
  });

  it('ends the session when the sign-in behind the stream was revoked', async () => {
    startSession('old-token');
    mockApi(
      { method: 'POST', path: '/face/events/ticket', body: { ticket: 't1', expires_in: 60 } },
      {
        method: 'GET',
        path: '/face/events',
        times: 1,
        respond: () => streamOf(sessionEnded('token_revoked')),
      },
    );
    const states: StreamState[] = [];

    followJobEvents(
      { onUpdate: () => undefined, onState: (state) => states.push(state) },
      { getTicket: createEventsTicket, retryDelaysMs: [1] },
    );

    await vi.waitFor(() => expect(states.at(-1)).toBe('stopped'));
    expect(getSession()).toMatchObject({
      status: 'signed-out',
      accessToken: null,
      ended: 'expired',
    });
    expect(callsTo('POST', '/auth/refresh')).toHaveLength(0);
    expect(callsTo('POST', '/face/events/ticket')).toHaveLength(1);
  });

  it('does not refresh a token that was already replaced; checks the new one instead', async () => {
    let token = 'token-0';
    const refreshSession = vi.fn(async () => 'unused');
    const endSession = vi.fn();
    const bodies = [sessionEnded('token_expired'), sessionEnded('token_revoked')];
    let tickets = 0;

    const stop = followJobEvents(
      { onUpdate: () => undefined, onState: () => undefined },
      {
        getTicket: async () => `t${++tickets}`,
        fetchStream: async () => {
          const body = bodies.shift();
          token = `token-${tickets}`; // replaced meanwhile, e.g. after a 401 elsewhere
          return body ? streamOf(body) : openStream();
        },
        getAccessToken: () => token,
        refreshSession,
        endSession,
        retryDelaysMs: [1],
      },
    );

    await vi.waitFor(() => expect(tickets).toBe(3));
    stop();
    expect(refreshSession).not.toHaveBeenCalled();
    expect(endSession).not.toHaveBeenCalled();
  });

  it('backs off when streams keep ending with an expired token', async () => {
    vi.useFakeTimers();
    try {
      let tickets = 0;
      const refreshSession = vi.fn(async () => 'renewed');

      const stop = followJobEvents(
        { onUpdate: () => undefined, onState: () => undefined },
        {
          getTicket: async () => {
            tickets += 1;
            return `t${tickets}`;
          },
          fetchStream: async () => streamOf(sessionEnded('token_expired')),
          getAccessToken: () => 'renewed',
          refreshSession,
          retryDelaysMs: [1_000, 2_000, 5_000],
        },
      );

      await vi.advanceTimersByTimeAsync(0);
      expect(tickets).toBe(1);
      await vi.advanceTimersByTimeAsync(999);
      expect(tickets).toBe(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(tickets).toBe(2);
      await vi.advanceTimersByTimeAsync(1_999);
      expect(tickets).toBe(2);
      await vi.advanceTimersByTimeAsync(1);
      expect(tickets).toBe(3);
      await vi.advanceTimersByTimeAsync(5_000 + 5_000);
      expect(tickets).toBe(5); // the longest delay repeats
      expect(refreshSession).toHaveBeenCalledTimes(5);
      stop();
    } finally {
      vi.useRealTimers();
    }
  });
});
