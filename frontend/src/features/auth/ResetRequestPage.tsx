import { useRef, useState, type FormEvent } from 'react';
import { Link } from 'react-router';

import { fieldErrorsOf, messageFor } from '../../api/errors';
import { AuthCard } from '../../ui/AuthCard';
import { Notice } from '../../ui/Notice';
import { TextField } from '../../ui/TextField';
import { useAction } from '../../ui/useAction';
import { requestPasswordReset } from './api';
import { checkEmail, focusFirstInvalid } from './validation';

export function ResetRequestPage() {
  const form = useRef<HTMLFormElement>(null);
  const [email, setEmail] = useState('');
  const [emailError, setEmailError] = useState<string | undefined>();
  const [sentTo, setSentTo] = useState<string | null>(null);
  const { pending, error, run } = useAction();

  async function submit(event: FormEvent) {
    event.preventDefault();
    const problem = checkEmail(email);
    setEmailError(problem);
    if (problem) {
      requestAnimationFrame(() => focusFirstInvalid(form.current));
      return;
    }

    const address = email.trim();
    let serverProblem: string | undefined;
    const ok = await run(async () => {
      try {
        await requestPasswordReset(address);
      } catch (caught) {
        serverProblem = fieldErrorsOf(caught).email;
        throw caught;
      }
    });
    setEmailError(serverProblem);
    setSentTo(ok ? address : null);
  }

  return (
    <AuthCard
      title="Reset your password"
      footer={
        <>
          <Link to="/login">Back to sign in</Link>
          <Link to="/">Home</Link>
        </>
      }
    >
      <p className="muted">
        Enter the email address of your account and we will send you a link to choose a new
        password.
      </p>
      <form ref={form} onSubmit={submit} noValidate>
        <TextField
          label="Email"
          type="email"
          name="email"
          autoComplete="email"
          value={email}
          onChange={(event) => setEmail(event.target.value)}
          error={emailError}
          required
        />
        <Notice tone="success">
          {sentTo &&
            `If an account exists for ${sentTo}, a reset link is on its way. Check your mail.`}
        </Notice>
        <Notice tone="error">{error !== null && messageFor(error)}</Notice>
        <button type="submit" disabled={pending}>
          {pending ? 'Sending…' : 'Send reset link'}
        </button>
      </form>
    </AuthCard>
  );
}
