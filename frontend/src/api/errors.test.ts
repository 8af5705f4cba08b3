import {
  ApiError,
  fieldErrorsOf,
  jobFailureMessage,
  linkMessageFor,
  messageFor,
  NetworkError,
  parseRetryAfter,
} from './errors';

describe('messageFor', () => {
  it('says how long to wait when rate limited', () => {
    const limited = new ApiError({ status: 429, code: 'rate_limited', retryAfterSeconds: 42 });
    expect(messageFor(limited)).toBe('Too many attempts. Try again in 42 seconds.');

    const longer = new ApiError({ status: 429, code: 'rate_limited', retryAfterSeconds: 125 });
    expect(messageFor(longer)).toBe('Too many attempts. Try again in 3 minutes.');

    const unknownWait = new ApiError({ status: 429, code: 'rate_limited' });
    expect(messageFor(unknownWait)).toMatch(/Wait a little/);
  });

  it('words known codes for people rather than echoing the server', () => {
    const cases: Record<string, RegExp> = {
      invalid_credentials: /email and password do not match/,
      email_not_confirmed: /Confirm your email address first/,
      email_taken: /already exists/,
      reset_unavailable: /switched off on this server/,
      unsupported_image_format: /JPEG, PNG or WebP/,
      file_too_large: /too large\. Choose one under 8 MB/,
      face_not_enrolled: /Enrol your face first/,
      token_revoked: /session has ended/,
    };
    for (const [code, expected] of Object.entries(cases)) {
      const error = new ApiError({ status: 400, code, detail: 'POST /internal/thing' });
      expect(messageFor(error)).toMatch(expected);
    }
  });

  it('falls back to the server detail for unknown codes, and hides 5xx details', () => {
    const unknown = new ApiError({ status: 400, code: 'brand_new', detail: 'Do the thing.' });
    expect(messageFor(unknown)).toBe('Do the thing.');

    const crash = new ApiError({ status: 500, code: 'http_error', detail: 'Traceback…' });
    expect(messageFor(crash)).toBe('The server had a problem. Try again in a moment.');
  });

  it('explains a failed connection', () => {
    expect(messageFor(new NetworkError())).toMatch(/could not be reached/);
  });
});

describe('linkMessageFor', () => {
  it('tells expired links from invalid ones', () => {
    expect(linkMessageFor(new ApiError({ status: 401, code: 'token_expired' }))).toMatch(
      /expired/,
    );
    expect(linkMessageFor(new ApiError({ status: 401, code: 'invalid_token' }))).toMatch(
      /not valid/,
    );
    expect(linkMessageFor(new ApiError({ status: 401, code: 'reset_token_used' }))).toMatch(
      /already used/,
    );
  });
});

describe('fieldErrorsOf', () => {
  it('keys 422 problems by form field, in words', () => {
    const error = new ApiError({
      status: 422,
      code: 'validation_error',
      fields: [
        {
          loc: ['body', 'email'],
          msg: 'Value error, not a valid email address: x',
          type: 'value_error',
        },
        {
          loc: ['body', 'new_password'],
          msg: 'String should have at least 8 characters',
          type: 'string_too_short',
        },
      ],
    });

    expect(fieldErrorsOf(error, { new_password: 'password' })).toEqual({
      email: 'Enter a valid email address, like name@example.com.',
      password: 'Use at least 8 characters.',
    });
  });

  it('ignores errors that are not API errors', () => {
    expect(fieldErrorsOf(new Error('boom'))).toEqual({});
  });
});

describe('jobFailureMessage', () => {
  it('explains each failure reason', () => {
    expect(jobFailureMessage('no_face')).toMatch(/No face was found/);
    expect(jobFailureMessage('no_face_found')).toMatch(/No face was found/);
    expect(jobFailureMessage('multiple_faces')).toMatch(/more than one face/);
    expect(jobFailureMessage('face_too_small')).toMatch(/too small/);
    expect(jobFailureMessage('mystery', 'Worker said why.')).toBe('Worker said why.');
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('30')).toBe(30);
    expect(parseRetryAfter(null)).toBeNull();
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:01:00 GMT', now)).toBe(60);
  });
});
