import { useEffect, useState } from 'react';
import { Link, useParams } from 'react-router';

import { ApiError, linkMessageFor } from '../../api/errors';
import { AuthCard } from '../../ui/AuthCard';
import { Notice } from '../../ui/Notice';
import { confirmEmail } from './api';
import { isTokenShaped } from './links';

export type ConfirmState =
  | { kind: 'checking' }
  | { kind: 'confirmed'; alreadyConfirmed: boolean }
  | { kind: 'link-failed'; message: string; expired: boolean }
  | { kind: 'error'; message: string };

// One request per token even when React runs effects twice (StrictMode in development).
const confirmations = new Map<string, ReturnType<typeof confirmEmail>>();

function confirmOnce(token: string) {
  let pending = confirmations.get(token);
  if (!pending) {
    pending = confirmEmail(token);
    confirmations.set(token, pending);
    pending.catch(() => confirmations.delete(token));
  }
  return pending;
}

export function ConfirmEmailPage() {
  const { token } = useParams();
  const wellFormed = isTokenShaped(token);
  const [state, setState] = useState<ConfirmState>({ kind: 'checking' });

  useEffect(() => {
    if (!isTokenShaped(token)) {
      return;
    }
    let current = true;

    confirmOnce(token).then(
      (answer) =>
        current && setState({ kind: 'confirmed', alreadyConfirmed: answer.already_confirmed }),
      (error: unknown) => {
        if (!current) {
          return;
        }
        if (error instanceof ApiError && error.status === 401) {
          const expired = error.code === 'token_expired';
          setState({ kind: 'link-failed', message: linkMessageFor(error), expired });
        } else {
          setState({ kind: 'error', message: linkMessageFor(error) });
        }
      },
    );

    return () => {
      current = false;
    };
  }, [token]);

  const shown: ConfirmState = wellFormed
    ? state
    : {
        kind: 'link-failed',
        message: linkMessageFor(new ApiError({ status: 401, code: 'invalid_token' })),
        expired: false,
      };

  return (
    <AuthCard title="Confirm your email" footer={<Link to="/login">Go to sign in</Link>}>
      <ConfirmStatus state={shown} />
    </AuthCard>
  );
}

export function ConfirmStatus({ state }: { state: ConfirmState }) {
  return (
    <>
      <Notice tone="info">{state.kind === 'checking' && 'Confirming your email address…'}</Notice>
      <Notice tone="success">
        {state.kind === 'confirmed' && (
          <>
            {state.alreadyConfirmed
              ? 'Your email address was already confirmed.'
              : 'Your email address is confirmed.'}{' '}
            You can <Link to="/login">sign in</Link> now.
          </>
        )}
      </Notice>
      <Notice tone="error">
        {state.kind === 'link-failed' && (
          <>
            {state.message}{' '}
            {state.expired
              ? 'Sign in with your email and password to get a new confirmation link.'
              : 'If you already confirmed your address, just sign in.'}
          </>
        )}
        {state.kind === 'error' && state.message}
      </Notice>
    </>
  );
}
