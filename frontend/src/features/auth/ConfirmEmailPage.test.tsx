import { screen } from '@testing-library/react';

import { apiError, calls, mockApi } from '../../test/fetchMock';
import { renderAt } from '../../test/render';

// Shaped like a signed JWT; each test uses its own so the page's per-token memo is fresh.
function token(name: string) {
  return `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ${name}In0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg`;
}

describe('ConfirmEmailPage', () => {
  it('says the address is confirmed', async () => {
    mockApi({
      method: 'GET',
      path: /^\/auth\/confirm\/email\//,
      body: { confirmed: true, already_confirmed: false, detail: '' },
    });
    renderAt(`/confirm-email/${token('first')}`);

    expect(await screen.findByText(/Your email address is confirmed/)).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'sign in' })).toHaveAttribute('href', '/login');
  });

  it('says when it was already confirmed', async () => {
    mockApi({
      method: 'GET',
      path: /^\/auth\/confirm\/email\//,
      body: { confirmed: true, already_confirmed: true, detail: '' },
    });
    renderAt(`/confirm-email/${token('again')}`);

    expect(await screen.findByText(/was already confirmed/)).toBeInTheDocument();
  });

  it('explains an expired link and how to get a new one', async () => {
    mockApi({
      method: 'GET',
      path: /^\/auth\/confirm\/email\//,
      ...apiError(401, 'token_expired'),
    });
    renderAt(`/confirm-email/${token('expired')}`);

    const alert = await screen.findByText(/This link has expired/);
    expect(alert).toHaveTextContent(/get a new confirmation link/);
  });

  it('explains an invalid or used link', async () => {
    mockApi({
      method: 'GET',
      path: /^\/auth\/confirm\/email\//,
      ...apiError(401, 'invalid_token'),
    });
    renderAt(`/confirm-email/${token('invalid')}`);

    expect(await screen.findByText(/This link is not valid/)).toBeInTheDocument();
  });

  it('rejects a malformed token without asking the server', async () => {
    renderAt('/confirm-email/not-a-token');

    expect(await screen.findByText(/This link is not valid/)).toBeInTheDocument();
    expect(calls).toHaveLength(0);
  });
});
