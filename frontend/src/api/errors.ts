/**
 * The one place that turns what the API (or the network) says into words for people.
 *
 * The API always answers errors as `{error, detail, fields?}`; its `detail` is written for
 * developers (it names endpoints and settings), so known codes get their own sentence here
 * and only unknown codes fall back to the server's `detail`.
 */
import { config } from '../config';
import type { SessionEnd } from './session';

export interface FieldProblem {
  loc: (string | number)[];
  msg: string;
  type?: string | null;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly fields: FieldProblem[];
  readonly retryAfterSeconds: number | null;

  constructor(init: {
    status: number;
    code: string;
    detail?: string;
    fields?: FieldProblem[];
    retryAfterSeconds?: number | null;
  }) {
    super(`${init.status} ${init.code}`);
    this.name = 'ApiError';
    this.status = init.status;
    this.code = init.code;
    this.detail = init.detail ?? '';
    this.fields = init.fields ?? [];
    this.retryAfterSeconds = init.retryAfterSeconds ?? null;
  }
}

/** The request never got an answer: offline, DNS, the server down, CORS. */
export class NetworkError extends Error {
  constructor(cause?: unknown) {
    super('network request failed', { cause });
    this.name = 'NetworkError';
  }
}

/** Codes after which the session is over and only signing in again helps. */
export const SESSION_ENDED_CODES = new Set([
  'unauthorized',
  'not_authenticated',
  'invalid_token',
  'token_expired',
  'token_revoked',
  'refresh_token_reused',
]);

const SESSION_ENDED = 'Your session has ended. Sign in again to continue.';

/** What the sign-in page says about the session that just ended, if anything. */
export function sessionEndMessage(ended: SessionEnd | null): string {
  if (ended === 'expired') {
    return SESSION_ENDED;
  }
  return ended === 'signed-out' ? 'You have signed out.' : '';
}

const MESSAGES: Record<string, string> = {
  invalid_credentials:
    'That email and password do not match. Check them and try again, or reset your password.',
  email_not_confirmed:
    'Confirm your email address first: open the link we sent you, or ask for a new one.',
  email_taken: 'An account with this email already exists. Sign in, or reset its password.',
  validation_error: 'Some fields need attention. Correct them and try again.',
  reset_unavailable:
    'Password reset by email is switched off on this server. Ask its administrator for help.',
  mail_unavailable:
    'This server sends no email, so accounts are ready as soon as they are created. Sign in.',
  reset_token_used: 'This reset link was already used. Ask for a new one if you still need it.',
  events_ticket_invalid: 'Live updates were interrupted. Reconnecting…',
  file_too_large: `This photo is too large. Choose one under ${formatMegabytes(
    config.maxUploadBytes,
  )}.`,
  image_too_large: 'This photo has too many pixels. Choose a smaller photo.',
  unsupported_image_format: 'This file is not a JPEG, PNG or WebP photo. Choose another file.',
  image_corrupt: 'This photo is damaged and cannot be read. Take or choose another one.',
  image_dimensions_invalid:
    'This photo is too small or too large. Use an ordinary photo, at least 32 pixels a side.',
  face_not_enrolled: 'No face is enrolled yet. Enrol your face first, then verify.',
  face_job_not_found: 'This face check no longer exists.',
  not_found: 'This was not found on the server.',
};

/** Messages for links carrying a token (confirmation, reset). */
export const LINK_MESSAGES: Record<string, string> = {
  token_expired: 'This link has expired. Ask for a new one.',
  invalid_token: 'This link is not valid: it may be incomplete or meant for another page.',
  token_revoked: 'This link is no longer valid. Ask for a new one.',
  reset_token_used: MESSAGES.reset_token_used!,
};

