import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { endSession, restoreSession, startSession } from '../../api/session';
import { mockApi } from '../../test/fetchMock';
import { renderAt } from '../../test/render';

// The dashboard's own requests are not the subject here: it is replaced by a marker.
vi.mock('../face/DashboardPage', () => ({ DashboardPage: () => <h1>Dashboard marker</h1> }));

describe('the route guard', () => {
  it('sends signed-out visitors to sign in, remembering the page', async () => {
    endSession();
    renderAt('/dashboard');

    await waitFor(() =>
      expect(screen.getByTestId('location')).toHaveTextContent('/login?next=/dashboard'),
    );
    expect(screen.getByRole('heading', { name: 'Sign in' })).toBeInTheDocument();
  });

  it('brings people back to the page they asked for after signing in', async () => {
    endSession();
    mockApi({
      method: 'POST',
      path: '/auth/login',
      body: { access_token: 'a', refresh_token: 'r', token_type: 'bearer', expires_in: 900 },
    });
    renderAt('/dashboard');
    const user = userEvent.setup();

    await user.type(await screen.findByLabelText('Email'), 'ada@example.com');
    await user.type(screen.getByLabelText('Password'), 'correct horse');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));

    expect(await screen.findByRole('heading', { name: 'Dashboard marker' })).toBeInTheDocument();
    expect(screen.getByTestId('location')).toHaveTextContent(/^\/dashboard$/);
  });

  it('waits for the session to be restored from the refresh cookie', async () => {
    mockApi({
      method: 'POST',
      path: '/auth/refresh',
      body: { access_token: 'a', refresh_token: 'r', token_type: 'bearer', expires_in: 900 },
    });
    renderAt('/dashboard');
    expect(screen.getByText('Loading your session…')).toHaveAttribute('role', 'status');

    await restoreSession();

    expect(await screen.findByRole('heading', { name: 'Dashboard marker' })).toBeInTheDocument();
  });

  it('sends the start page to the dashboard or to sign-in', async () => {
    startSession('a');
    renderAt('/');
    expect(await screen.findByRole('heading', { name: 'Dashboard marker' })).toBeInTheDocument();
  });

  it('does not follow a next page on another site', async () => {
    endSession();
    mockApi({
      method: 'POST',
      path: '/auth/login',
      body: { access_token: 'a', refresh_token: 'r', token_type: 'bearer', expires_in: 900 },
    });
    renderAt('/login?next=//evil.example/steal');
    const user = userEvent.setup();

    await user.type(screen.getByLabelText('Email'), 'ada@example.com');
    await user.type(screen.getByLabelText('Password'), 'correct horse');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));

    await waitFor(() => expect(screen.getByTestId('location')).toHaveTextContent(/^\/dashboard$/));
  });
});
