/** Calls to the face endpoints. Each returns the response data or throws ApiError. */
import { api, send } from '../../api/client';
import { config } from '../../config';

export type FacePurpose = 'enroll' | 'verify';

export async function submitFace(purpose: FacePurpose, photo: Blob, fileName: string) {
  const form = new FormData();
  form.append('image', photo, fileName);
  const path = purpose === 'enroll' ? '/face/create' : '/face/verify';

  return send(
    api.POST(path, {
      // openapi-fetch sends FormData as multipart with the browser's boundary.
      body: form as unknown as { image: string },
      bodySerializer: (body) => body as unknown as FormData,
    }),
  );
}

export async function fetchJob(jobId: string) {
  return send(api.GET('/face/jobs/{job_id}', { params: { path: { job_id: jobId } } }));
}

export async function createEventsTicket(): Promise<string> {
  const answer = await send(api.POST('/face/events/ticket'));
  return answer.ticket;
}

export async function fetchEnrolment() {
  return send(api.GET('/face/enrolment'));
}

export async function deleteEnrolment(): Promise<void> {
  await send(api.DELETE('/face/enrolment'));
}

export async function fetchRecentVerifications() {
  const answer = await send(
    api.GET('/face/verifications', {
      params: { query: { limit: config.recentVerificationsLimit } },
    }),
  );
  return answer.items;
}