const JOB_FAILURES: Record<string, string> = {
  no_face: 'No face was found in this photo. Use a well-lit photo where your face is visible.',
  no_face_found:
    'No face was found in this photo. Use a well-lit photo where your face is visible.',
  multiple_faces: 'This photo shows more than one face. Use a photo with only you in it.',
  face_too_small: 'The face is too small in this photo. Come closer or crop the photo.',
  undecodable_image: 'This photo could not be read. Try another file.',
  image_too_large: 'This photo has too many pixels. Choose a smaller photo.',
  processing_failed: 'The photo could not be processed. Try again in a moment.',
  face_not_enrolled: 'No face is enrolled anymore. Enrol your face again, then verify.',
};

function formatMegabytes(bytes: number): string {
  const megabytes = bytes / (1024 * 1024);
  return `${Number.isInteger(megabytes) ? megabytes : megabytes.toFixed(1)} MB`;
}

export function formatWait(seconds: number): string {
  if (seconds < 60) {
    const whole = Math.max(1, Math.ceil(seconds));
    return `${whole} second${whole === 1 ? '' : 's'}`;
  }
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}

/** Seconds from a Retry-After header (delta-seconds or an HTTP date), or null. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | null {
  if (!header) {
    return null;
  }
  const seconds = Number(header);
  if (Number.isFinite(seconds)) {
    return Math.max(0, seconds);
  }
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, Math.round((date - now) / 1000));
}

/** One sentence for any error thrown by an API call. */
export function messageFor(error: unknown): string {
  if (error instanceof NetworkError) {
    return 'The server could not be reached. Check your connection and try again.';
  }
  if (!(error instanceof ApiError)) {
    return 'Something went wrong in this page. Reload it and try again.';
  }

  if (error.code === 'rate_limited' || error.status === 429) {
    const wait = error.retryAfterSeconds;
    return wait === null
      ? 'Too many attempts. Wait a little, then try again.'
      : `Too many attempts. Try again in ${formatWait(wait)}.`;
  }
  if (SESSION_ENDED_CODES.has(error.code)) {
    return SESSION_ENDED;
  }

  const known = MESSAGES[error.code];
  if (known) {
    return known;
  }
  if (error.status >= 500) {
    return 'The server had a problem. Try again in a moment.';
  }
  return error.detail || `The request failed (${error.status}). Try again in a moment.`;
}

/** The message for a link-token failure, e.g. an expired confirmation link. */
export function linkMessageFor(error: unknown): string {
  if (error instanceof ApiError && LINK_MESSAGES[error.code]) {
    return LINK_MESSAGES[error.code]!;
  }
  if (error instanceof ApiError && error.status === 401) {
    return LINK_MESSAGES.invalid_token!;
  }
  return messageFor(error);
}

/** Why a face job failed, from its `reason` code (or the worker's `detail`). */
export function jobFailureMessage(reason: string | null | undefined, detail?: string | null) {
  return (reason && JOB_FAILURES[reason]) || detail || 'The photo could not be checked.';
}

function fieldMessage(problem: FieldProblem, field: string): string {
  if (problem.type === 'missing') {
    return 'This field is required.';
  }
  if (field === 'email' && (problem.type === 'value_error' || /email/i.test(problem.msg))) {
    return 'Enter a valid email address, like name@example.com.';
  }
  const text = problem.msg
    .replace(/^Value error, /, '')
    .replace(/^String should have at least/, 'Use at least');
  const sentence = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
}

/**
 * Field errors of a 422 keyed by the form's field names. `aliases` maps API field names to
 * the form's (e.g. `{new_password: 'password'}`).
 */
export function fieldErrorsOf(
  error: unknown,
  aliases: Record<string, string> = {},
): Record<string, string> {
  if (!(error instanceof ApiError)) {
    return {};
  }

  const errors: Record<string, string> = {};
  for (const problem of error.fields) {
    const last = problem.loc[problem.loc.length - 1];
    if (typeof last !== 'string' || last === 'body') {
      continue;
    }
    const field = aliases[last] ?? last;
    errors[field] ??= fieldMessage(problem, field);
  }
  return errors;
}
