/**
 * A fetch stand-in for component tests: answers only the requests a test declares and
 * fails the test on any other (see setup.ts), so no test talks to a real server by accident.
 */

export interface MockRoute {
  method: string;
  /** The request's path, e.g. `/auth/login`, or a pattern for paths with ids. */
  path: string | RegExp;
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Build the response yourself (e.g. a streaming body); wins over status/body. */
  respond?: (request: Request) => Response | Promise<Response>;
  /** Answer this many times, then stop matching (default: every time). */
  times?: number;
}

export interface RecordedCall {
  method: string;
  path: string;
  headers: Headers;
  body: string;
}

const routes: MockRoute[] = [];
const remaining = new Map<MockRoute, number>();
export const calls: RecordedCall[] = [];
export const unmocked: string[] = [];

function matches(route: MockRoute, method: string, path: string): boolean {
  if (route.method !== method || remaining.get(route) === 0) {
    return false;
  }
  return typeof route.path === 'string' ? route.path === path : route.path.test(path);
}

async function mockFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const request = input instanceof Request ? input : new Request(String(input), init);
  const url = new URL(request.url);
  const body = request.method === 'GET' ? '' : await request.clone().text();
  calls.push({ method: request.method, path: url.pathname, headers: request.headers, body });

  const route = routes.find((candidate) => matches(candidate, request.method, url.pathname));
  if (!route) {
    unmocked.push(`${request.method} ${url.pathname}${url.search}`);
    throw new TypeError(`unmocked request: ${request.method} ${url.pathname}`);
  }
  const left = remaining.get(route);
  if (left !== undefined) {
    remaining.set(route, left - 1);
  }

  if (route.respond) {
    return route.respond(request);
  }
  const status = route.status ?? 200;
  const hasBody = route.body !== undefined && status !== 204;
  return new Response(hasBody ? JSON.stringify(route.body) : null, {
    status,
    headers: { ...(hasBody ? { 'Content-Type': 'application/json' } : {}), ...route.headers },
  });
}

/** Declare the requests this test expects; later calls add to earlier ones. */
export function mockApi(...declared: MockRoute[]): void {
  for (const route of declared) {
    routes.push(route);
    if (route.times !== undefined) {
      remaining.set(route, route.times);
    }
  }
}

export function callsTo(method: string, path: string): RecordedCall[] {
  return calls.filter((call) => call.method === method && call.path === path);
}

export function installFetchMock(): void {
  routes.length = 0;
  remaining.clear();
  calls.length = 0;
  unmocked.length = 0;
  globalThis.fetch = mockFetch as typeof fetch;
}

/** An API error body as the server writes it. */
export function apiError(status: number, error: string, extra: Record<string, unknown> = {}) {
  return { status, body: { error, detail: `server detail for ${error}`, ...extra } };
}
