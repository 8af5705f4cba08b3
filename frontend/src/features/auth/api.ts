/** Calls to the accounts endpoints. Each returns the response data or throws ApiError. */
import { api, send } from '../../api/client';
import { endSession, startSession } from '../../api/session';

export async function register(email: string, password: string) {
  return send(api.POST('/auth/register', { body: { email, password } }));
}

export async function signIn(email: string, password: string): Promise<void> {
  const tokens = await send(api.POST('/auth/login', { body: { email, password } }));
  startSession(tokens.access_token);
}

/** Ends the session on the server (best effort) and always here. */
export async function signOut(): Promise<void> {
  try {
    await send(api.POST('/auth/logout'));
  } catch {
    // The server may already consider the session over; locally it ends either way.
  } finally {
    endSession('signed-out');
  }
}

export async function resendConfirmation(email: string) {
  return send(api.POST('/auth/confirm/resend', { body: { email } }));
}

export async function confirmEmail(token: string) {
  return send(api.GET('/auth/confirm/email/{token}', { params: { path: { token } } }));
}

export async function requestPasswordReset(email: string) {
  return send(api.POST('/auth/reset', { body: { email } }));
}

export async function resetPassword(token: string, newPassword: string) {
  return send(
    api.PATCH('/auth/reset/email_confirmed/{token}', {
      params: { path: { token } },
      body: { new_password: newPassword },
    }),
  );
}

export async function fetchProfile() {
  return send(api.GET('/auth/user/me'));
}
