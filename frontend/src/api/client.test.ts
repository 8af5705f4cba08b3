import { callsTo, mockApi } from '../test/fetchMock';
import { api, send } from './client';
import { getSession, startSession } from './session';

const profile = {
  id: 'u1',
  email: 'ada@example.com',
  confirmed: true,
  created: '2025-01-01T00:00:00Z',
  face_enrolled: false,
};

describe('the API client', () => {
  it('refreshes an expired access token once and replays the request', async () => {
    startSession('old-token');
    mockApi(
      {
        method: 'GET',
        path: '/auth/user/me',
        status: 401,
        body: { error: 'token_expired', detail: '' },
        times: 1,
      },
      {
        method: 'POST',
        path: '/auth/refresh',
        body: {
          access_token: 'new-token',
          refresh_token: 'r',
          token_type: 'bearer',
          expires_in: 900,
        },
      },
      { method: 'GET', path: '/auth/user/me', body: profile },
    );

    const me = await send(api.GET('/auth/user/me'));

    expect(me.email).toBe('ada@example.com');
    const attempts = callsTo('GET', '/auth/user/me');
    expect(attempts.map((call) => call.headers.get('Authorization'))).toEqual([
      'Bearer old-token',
      'Bearer new-token',
    ]);
    expect(getSession()).toMatchObject({ status: 'signed-in', accessToken: 'new-token' });
  });

  it('ends the session when the refresh cookie no longer works', async () => {
    startSession('old-token');
    mockApi(
      {
        method: 'GET',
        path: '/auth/user/me',
        status: 401,
        body: { error: 'token_expired', detail: '' },
      },
      {
        method: 'POST',
        path: '/auth/refresh',
        status: 401,
        body: { error: 'refresh_token_reused', detail: '' },
      },
    );

    await expect(send(api.GET('/auth/user/me'))).rejects.toMatchObject({ code: 'token_expired' });
    expect(getSession()).toMatchObject({ status: 'signed-out', accessToken: null });
    expect(callsTo('GET', '/auth/user/me')).toHaveLength(1);
  });

  it('shares one refresh between concurrent requests', async () => {
    startSession('old-token');
    mockApi(
      {
        method: 'GET',
        path: '/face/enrolment',
        status: 401,
        body: { error: 'token_expired', detail: '' },
        times: 2,
      },
      {
        method: 'POST',
        path: '/auth/refresh',
        body: {
          access_token: 'new-token',
          refresh_token: 'r',
          token_type: 'bearer',
          expires_in: 900,
        },
      },
      { method: 'GET', path: '/face/enrolment', body: { enrolled: false } },
    );

    await Promise.all([send(api.GET('/face/enrolment')), send(api.GET('/face/enrolment'))]);

    expect(callsTo('POST', '/auth/refresh')).toHaveLength(1);
  });

  it('reads Retry-After into the error', async () => {
    mockApi({
      method: 'POST',
      path: '/auth/login',
      status: 429,
      body: { error: 'rate_limited', detail: '' },
      headers: { 'Retry-After': '17' },
    });

    await expect(
      send(api.POST('/auth/login', { body: { email: 'a@b.c', password: 'x' } })),
    ).rejects.toMatchObject({ status: 429, retryAfterSeconds: 17 });
  });
});
