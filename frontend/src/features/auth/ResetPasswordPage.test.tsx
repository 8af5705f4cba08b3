import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { apiError, calls, callsTo, mockApi } from '../../test/fetchMock';
import { renderAt } from '../../test/render';

const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJyZXNldCJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg';

async function choose(password: string, confirmation: string) {
  const user = userEvent.setup();
  await user.type(screen.getByLabelText('New password'), password);
  await user.type(screen.getByLabelText('Confirm new password'), confirmation);
  await user.click(screen.getByRole('button', { name: 'Change password' }));
}

describe('ResetPasswordPage', () => {
  it('asks for matching passwords before calling the API', async () => {
    renderAt(`/reset-password/${token}`);

    await choose('long enough 1', 'long enough 2');

    expect(screen.getByLabelText('Confirm new password')).toHaveAccessibleDescription(
      'The two passwords do not match.',
    );
    expect(calls).toHaveLength(0);
  });

  it('sends the new password and says what to do next', async () => {
    mockApi({
      method: 'PATCH',
      path: `/auth/reset/email_confirmed/${token}`,
      body: { detail: 'ok' },
    });
    renderAt(`/reset-password/${token}`);

    await choose('long enough 1', 'long enough 1');

    expect(await screen.findByText(/Your password has changed/)).toBeInTheDocument();
    const sent = callsTo('PATCH', `/auth/reset/email_confirmed/${token}`)[0]!;
    expect(JSON.parse(sent.body)).toEqual({ new_password: 'long enough 1' });
  });

  it('explains a used link', async () => {
    mockApi({
      method: 'PATCH',
      path: `/auth/reset/email_confirmed/${token}`,
      ...apiError(401, 'reset_token_used'),
    });
    renderAt(`/reset-password/${token}`);

    await choose('long enough 1', 'long enough 1');

    expect(await screen.findByRole('alert')).toHaveTextContent(
      'This reset link was already used.',
    );
  });

  it('refuses a malformed link without showing the form', () => {
    renderAt('/reset-password/abc');

    expect(screen.getByText(/This reset link is not valid/)).toBeInTheDocument();
    expect(screen.queryByLabelText('New password')).not.toBeInTheDocument();
  });
});
