import { useRef, useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router';

import { ApiError, fieldErrorsOf, linkMessageFor, messageFor } from '../../api/errors';
import { endSession } from '../../api/session';
import { AuthCard } from '../../ui/AuthCard';
import { Notice } from '../../ui/Notice';
import { TextField } from '../../ui/TextField';
import { useAction } from '../../ui/useAction';
import { resetPassword } from './api';
import { isTokenShaped } from './links';
import {
  checkNewPassword,
  focusFirstInvalid,
  hasErrors,
  PASSWORD_MIN_LENGTH,
  type FormErrors,
} from './validation';

type ResetField = 'password' | 'confirmation';

const askAgain = <Link to="/reset-password">Ask for a new reset link</Link>;

export function ResetPasswordPage() {
  const { token } = useParams();
  const form = useRef<HTMLFormElement>(null);
  const [password, setPassword] = useState('');
  const [confirmation, setConfirmation] = useState('');
  const [fieldErrors, setFieldErrors] = useState<FormErrors<ResetField>>({});
  const [changed, setChanged] = useState(false);
  const { pending, error, run } = useAction();

  if (!isTokenShaped(token)) {
    return (
      <AuthCard title="Choose a new password" footer={askAgain}>
        <Notice tone="error">
          This reset link is not valid: it may be incomplete. Open the link from the email again,
          or ask for a new one.
        </Notice>
      </AuthCard>
    );
  }
  const linkToken = token;

  async function submit(event: FormEvent) {
    event.preventDefault();
    const errors: FormErrors<ResetField> = {
      password: checkNewPassword(password),
      confirmation: confirmation !== password ? 'The two passwords do not match.' : undefined,
    };
    setFieldErrors(errors);
    if (hasErrors(errors)) {
      requestAnimationFrame(() => focusFirstInvalid(form.current));
      return;
    }

    let serverFieldErrors: FormErrors<ResetField> = {};
    const ok = await run(async () => {
      try {
        await resetPassword(linkToken, password);
      } catch (caught) {
        serverFieldErrors = fieldErrorsOf(caught, { new_password: 'password' });
        throw caught;
      }
    });
    setFieldErrors(serverFieldErrors);
    if (ok) {
      endSession('signed-out');
      setChanged(true);
    }
  }

  const linkFailed = error instanceof ApiError && error.status === 401;

  return (
    <AuthCard
      title="Choose a new password"
      footer={
        <>
          <Link to="/login">Back to sign in</Link>
          {askAgain}
        </>
      }
    >
      <Notice tone="success">
        {changed && (
          <>
            Your password has changed and your other sessions were signed out.{' '}
            <Link to="/login">Sign in</Link> with your new password.
          </>
        )}
      </Notice>
      {!changed && (
        <form ref={form} onSubmit={submit} noValidate>
          <TextField
            label="New password"
            type="password"
            name="password"
            autoComplete="new-password"
            hint={`At least ${PASSWORD_MIN_LENGTH} characters.`}
            value={password}
            onChange={(event) => setPassword(event.target.value)}
            error={fieldErrors.password}
            required
          />
          <TextField
            label="Confirm new password"
            type="password"
            name="confirmation"
            autoComplete="new-password"
            value={confirmation}
            onChange={(event) => setConfirmation(event.target.value)}
            error={fieldErrors.confirmation}
            required
          />
          <Notice tone="error">
            {error !== null && (linkFailed ? linkMessageFor(error) : messageFor(error))}
          </Notice>
          <button type="submit" disabled={pending}>
            {pending ? 'Saving…' : 'Change password'}
          </button>
        </form>
      )}
    </AuthCard>
  );
}
