import { useState } from 'react';

import { messageFor } from '../../api/errors';
import { Notice } from '../../ui/Notice';
import { useAction } from '../../ui/useAction';
import type { Loaded } from '../../ui/useLoad';
import { deleteEnrolment } from './api';
import { formatWhen } from './format';

export interface Enrolment {
  enrolled: boolean;
  model_version?: string | null;
  enrolled_at?: string | null;
}

interface EnrolmentStatusProps {
  enrolment: Loaded<Enrolment>;
  onDeleted: () => void;
}

/** Whether a face is enrolled, and a two-step button to delete it. */
export function EnrolmentStatus({ enrolment, onDeleted }: EnrolmentStatusProps) {
  const [confirming, setConfirming] = useState(false);
  const [deleted, setDeleted] = useState(false);
  const { pending, error, run } = useAction();

  async function remove() {
    const ok = await run(deleteEnrolment);
    setConfirming(false);
    setDeleted(ok);
    if (ok) {
      onDeleted();
    }
  }

  const current = enrolment.data;
  return (
    <div className="enrolment-status">
      {enrolment.error ? (
        <p className="notice notice-error">{messageFor(enrolment.error)}</p>
      ) : !current ? (
        <p className="muted">Loading…</p>
      ) : current.enrolled ? (
        <p>
          <span className="badge ok">Face enrolled</span>{' '}
          <span className="muted">
            {formatWhen(current.enrolled_at)}
            {current.model_version && ` · model ${current.model_version}`}
          </span>
        </p>
      ) : (
        <p>
          <span className="badge">No face enrolled</span>{' '}
          <span className="muted">Enrol a photo of your face to verify yourself later.</span>
        </p>
      )}

      {current?.enrolled && !confirming && (
        <button type="button" className="danger" onClick={() => setConfirming(true)}>
          Delete enrolled face
        </button>
      )}
      {confirming && (
        <div className="confirm-box" role="group" aria-label="Confirm deletion">
          <p>Delete your enrolled face? You will need to enrol again before verifying.</p>
          <div className="actions">
            <button type="button" className="danger" onClick={remove} disabled={pending}>
              {pending ? 'Deleting…' : 'Yes, delete it'}
            </button>
            <button type="button" className="secondary" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        </div>
      )}
      <Notice tone="success">
        {deleted && !current?.enrolled && 'Your enrolled face was deleted.'}
      </Notice>
      <Notice tone="error">{error !== null && messageFor(error)}</Notice>
    </div>
  );
}
