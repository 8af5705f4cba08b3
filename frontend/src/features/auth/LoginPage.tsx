import { useRef, useState, type FormEvent } from 'react';
import { Link, Navigate, useNavigate, useSearchParams } from 'react-router';

import { ApiError, fieldErrorsOf, messageFor, sessionEndMessage } from '../../api/errors';
import { AuthCard } from '../../ui/AuthCard';
import { Notice } from '../../ui/Notice';
import { TextField } from '../../ui/TextField';
import { useAction } from '../../ui/useAction';
import { signIn } from './api';
import { safeNextPath } from './links';
import { ResendConfirmation } from './ResendConfirmation';
import { useSession } from './useSession';
import { checkEmail, focusFirstInvalid, hasErrors, type FormErrors } from './validation';

type LoginField = 'email' | 'password';

export function LoginPage() {
  const session = useSession();
  const navigate = useNavigate();
  const [searchParams] = useSearchParams();
  const next = safeNextPath(searchParams.get('next'));

  const form = useRef<HTMLFormElement>(null);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [fieldErrors, setFieldErrors] = useState<FormErrors<LoginField>>({});
  const { pending, error, run } = useAction();

  if (session.status === 'signed-in' && !pending) {
    return <Navigate to={next} replace />;
  }

  const notConfirmed = error instanceof ApiError && error.code === 'email_not_confirmed';

  async function submit(event: FormEvent) {
    event.preventDefault();
    const errors: FormErrors<LoginField> = {
      email: checkEmail(email),
      password: password === '' ? 'Enter your password.' : undefined,
    };
    setFieldErrors(errors);
    if (hasErrors(errors)) {
      requestAnimationFrame(() => focusFirstInvalid(form.current));
      return;
    }

    let serverFieldErrors: FormErrors<LoginField> = {};
    const ok = await run(async () => {
      try {
        await signIn(email.trim(), password);
      } catch (caught) {
        serverFieldErrors = fieldErrorsOf(caught);
        throw caught;
      }
    });
    if (ok) {
      navigate(next, { replace: true });
      return;
    }
    setFieldErrors(serverFieldErrors);
  }

  return (
    <AuthCard
      title="Sign in"
      footer={
        <>
          <Link to="/register">Create an account</Link>
          <Link to="/reset-password">Forgot your password?</Link>
        </>
      }
    >
      <Notice tone="info">{!error && sessionEndMessage(session.ended)}</Notice>
      <form ref={form} onSubmit={submit} noValidate>
        <TextField
          label="Email"
          type="email"
          name="email"
          autoComplete="username"
          value={email}
          onChange={(event) => setEmail(event.target.value)}
          error={fieldErrors.email}
          required
        />
        <TextField
          label="Password"
          type="password"
          name="password"
          autoComplete="current-password"
          value={password}
          onChange={(event) => setPassword(event.target.value)}
          error={fieldErrors.password}
          required
        />
        <Notice tone="error">{error !== null && messageFor(error)}</Notice>
        {notConfirmed && <ResendConfirmation email={email} />}
        <button type="submit" disabled={pending}>
          {pending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </AuthCard>
  );
}
