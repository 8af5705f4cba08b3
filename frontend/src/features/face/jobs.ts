/**
 * Face jobs as the dashboard shows them, built from three sources that may arrive in any
 * order: the 202 answer to an upload, updates on the SSE stream, and polled job reads.
 * A job's status only moves forward, so a late or replayed event never undoes a result.
 */
import type { FacePurpose } from './api';

export type JobStatus = 'accepted' | 'running' | 'done' | 'failed';

export interface FaceJob {
  id: string;
  purpose: FacePurpose;
  status: JobStatus;
  /** Where the photo came from, as shown to the person: a file name or "webcam photo". */
  source: string | null;
  reason: string | null;
  detail: string | null;
  verified: boolean | null;
  distance: number | null;
  threshold: number | null;
}

/** The data of one SSE event (and the shape polled jobs are turned into). */
export interface JobUpdate {
  job_id: string;
  purpose: FacePurpose;
  status: JobStatus;
  reason?: string | null;
  detail?: string | null;
  verified?: boolean | null;
  distance?: number | null;
  threshold?: number | null;
}

export type JobAction =
  | { type: 'submitted'; jobId: string; purpose: FacePurpose; status: JobStatus; source: string }
  | { type: 'updated'; update: JobUpdate };

export type JobsState = FaceJob[];

export const MAX_JOBS_SHOWN = 8;

const STATUS_ORDER: Record<JobStatus, number> = { accepted: 0, running: 1, done: 2, failed: 2 };

export function isFinal(status: JobStatus): boolean {
  return status === 'done' || status === 'failed';
}

function emptyJob(id: string, purpose: FacePurpose): FaceJob {
  return {
    id,
    purpose,
    status: 'accepted',
    source: null,
    reason: null,
    detail: null,
    verified: null,
    distance: null,
    threshold: null,
  };
}

function applyUpdate(job: FaceJob, update: JobUpdate): FaceJob {
  if (STATUS_ORDER[update.status] < STATUS_ORDER[job.status] || isFinal(job.status)) {
    return job;
  }
  return {
    ...job,
    status: update.status,
    reason: update.reason ?? job.reason,
    detail: update.detail ?? job.detail,
    verified: update.verified ?? job.verified,
    distance: update.distance ?? job.distance,
    threshold: update.threshold ?? job.threshold,
  };
}

function upsert(
  jobs: JobsState,
  id: string,
  purpose: FacePurpose,
  change: (job: FaceJob) => FaceJob,
) {
  const index = jobs.findIndex((job) => job.id === id);
  if (index === -1) {
    return [change(emptyJob(id, purpose)), ...jobs].slice(0, MAX_JOBS_SHOWN);
  }
  const next = [...jobs];
  next[index] = change(jobs[index]!);
  return next;
}

export function jobsReducer(jobs: JobsState, action: JobAction): JobsState {
  switch (action.type) {
    case 'submitted':
      return upsert(jobs, action.jobId, action.purpose, (job) =>
        applyUpdate(
          { ...job, source: action.source },
          { job_id: action.jobId, purpose: action.purpose, status: action.status },
        ),
      );
    case 'updated':
      return upsert(jobs, action.update.job_id, action.update.purpose, (job) =>
        applyUpdate(job, action.update),
      );
  }
}

/** Reads an SSE event's data; null when it is not a job update (e.g. a heartbeat). */
export function parseJobUpdate(data: string): JobUpdate | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) {
    return null;
  }

  const candidate = parsed as Partial<JobUpdate>;
  const known = ['accepted', 'running', 'done', 'failed'];
  if (typeof candidate.job_id !== 'string' || !known.includes(candidate.status ?? '')) {
    return null;
  }
  if (candidate.purpose !== 'enroll' && candidate.purpose !== 'verify') {
    return null;
  }
  return candidate as JobUpdate;
}

/** A polled job (`GET /face/jobs/{id}`) as an update. */
export function updateFromPolledJob(job: {
  id: string;
  purpose: FacePurpose;
  status: JobStatus;
  reason?: string | null;
  detail?: string | null;
  result?: { distance: number; threshold: number; verified: boolean } | null;
}): JobUpdate {
  return {
    job_id: job.id,
    purpose: job.purpose,
    status: job.status,
    reason: job.reason ?? null,
    detail: job.detail ?? null,
    verified: job.result?.verified ?? null,
    distance: job.result?.distance ?? null,
    threshold: job.result?.threshold ?? null,
  };
}
