import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { endSession } from '../../api/session';
import { apiError, callsTo, mockApi } from '../../test/fetchMock';
import { renderAt } from '../../test/render';

const tokens = {
  access_token: 'access',
  refresh_token: 'r',
  token_type: 'bearer',
  expires_in: 900,
};

async function fillIn(email: string, password: string) {
  const user = userEvent.setup();
  await user.type(screen.getByLabelText('Email'), email);
  if (password) {
    await user.type(screen.getByLabelText('Password'), password);
  }
  return user;
}

describe('LoginPage', () => {
  beforeEach(() => endSession());

  it('marks empty fields invalid without calling the API', async () => {
    renderAt('/login');
    const user = userEvent.setup();

    await user.click(screen.getByRole('button', { name: 'Sign in' }));

    expect(screen.getByLabelText('Email')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByLabelText('Email')).toHaveAccessibleDescription(
      'Enter your email address.',
    );
    expect(screen.getByLabelText('Password')).toHaveAttribute('aria-invalid', 'true');
    expect(callsTo('POST', '/auth/login')).toHaveLength(0);
  });

  it('shows the server field errors under their fields', async () => {
    mockApi({
      method: 'POST',
      path: '/auth/login',
      ...apiError(422, 'validation_error', {
        fields: [
          {
            loc: ['body', 'password'],
            msg: 'String should have at most 128 characters',
            type: 'string_too_long',
          },
        ],
      }),
    });
    renderAt('/login');
    const user = await fillIn('ada@example.com', 'x');

    await user.click(screen.getByRole('button', { name: 'Sign in' }));

    expect(
      await screen.findByText('String should have at most 128 characters.'),
    ).toBeInTheDocument();
    expect(screen.getByLabelText('Password')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByText(/Some fields need attention/)).toBeInTheDocument();
  });

  it('offers to resend the confirmation when the email is not confirmed', async () => {
    mockApi(
      { method: 'POST', path: '/auth/login', ...apiError(403, 'email_not_confirmed') },
      { method: 'POST', path: '/auth/confirm/resend', status: 202, body: { detail: 'sent' } },
    );
    renderAt('/login');
    const user = await fillIn('ada@example.com', 'correct horse');

    await user.click(screen.getByRole('button', { name: 'Sign in' }));

    expect(await screen.findByText(/Confirm your email address first/)).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Resend confirmation email' }));
    expect(await screen.findByText(/a new link is on its way/)).toBeInTheDocument();
    expect(JSON.parse(callsTo('POST', '/auth/confirm/resend')[0]!.body)).toEqual({
      email: 'ada@example.com',
    });
  });

  it('disables the button while signing in, then goes to the page asked for', async () => {
    let answer: (response: Response) => void = () => undefined;
    mockApi({
      method: 'POST',
      path: '/auth/login',
      respond: () => new Promise<Response>((resolve) => (answer = resolve)),
    });
    renderAt('/login?next=/somewhere-else');
    const user = await fillIn('ada@example.com', 'correct horse');

    await user.click(screen.getByRole('button', { name: 'Sign in' }));

    expect(screen.getByRole('button', { name: 'Signing in…' })).toBeDisabled();
    answer(
      new Response(JSON.stringify(tokens), { headers: { 'Content-Type': 'application/json' } }),
    );
    await waitFor(() =>
      expect(screen.getByTestId('location')).toHaveTextContent('/somewhere-else'),
    );
  });

  it('says how long to wait when rate limited', async () => {
    mockApi({
      method: 'POST',
      path: '/auth/login',
      ...apiError(429, 'rate_limited'),
      headers: { 'Retry-After': '30' },
    });
    renderAt('/login');
    const user = await fillIn('ada@example.com', 'correct horse');

    await user.click(screen.getByRole('button', { name: 'Sign in' }));

    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Too many attempts. Try again in 30 seconds.',
    );
  });
});
