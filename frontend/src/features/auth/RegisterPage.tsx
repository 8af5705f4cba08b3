import { useRef, useState, type FormEvent } from 'react';
import { Link } from 'react-router';

import { fieldErrorsOf, messageFor } from '../../api/errors';
import { AuthCard } from '../../ui/AuthCard';
import { Notice } from '../../ui/Notice';
import { TextField } from '../../ui/TextField';
import { useAction } from '../../ui/useAction';
import { register } from './api';
import {
  checkEmail,
  checkNewPassword,
  focusFirstInvalid,
  hasErrors,
  PASSWORD_MIN_LENGTH,
  type FormErrors,
} from './validation';

type RegisterField = 'email' | 'password';

interface Registered {
  email: string;
  confirmed: boolean;
}

export function RegisterPage() {
  const form = useRef<HTMLFormElement>(null);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [fieldErrors, setFieldErrors] = useState<FormErrors<RegisterField>>({});
  const [registered, setRegistered] = useState<Registered | null>(null);
  const { pending, error, run } = useAction();

  async function submit(event: FormEvent) {
    event.preventDefault();
    const errors: FormErrors<RegisterField> = {
      email: checkEmail(email),
      password: checkNewPassword(password),
    };
    setFieldErrors(errors);
    if (hasErrors(errors)) {
      requestAnimationFrame(() => focusFirstInvalid(form.current));
      return;
    }

    let serverFieldErrors: FormErrors<RegisterField> = {};
    await run(async () => {
      try {
        const user = await register(email.trim(), password);
        setRegistered({ email: user.email, confirmed: user.confirmed });
      } catch (caught) {
        serverFieldErrors = fieldErrorsOf(caught);
        throw caught;
      }
    });
    setFieldErrors(serverFieldErrors);
    requestAnimationFrame(() => focusFirstInvalid(form.current));
  }

  return (
    <AuthCard title="Create an account" footer={<Link to="/login">Back to sign in</Link>}>
      <Notice tone="success">
        {registered &&
          (registered.confirmed ? (
            <>
              Your account {registered.email} is ready. <Link to="/login">Sign in</Link> now.
            </>
          ) : (
            <>
              Almost done: we sent a confirmation link to {registered.email}. Open it to activate
              your account, then sign in.
            </>
          ))}
      </Notice>
      {!registered && (
        <form ref={form} onSubmit={submit} noValidate>
          <TextField
            label="Email"
            type="email"
            name="email"
            autoComplete="email"
            value={email}
            onChange={(event) => setEmail(event.target.value)}
            error={fieldErrors.email}
            required
          />
          <TextField
            label="Password"
            type="password"
            name="password"
            autoComplete="new-password"
            hint={`At least ${PASSWORD_MIN_LENGTH} characters.`}
            value={password}
            onChange={(event) => setPassword(event.target.value)}
            error={fieldErrors.password}
            required
          />
          <Notice tone="error">{error !== null && messageFor(error)}</Notice>
          <button type="submit" disabled={pending}>
            {pending ? 'Creating your account…' : 'Create account'}
          </button>
        </form>
      )}
    </AuthCard>
  );
}
