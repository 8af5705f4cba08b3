import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { getSession, startSession } from '../../api/session';
import { callsTo, mockApi } from '../../test/fetchMock';
import { renderAt } from '../../test/render';

/** A text/event-stream response the test writes into. */
function eventStream() {
  const encoder = new TextEncoder();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => (controller = c) });
  return {
    response: new Response(body, { headers: { 'Content-Type': 'text/event-stream' } }),
    send(id: string, data: object) {
      const status = (data as { status: string }).status;
      controller.enqueue(
        encoder.encode(`id: ${id}\nevent: ${status}\ndata: ${JSON.stringify(data)}\n\n`),
      );
    },
    /** The server's last event when the sign-in behind the stream ended, then the close. */
    endSession(error: string) {
      const data = JSON.stringify({ error, detail: `server detail for ${error}` });
      controller.enqueue(encoder.encode(`event: session_ended\ndata: ${data}\n\n`));
      controller.close();
    },
  };
}

const profile = {
  id: 'u1',
  email: 'ada@example.com',
  confirmed: true,
  created: '2025-01-02T10:00:00Z',
  face_enrolled: true,
};

function mockDashboard(stream: ReturnType<typeof eventStream>) {
  mockApi(
    { method: 'GET', path: '/auth/user/me', body: profile },
    {
      method: 'GET',
      path: '/face/enrolment',
      body: { enrolled: true, model_version: 'dlib-v1', enrolled_at: '2025-01-02T10:00:00Z' },
    },
    { method: 'GET', path: '/face/verifications', body: { items: [] } },
    { method: 'POST', path: '/face/events/ticket', body: { ticket: 'ticket-1', expires_in: 60 } },
    { method: 'GET', path: '/face/events', respond: () => stream.response, times: 1 },
    {
      method: 'POST',
      path: '/face/verify',
      status: 202,
      body: { job_id: 'job-1', status: 'accepted', purpose: 'verify' },
    },
  );
}

describe('DashboardPage', () => {
  beforeEach(() => startSession('access'));

  it('shows the profile and the enrolment', async () => {
    mockDashboard(eventStream());
    renderAt('/dashboard');

    expect(await screen.findByText('Face enrolled')).toBeInTheDocument();
    expect(screen.getAllByText('ada@example.com').length).toBeGreaterThan(0);
    expect(screen.getByText('No verifications yet.')).toBeInTheDocument();
  });

  it('shows a verification progress live from the event stream', async () => {
    const stream = eventStream();
    mockDashboard(stream);
    renderAt('/dashboard');
    const user = userEvent.setup();
    expect(await screen.findByText('Live updates on')).toBeInTheDocument();

    const photo = new File(['fake-jpeg'], 'me.jpg', { type: 'image/jpeg' });
    await user.upload(await screen.findByLabelText('Photo to verify'), photo);
    await user.click(screen.getByRole('button', { name: 'Verify face' }));

    const job = await screen.findByRole('listitem', { name: 'Verification of me.jpg' });
    expect(within(job).getByText('Received')).toHaveAttribute('aria-current', 'step');

    const event = {
      job_id: 'job-1',
      user_id: 'u1',
      purpose: 'verify',
      reason: null,
      detail: null,
    };
    stream.send('1-0', { ...event, status: 'running' });
    expect(await within(job).findByText('Checking')).toHaveAttribute('aria-current', 'step');

    mockApi({
      method: 'GET',
      path: '/face/verifications',
      body: {
        items: [
          {
            job_id: 'job-1',
            distance: 0.312,
            threshold: 0.6,
            verified: true,
            model_version: 'dlib-v1',
            created_at: '2025-01-02T10:05:00Z',
          },
        ],
      },
    });
    stream.send('2-0', {
      ...event,
      status: 'done',
      verified: true,
      distance: 0.312,
      threshold: 0.6,
    });

    expect(await within(job).findByText('Verified')).toBeInTheDocument();
    expect(job).toHaveTextContent('Distance 0.312 ≤ threshold 0.600');
    expect(await screen.findByText(/Verification finished/)).toBeInTheDocument();
    expect(callsTo('GET', '/face/events')[0]!.headers.get('Accept')).toBe('text/event-stream');
    expect(callsTo('POST', '/face/verify')[0]!.headers.get('Authorization')).toBe('Bearer access');
  });

  it('explains a failed job in words', async () => {
    const stream = eventStream();
    mockDashboard(stream);
    renderAt('/dashboard');
    expect(await screen.findByText('Live updates on')).toBeInTheDocument();

    stream.send('3-0', {
      job_id: 'job-9',
      user_id: 'u1',
      purpose: 'enroll',
      status: 'failed',
      reason: 'multiple_faces',
      detail: 'x',
    });

    const job = await screen.findByRole('listitem', { name: 'Enrolment' });
    expect(job).toHaveTextContent('This photo shows more than one face');
  });

  it('sends people to sign in again when the stream says their sign-in was revoked', async () => {
    const stream = eventStream();
    mockDashboard(stream);
    renderAt('/dashboard');
    expect(await screen.findByText('Live updates on')).toBeInTheDocument();

    stream.endSession('token_revoked');

    expect(await screen.findByRole('heading', { name: 'Sign in' })).toBeInTheDocument();
    expect(screen.getByTestId('location')).toHaveTextContent(/^\/login\?next=\/dashboard$/);
    expect(
      screen.getByText('Your session has ended. Sign in again to continue.'),
    ).toBeInTheDocument();
    expect(getSession()).toMatchObject({ status: 'signed-out', accessToken: null });
    expect(callsTo('POST', '/auth/refresh')).toHaveLength(0);
    expect(callsTo('POST', '/face/events/ticket')).toHaveLength(1);
  });
});
