import { useState } from 'react';

import { messageFor } from '../../api/errors';
import { Notice } from '../../ui/Notice';
import { useAction } from '../../ui/useAction';
import { resendConfirmation } from './api';

/** A button that mails a new confirmation link to an address already typed in. */
export function ResendConfirmation({ email }: { email: string }) {
  const { pending, error, run } = useAction();
  const [sent, setSent] = useState(false);

  async function resend() {
    setSent(await run(() => resendConfirmation(email.trim())));
  }

  return (
    <div className="resend">
      <button type="button" className="secondary" onClick={resend} disabled={pending}>
        {pending ? 'Sending…' : 'Resend confirmation email'}
      </button>
      <Notice tone="success">
        {sent && `If ${email.trim()} still needs confirming, a new link is on its way.`}
      </Notice>
      <Notice tone="error">{error !== null && messageFor(error)}</Notice>
    </div>
  );
}
