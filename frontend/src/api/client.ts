/**
 * The typed API client: `openapi-fetch` over the schema generated from the API's OpenAPI
 * document (`npm run gen:api`), with the access token attached and renewed once on a 401.
 */
import createClient from 'openapi-fetch';

import { config } from '../config';
import { ApiError, NetworkError, parseRetryAfter, type FieldProblem } from './errors';
import { getAccessToken, refreshSession } from './session';
import type { paths } from './schema';

function withBearer(request: Request, token: string | null): Request {
  if (token) {
    request.headers.set('Authorization', `Bearer ${token}`);
  }
  return request;
}

/**
 * fetch for the client: sends the access token, and when the API answers 401 to a request
 * that carried one, refreshes the session once and replays the request. The copy is taken
 * before sending because a sent body cannot be read again.
 */
export async function authorisedFetch(request: Request): Promise<Response> {
  const token = getAccessToken();
  const replay = token ? request.clone() : null;
  const response = await fetch(withBearer(request, token));

  if (response.status !== 401 || replay === null) {
    return response;
  }

  const renewed = await refreshSession().catch(() => null);
  if (!renewed) {
    return response;
  }
  return fetch(withBearer(replay, renewed));
}

export const api = createClient<paths>({
  baseUrl: config.apiBaseUrl,
  credentials: 'include',
  fetch: authorisedFetch,
});

interface ErrorBody {
  error?: string;
  detail?: unknown;
  fields?: FieldProblem[];
}

function toApiError(response: Response, body: unknown): ApiError {
  const parsed = (typeof body === 'object' && body !== null ? body : {}) as ErrorBody;

  return new ApiError({
    status: response.status,
    code: parsed.error ?? (response.status === 429 ? 'rate_limited' : 'http_error'),
    detail: typeof parsed.detail === 'string' ? parsed.detail : '',
    fields: Array.isArray(parsed.fields) ? parsed.fields : [],
    retryAfterSeconds: parseRetryAfter(response.headers.get('Retry-After')),
  });
}

/**
 * Await an `api.GET/POST/...` call and return its data, or throw `ApiError` (the server
 * answered with an error) or `NetworkError` (it did not answer).
 */
export async function send<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === 'AbortError') {
      throw cause;
    }
    throw new NetworkError(cause);
  }

  if (!result.response.ok) {
    throw toApiError(result.response, result.error);
  }
  return result.data as T;
}
