import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import { useNavigate } from 'react-router';

import { messageFor } from '../../api/errors';
import { Notice } from '../../ui/Notice';
import { useLoad } from '../../ui/useLoad';
import { fetchProfile, signOut } from '../auth/api';
import {
  fetchEnrolment,
  fetchJob,
  fetchRecentVerifications,
  submitFace,
  type FacePurpose,
} from './api';
import { EnrolmentStatus } from './EnrolmentStatus';
import { formatWhen } from './format';
import { JobList, jobOutcome, jobTitle } from './JobList';
import { isFinal, jobsReducer, updateFromPolledJob, type FaceJob, type JobUpdate } from './jobs';
import { PhotoPicker } from './PhotoPicker';
import { useJobEvents } from './useJobEvents';
import { VerificationHistory } from './VerificationHistory';

function sourceOf(photo: File): string {
  return photo.name === 'webcam-photo.jpg' ? 'webcam photo' : photo.name;
}

export function DashboardPage() {
  const navigate = useNavigate();
  const profile = useLoad(fetchProfile);
  const enrolment = useLoad(fetchEnrolment);
  const history = useLoad(fetchRecentVerifications);
  const [jobs, dispatch] = useReducer(jobsReducer, []);
  const [announcement, setAnnouncement] = useState('');
  const [signingOut, setSigningOut] = useState(false);
  const jobsRef = useRef<FaceJob[]>(jobs);
  useEffect(() => {
    jobsRef.current = jobs;
  }, [jobs]);

  useEffect(() => {
    document.title = 'Dashboard · Effi Core';
  }, []);

  const onUpdate = useCallback((update: JobUpdate) => dispatch({ type: 'updated', update }), []);

  // After (re)connecting, read any job still in flight in case its update was missed.
  const catchUp = useCallback(() => {
    for (const job of jobsRef.current.filter((candidate) => !isFinal(candidate.status))) {
      fetchJob(job.id).then(
        (polled) => dispatch({ type: 'updated', update: updateFromPolledJob(polled) }),
        () => undefined,
      );
    }
  }, []);

  const stream = useJobEvents(onUpdate, catchUp);

  // React to jobs that just finished: announce the outcome and refresh what they changed.
  const finished = useRef(new Set<string>());
  const { reload: reloadEnrolment } = enrolment;
  const { reload: reloadProfile } = profile;
  const { reload: reloadHistory } = history;
  useEffect(() => {
    for (const job of jobs) {
      if (!isFinal(job.status) || finished.current.has(job.id)) {
        continue;
      }
      finished.current.add(job.id);
      setAnnouncement(`${jobTitle(job)} finished. ${jobOutcome(job) ?? ''}`);
      if (job.purpose === 'enroll') {
        reloadEnrolment();
        reloadProfile();
      } else {
        reloadHistory();
      }
    }
  }, [jobs, reloadEnrolment, reloadProfile, reloadHistory]);

  async function send(purpose: FacePurpose, photo: File) {
    const accepted = await submitFace(purpose, photo, photo.name);
    dispatch({
      type: 'submitted',
      jobId: accepted.job_id,
      purpose: accepted.purpose,
      status: accepted.status,
      source: sourceOf(photo),
    });
    if (stream !== 'live') {
      catchUp();
    }
  }

  async function leave() {
    setSigningOut(true);
    await signOut();
    navigate('/login', { replace: true });
  }

  const enrolled = enrolment.data?.enrolled ?? false;

  return (
    <div className="dashboard">
      <header className="topbar">
        <span className="brand">Effi Core</span>
        <div className="topbar-user">
          <span className="muted">{profile.data?.email}</span>
          <button type="button" className="secondary" onClick={leave} disabled={signingOut}>
            Sign out
          </button>
        </div>
      </header>

      <main className="dashboard-grid">
        <h1 className="visually-hidden">Dashboard</h1>

        <section className="card" aria-labelledby="profile-title">
          <h2 id="profile-title">Profile</h2>
          {profile.error ? (
            <p className="notice notice-error">{messageFor(profile.error)}</p>
          ) : (
            <dl className="facts">
              <dt>Email</dt>
              <dd>{profile.data?.email ?? '…'}</dd>
              <dt>Email confirmed</dt>
              <dd>{profile.data ? (profile.data.confirmed ? 'Yes' : 'No') : '…'}</dd>
              <dt>Member since</dt>
              <dd>{profile.data ? formatWhen(profile.data.created) : '…'}</dd>
            </dl>
          )}
        </section>

        <section className="card" aria-labelledby="enrolment-title">
          <h2 id="enrolment-title">Enrolled face</h2>
          <EnrolmentStatus
            enrolment={enrolment}
            onDeleted={() => {
              enrolment.reload();
              profile.reload();
            }}
          />
          <PhotoPicker
            label={enrolled ? 'Photo to replace the enrolled face' : 'Photo to enrol'}
            submitLabel={enrolled ? 'Replace enrolled face' : 'Enrol face'}
            pendingLabel="Uploading…"
            onSubmit={(photo) => send('enroll', photo)}
          />
        </section>

        <section className="card" aria-labelledby="verify-title">
          <h2 id="verify-title">Verify</h2>
          <p className="muted">
            {enrolled
              ? 'Send a new photo to check it against your enrolled face.'
              : 'Enrol a face first; then you can verify photos against it.'}
          </p>
          <PhotoPicker
            label="Photo to verify"
            submitLabel="Verify face"
            pendingLabel="Uploading…"
            disabled={!enrolled}
            onSubmit={(photo) => send('verify', photo)}
          />
        </section>

        <section className="card wide" aria-labelledby="progress-title">
          <h2 id="progress-title">Progress</h2>
          <JobList jobs={jobs} stream={stream} />
          <Notice tone="info">{announcement}</Notice>
        </section>

        <section className="card wide" aria-labelledby="history-title">
          <h2 id="history-title">Recent verifications</h2>
          <VerificationHistory history={history} />
        </section>
      </main>
    </div>
  );
}
