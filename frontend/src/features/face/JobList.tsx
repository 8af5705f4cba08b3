import { jobFailureMessage } from '../../api/errors';
import { formatDistance } from './format';
import type { StreamState } from './jobEvents';
import type { FaceJob, JobStatus } from './jobs';

const STEPS: { status: JobStatus; label: string }[] = [
  { status: 'accepted', label: 'Received' },
  { status: 'running', label: 'Checking' },
  { status: 'done', label: 'Finished' },
];

const STREAM_LABELS: Record<StreamState, string> = {
  connecting: 'Connecting to live updates…',
  live: 'Live updates on',
  reconnecting: 'Live updates interrupted; reconnecting…',
  stopped: 'Live updates stopped',
};

function stepIndex(status: JobStatus): number {
  return status === 'failed' ? 2 : STEPS.findIndex((step) => step.status === status);
}

export function jobTitle(job: FaceJob): string {
  return job.purpose === 'enroll' ? 'Enrolment' : 'Verification';
}

/** One sentence saying how a finished job ended, or null while it runs. */
export function jobOutcome(job: FaceJob): string | null {
  if (job.status === 'failed') {
    return jobFailureMessage(job.reason, job.detail);
  }
  if (job.status !== 'done') {
    return null;
  }
  if (job.purpose === 'enroll') {
    return 'Your face is enrolled.';
  }
  return job.verified
    ? 'Verified: this is the enrolled face.'
    : 'Not verified: this does not match the enrolled face.';
}

function JobResult({ job }: { job: FaceJob }) {
  if (job.status === 'failed') {
    return (
      <p className="job-result failed">
        <strong>Failed</strong> {jobFailureMessage(job.reason, job.detail)}
      </p>
    );
  }
  if (job.status !== 'done') {
    return null;
  }
  if (job.purpose === 'enroll') {
    return (
      <p className="job-result ok">
        <strong>Enrolled</strong>
      </p>
    );
  }

  let comparison: string | null = null;
  if (job.distance !== null && job.threshold !== null) {
    const relation = job.distance <= job.threshold ? '≤' : '>';
    comparison =
      `Distance ${formatDistance(job.distance)} ${relation} threshold` +
      ` ${formatDistance(job.threshold)} (lower means more alike).`;
  }
  return (
    <p className={`job-result ${job.verified ? 'ok' : 'failed'}`}>
      <strong>{job.verified ? 'Verified' : 'Not verified'}</strong> {comparison}
    </p>
  );
}

export function JobItem({ job }: { job: FaceJob }) {
  const current = stepIndex(job.status);

  return (
    <li className="job" aria-label={`${jobTitle(job)}${job.source ? ` of ${job.source}` : ''}`}>
      <div className="job-heading">
        <span className="job-title">{jobTitle(job)}</span>
        {job.source && <span className="muted">{job.source}</span>}
      </div>
      <ol className="job-steps">
        {STEPS.map((step, index) => (
          <li
            key={step.status}
            className={index < current ? 'step-done' : index === current ? 'step-current' : ''}
            aria-current={index === current ? 'step' : undefined}
          >
            {index === 2 && job.status === 'failed' ? 'Failed' : step.label}
          </li>
        ))}
      </ol>
      <JobResult job={job} />
    </li>
  );
}

export function JobList({ jobs, stream }: { jobs: FaceJob[]; stream: StreamState }) {
  return (
    <>
      <p className={`stream stream-${stream}`}>{STREAM_LABELS[stream]}</p>
      {jobs.length === 0 ? (
        <p className="muted">Photos you send appear here while they are checked.</p>
      ) : (
        <ul className="jobs" aria-label="Face checks in this session">
          {jobs.map((job) => (
            <JobItem key={job.id} job={job} />
          ))}
        </ul>
      )}
    </>
  );
}
