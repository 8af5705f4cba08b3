import { jobsReducer, parseJobUpdate, type JobsState, type JobUpdate } from './jobs';
import { SseParser } from './sse';

const submitted = {
  type: 'submitted' as const,
  jobId: 'job-1',
  purpose: 'verify' as const,
  status: 'accepted' as const,
  source: 'me.jpg',
};

function update(status: JobUpdate['status'], extra: Partial<JobUpdate> = {}) {
  return {
    type: 'updated' as const,
    update: { job_id: 'job-1', purpose: 'verify' as const, status, ...extra },
  };
}

describe('jobsReducer', () => {
  it('follows a job from accepted to its result', () => {
    let jobs: JobsState = [];
    jobs = jobsReducer(jobs, submitted);
    jobs = jobsReducer(jobs, update('running'));
    jobs = jobsReducer(jobs, update('done', { verified: true, distance: 0.31, threshold: 0.6 }));

    expect(jobs).toEqual([
      expect.objectContaining({
        id: 'job-1',
        status: 'done',
        source: 'me.jpg',
        verified: true,
        distance: 0.31,
        threshold: 0.6,
      }),
    ]);
  });

  it('keeps an event that arrives before the upload answer', () => {
    let jobs: JobsState = [];
    jobs = jobsReducer(jobs, update('running'));
    jobs = jobsReducer(jobs, submitted);

    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ status: 'running', source: 'me.jpg' });
  });

  it('never moves a job backwards or off its result', () => {
    let jobs: JobsState = jobsReducer([], update('failed', { reason: 'no_face' }));
    jobs = jobsReducer(jobs, update('running'));
    jobs = jobsReducer(jobs, update('done', { verified: true }));

    expect(jobs[0]).toMatchObject({ status: 'failed', reason: 'no_face', verified: null });
  });

  it('shows the newest job first', () => {
    let jobs = jobsReducer([], submitted);
    jobs = jobsReducer(jobs, { ...submitted, jobId: 'job-2' });

    expect(jobs.map((job) => job.id)).toEqual(['job-2', 'job-1']);
  });
});

describe('parseJobUpdate', () => {
  it('reads job updates and ignores anything else', () => {
    expect(parseJobUpdate('{"job_id":"j","purpose":"enroll","status":"done"}')).toMatchObject({
      job_id: 'j',
    });
    expect(parseJobUpdate('ping')).toBeNull();
    expect(parseJobUpdate('{"job_id":"j","purpose":"enroll","status":"exploded"}')).toBeNull();
  });
});

describe('SseParser', () => {
  it('joins events split across chunks and skips heartbeats', () => {
    const parser = new SseParser();

    expect(parser.feed(': ping\n\nid: 1-0\nevent: running\ndata: {"a"')).toEqual([]);
    expect(parser.feed(':1}\n\n')).toEqual([{ id: '1-0', event: 'running', data: '{"a":1}' }]);
    expect(parser.feed('data: x\r\ndata: y\r\n\r\n')).toEqual([
      { id: '1-0', event: 'message', data: 'x\ny' },
    ]);
  });
});
