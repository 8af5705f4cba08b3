import { messageFor } from '../../api/errors';
import type { Loaded } from '../../ui/useLoad';
import { formatDistance, formatWhen } from './format';

export interface VerificationRecord {
  job_id: string;
  distance: number;
  threshold: number;
  verified: boolean;
  model_version: string;
  created_at: string;
}

export function VerificationHistory({ history }: { history: Loaded<VerificationRecord[]> }) {
  if (history.error) {
    return <p className="notice notice-error">{messageFor(history.error)}</p>;
  }
  if (!history.data) {
    return <p className="muted">Loading…</p>;
  }
  if (history.data.length === 0) {
    return <p className="muted">No verifications yet.</p>;
  }

  return (
    <div className="table-scroll">
      <table>
        <caption className="visually-hidden">Your most recent verifications</caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Result</th>
            <th scope="col">Distance</th>
            <th scope="col">Threshold</th>
          </tr>
        </thead>
        <tbody>
          {history.data.map((record) => (
            <tr key={record.job_id}>
              <td>{formatWhen(record.created_at)}</td>
              <td className={record.verified ? 'ok' : 'failed'}>
                {record.verified ? 'Verified' : 'Not verified'}
              </td>
              <td>{formatDistance(record.distance)}</td>
              <td>{formatDistance(record.threshold)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
