import { ApiError } from '../../api/errors';
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
});
